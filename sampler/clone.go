package sampler

import (
	"maps"
	"slices"
)

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
			p.buf = cloneCap(s.pts.buf)
			p.holes = slices.Clone(s.pts.holes)
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
			sum.b = cloneCap(s.sum.b)
			sum.nf = cloneCap(s.sum.nf)
			cs.sum = &sum
		}
		c.series[tag] = &cs
	}
	return c
}

// cloneCap copies x with its capacity: the copy goes on growing in place
// as x would have (a Run is cloned after every checkpoint; copies without
// room would each be copied again by the next values).
func cloneCap[T any](x []T) []T {
	if x == nil {
		return nil
	}
	y := make([]T, len(x), cap(x))
	copy(y, x)
	return y
}
