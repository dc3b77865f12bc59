package sampler

import "maps"

// Clone returns a deep copy of r: adding to either leaves the other as it
// was. It is how a server starts an append from a Run that readers share,
// at the cost of a memory copy instead of a decode.
func (r *Run) Clone() *Run {
	c := &Run{cfg: r.cfg, series: make(map[string]*series, len(r.series))}
	c.cfg.Samples = maps.Clone(r.cfg.Samples)
	for tag, s := range r.series {
		cs := *s
		cs.next = nil // a lookup cache into r's series
		if s.pts != nil {
			p := *s.pts
			p.pts = append([]Point(nil), s.pts.pts...)
			cs.pts = &p
		}
		if s.items != nil {
			it := *s.items
			it.items = make([]Item, len(s.items.items))
			for i, x := range s.items.items {
				x.Payload = append([]byte(nil), x.Payload...) // reused on eviction
				it.items[i] = x
			}
			cs.items = &it
		}
		if s.sum != nil {
			sum := *s.sum
			sum.b = append([]bucket(nil), s.sum.b...)
			sum.nf = append([]nfBucket(nil), s.sum.nf...)
			cs.sum = &sum
		}
		c.series[tag] = &cs
	}
	return c
}
