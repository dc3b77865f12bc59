package sampler

import (
	"math"
	"sort"
)

// The M4 summary (Jugel et al., "M4: A Visualization-Oriented Time Series
// Data Aggregation", PVLDB 7(10), 2014) of one scalar series, over steps.
//
// Bucket idx covers steps [idx<<shift, (idx+1)<<shift): the grid is aligned
// at step 0 and widths are powers of two, so two summaries always merge by
// bringing both to the larger width. Only non-empty buckets are stored, in
// increasing idx order. The finite values of a bucket are summarised in
// bucket (first/last by step, min/max by value, ties to the earlier step);
// its non-finite values in a sparse nfBucket. When either list would exceed
// max entries the width doubles (adjacent buckets merge) until it fits, so
// the width is the smallest power of two at which the live steps fit: a
// function of the data, not of the order of arrival.

type bucket struct {
	idx                   int64
	count                 int64
	first, last, min, max Point
}

// Non-finite kinds.
const (
	kNaN = iota
	kPosInf
	kNegInf
	nKinds
)

func nfKind(v float64) int {
	switch {
	case v != v:
		return kNaN
	case v > 0:
		return kPosInf
	}
	return kNegInf
}

var nfValues = [nKinds]float64{math.NaN(), math.Inf(1), math.Inf(-1)}

// nfBucket holds the non-finite values of one bucket: per kind, the count
// and the first and last occurrences.
type nfBucket struct {
	idx         int64
	n           [nKinds]int64
	first, last [nKinds]Point
}

const (
	bucketSize   = 112
	nfBucketSize = 176
)

type summary struct {
	shift uint
	max   int
	b     []bucket
	nf    []nfBucket
}

func newSummary(max int) *summary { return &summary{max: max} }

func (s *summary) reset() {
	s.shift = 0
	s.b = s.b[:0]
	s.nf = s.nf[:0]
}

func (s *summary) sizeBytes() int {
	return 48 + cap(s.b)*bucketSize + cap(s.nf)*nfBucketSize
}

// add folds in p, whose step is above every step in the summary.
func (s *summary) add(p Point) {
	idx := p.Step >> s.shift
	if p.Value-p.Value != 0 { // NaN or ±Inf
		s.addNF(idx, p)
		return
	}
	n := len(s.b)
	if n > 0 {
		b := &s.b[n-1]
		if b.idx == idx {
			b.count++
			b.last = p
			if p.Value < b.min.Value {
				b.min = p
			} else if p.Value > b.max.Value {
				b.max = p
			}
			return
		}
	}
	if n >= s.max {
		s.compact(p.Step, false)
		s.add(p)
		return
	}
	if n == cap(s.b) {
		s.b = growTo(s.b, s.max)
	}
	s.b = append(s.b, bucket{idx: idx, count: 1, first: p, last: p, min: p, max: p})
}

func (s *summary) addNF(idx int64, p Point) {
	k := nfKind(p.Value)
	p.Value = nfValues[k] // canonical NaN: the state does not keep payload bits
	n := len(s.nf)
	if n > 0 && s.nf[n-1].idx == idx {
		e := &s.nf[n-1]
		if e.n[k] == 0 {
			e.first[k] = p
		}
		e.n[k]++
		e.last[k] = p
		return
	}
	if n >= s.max {
		s.compact(p.Step, true)
		s.addNF(p.Step>>s.shift, p)
		return
	}
	if n == cap(s.nf) {
		s.nf = growTo(s.nf, s.max)
	}
	e := nfBucket{idx: idx}
	e.n[k], e.first[k], e.last[k] = 1, p, p
	s.nf = append(s.nf, e)
}

// growTo grows a slice's capacity geometrically but never beyond max.
func growTo[T any](x []T, max int) []T {
	c := 2 * cap(x)
	if c < 16 {
		c = 16
	}
	if c > max {
		c = max
	}
	if c <= cap(x) {
		c = cap(x) + 1
	}
	y := make([]T, len(x), c)
	copy(y, x)
	return y
}

// compact doubles the width until a value at step fits into its list
// (finite buckets, or non-finite ones when nf is set) without exceeding max.
func (s *summary) compact(step int64, nf bool) {
	for {
		s.double()
		idx := step >> s.shift
		if nf {
			if n := len(s.nf); n < s.max || s.nf[n-1].idx == idx {
				return
			}
		} else if n := len(s.b); n < s.max || s.b[n-1].idx == idx {
			return
		}
	}
}

// double merges adjacent buckets: the width doubles.
func (s *summary) double() {
	s.shift++
	w := 0
	for i := range s.b {
		b := s.b[i]
		b.idx >>= 1
		if w > 0 && s.b[w-1].idx == b.idx {
			mergeBucket(&s.b[w-1], &b)
		} else {
			s.b[w] = b
			w++
		}
	}
	s.b = s.b[:w]
	w = 0
	for i := range s.nf {
		e := s.nf[i]
		e.idx >>= 1
		if w > 0 && s.nf[w-1].idx == e.idx {
			mergeNF(&s.nf[w-1], &e)
		} else {
			s.nf[w] = e
			w++
		}
	}
	s.nf = s.nf[:w]
}

// mergeBucket folds b (later steps) into a.
func mergeBucket(a, b *bucket) {
	a.count += b.count
	a.last = b.last
	if b.min.Value < a.min.Value {
		a.min = b.min
	}
	if b.max.Value > a.max.Value {
		a.max = b.max
	}
}

// mergeNF folds b (later steps) into a.
func mergeNF(a, b *nfBucket) {
	for k := range nKinds {
		if b.n[k] == 0 {
			continue
		}
		if a.n[k] == 0 {
			a.first[k] = b.first[k]
		}
		a.n[k] += b.n[k]
		a.last[k] = b.last[k]
	}
}

// preempt drops every value with step >= st. The bucket holding st is
// restricted to its steps below st (see restrict); extras are raw points
// known to be live (the reservoir's), in step order, that refine it.
func (s *summary) preempt(st int64, extras []Point) {
	bi := st >> s.shift
	i := sort.Search(len(s.b), func(i int) bool { return s.b[i].idx >= bi })
	keep := i
	if i < len(s.b) && s.b[i].idx == bi {
		if nb, ok := restrict(s.b[i], math.MinInt64, st-1, extras); ok {
			s.b[i] = nb
			keep = i + 1
		}
	}
	s.b = s.b[:keep]
	j := sort.Search(len(s.nf), func(j int) bool { return s.nf[j].idx >= bi })
	keep = j
	if j < len(s.nf) && s.nf[j].idx == bi {
		if ne, ok := restrictNF(s.nf[j], math.MinInt64, st-1, extras); ok {
			s.nf[j] = ne
			keep = j + 1
		}
	}
	s.nf = s.nf[:keep]
}

// knownSet collects distinct (by step: a series has one live value per
// step) points of a bucket.
type knownSet struct{ pts []Point }

func (k *knownSet) add(p Point) {
	for _, q := range k.pts {
		if q.Step == p.Step {
			return
		}
	}
	k.pts = append(k.pts, p)
}

// extrasIn returns the extras with step in [lo, hi] (extras sorted by step).
func extrasIn(extras []Point, lo, hi int64) []Point {
	i := sort.Search(len(extras), func(i int) bool { return extras[i].Step >= lo })
	j := sort.Search(len(extras), func(j int) bool { return extras[j].Step > hi })
	if i >= j {
		return nil
	}
	return extras[i:j]
}

// prorate estimates how many of count values spread over steps
// [first, last] lie in [lo, hi], clamped to [min, max].
func prorate(count, first, last, lo, hi, min, max int64) int64 {
	a, b := first, last
	if lo > a {
		a = lo
	}
	if hi < b {
		b = hi
	}
	overlap := float64(b) - float64(a) + 1
	span := float64(last) - float64(first) + 1
	est := int64(math.Round(float64(count) * overlap / span))
	if est > max {
		est = max
	}
	if est > int64(overlap) {
		est = int64(overlap)
	}
	if est < min {
		est = min
	}
	return est
}

// restrict returns bucket b restricted to steps [lo, hi], false when no
// known point of b lies there. A bucket wholly inside is returned as is
// (exact). Otherwise first/last are the earliest/latest known points inside
// (first exact when b.first is inside, last when b.last is), min/max are
// exact when b.min/b.max are inside and otherwise the extreme known points
// inside, and the count is prorated over steps, clamped to what is known.
func restrict(b bucket, lo, hi int64, extras []Point) (bucket, bool) {
	if b.first.Step >= lo && b.last.Step <= hi {
		return b, true
	}
	if b.last.Step < lo || b.first.Step > hi {
		return bucket{}, false
	}
	var in, out knownSet
	var buf [8]Point
	in.pts, out.pts = buf[:0:4], buf[4:4:8]
	for _, p := range [...]Point{b.first, b.min, b.max, b.last} {
		if p.Step >= lo && p.Step <= hi {
			in.add(p)
		} else {
			out.add(p)
		}
	}
	for _, p := range extrasIn(extras, b.first.Step, b.last.Step) {
		if p.Value-p.Value != 0 {
			continue
		}
		if p.Step >= lo && p.Step <= hi {
			in.add(p)
		} else {
			out.add(p)
		}
	}
	if len(in.pts) == 0 {
		return bucket{}, false
	}
	nb := bucket{idx: b.idx}
	for i, p := range in.pts {
		if i == 0 {
			nb.first, nb.last, nb.min, nb.max = p, p, p, p
			continue
		}
		widen(&nb.first, &nb.last, &nb.min, &nb.max, p)
	}
	nb.count = prorate(b.count, b.first.Step, b.last.Step, lo, hi,
		int64(len(in.pts)), b.count-int64(len(out.pts)))
	return nb, true
}

// widen makes first, last, min and max (a bucket's four M4 points) take
// in p, which may come in any step order.
func widen(first, last, min, max *Point, p Point) {
	if p.Step < first.Step {
		*first = p
	}
	if p.Step > last.Step {
		*last = p
	}
	if lessMin(p, *min) {
		*min = p
	}
	if moreMax(p, *max) {
		*max = p
	}
}

// lessMin/moreMax order points by value, ties to the earlier step.
func lessMin(p, q Point) bool {
	return p.Value < q.Value || (p.Value == q.Value && p.Step < q.Step)
}

func moreMax(p, q Point) bool {
	return p.Value > q.Value || (p.Value == q.Value && p.Step < q.Step)
}

// restrictNF is restrict for the non-finite values of a bucket; false when
// nothing is left.
func restrictNF(e nfBucket, lo, hi int64, extras []Point) (nfBucket, bool) {
	ne := nfBucket{idx: e.idx}
	any := false
	for k := range nKinds {
		n := e.n[k]
		if n == 0 {
			continue
		}
		f, l := e.first[k], e.last[k]
		switch {
		case f.Step >= lo && l.Step <= hi:
			ne.n[k], ne.first[k], ne.last[k] = n, f, l
		case l.Step < lo || f.Step > hi:
			continue
		default:
			var in, out knownSet
			var buf [8]Point
			in.pts, out.pts = buf[:0:4], buf[4:4:8]
			for _, p := range [...]Point{f, l} {
				if p.Step >= lo && p.Step <= hi {
					in.add(p)
				} else {
					out.add(p)
				}
			}
			for _, p := range extrasIn(extras, f.Step, l.Step) {
				if p.Value-p.Value == 0 || nfKind(p.Value) != k {
					continue
				}
				if p.Step >= lo && p.Step <= hi {
					in.add(p)
				} else {
					out.add(p)
				}
			}
			if len(in.pts) == 0 {
				continue
			}
			ne.n[k] = prorate(n, f.Step, l.Step, lo, hi, int64(len(in.pts)), n-int64(len(out.pts)))
			ne.first[k], ne.last[k] = in.pts[0], in.pts[0]
			for _, p := range in.pts[1:] {
				if p.Step < ne.first[k].Step {
					ne.first[k] = p
				}
				if p.Step > ne.last[k].Step {
					ne.last[k] = p
				}
			}
			ne.first[k].Value, ne.last[k].Value = nfValues[k], nfValues[k]
		}
		any = true
	}
	return ne, any
}

// lastPoint is the latest point the summary knows (finite or not).
func (s *summary) lastPoint() (Point, bool) {
	var best Point
	found := false
	if n := len(s.b); n > 0 {
		best, found = s.b[n-1].last, true
	}
	if n := len(s.nf); n > 0 {
		e := &s.nf[n-1]
		for k := range nKinds {
			if e.n[k] > 0 && (!found || e.last[k].Step > best.Step) {
				best, found = e.last[k], true
			}
		}
	}
	return best, found
}

// stats aggregates the whole summary.
func (s *summary) stats() Stats {
	var st Stats
	for i := range s.b {
		foldStats(&st, &s.b[i])
	}
	for i := range s.nf {
		foldNFStats(&st, &s.nf[i])
	}
	return st
}

// foldStats folds a bucket later than every bucket folded so far.
func foldStats(st *Stats, b *bucket) {
	if b.count == 0 {
		return
	}
	if st.Count == 0 {
		st.First, st.FirstStep = b.first.Value, b.first.Step
		st.Min, st.Max = b.min.Value, b.max.Value
	} else {
		if b.min.Value < st.Min {
			st.Min = b.min.Value
		}
		if b.max.Value > st.Max {
			st.Max = b.max.Value
		}
	}
	st.Last, st.LastStep = b.last.Value, b.last.Step
	st.Count += b.count
}

func foldNFStats(st *Stats, e *nfBucket) {
	st.NaN += e.n[kNaN]
	st.PosInf += e.n[kPosInf]
	st.NegInf += e.n[kNegInf]
	st.NonFinite += e.n[kNaN] + e.n[kPosInf] + e.n[kNegInf]
}
