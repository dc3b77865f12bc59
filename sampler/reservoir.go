package sampler

import (
	"math"
	"math/bits"
	"sort"
)

// rng is splitmix64 (Steele, Lea, Flood 2014): one uint64 of state, so it
// serialises trivially and resumes exactly.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n), n > 0 (Lemire's
// multiply-and-reject, unbiased).
func (r *rng) intn(n uint64) uint64 {
	hi, lo := bits.Mul64(r.next(), n)
	if lo < n {
		t := -n % n
		for lo < t {
			hi, lo = bits.Mul64(r.next(), n)
		}
	}
	return hi
}

// seedFor is the FNV-1a 64 hash of a tag: a fixed seed per series.
func seedFor(tag string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(tag); i++ {
		h ^= uint64(tag[i])
		h *= 1099511628211
	}
	return h
}

// resState is the bookkeeping of a keep-last reservoir (TensorBoard's
// _ReservoirBucket): size k (0 keeps all), items seen, the PRNG.
type resState struct {
	k    int
	seen int64
	rng  rng
}

func newResState(k int, tag string) resState {
	return resState{k: k, rng: rng{s: seedFor(tag)}}
}

// slot decides where the next item goes given the current length: -1 to
// append; otherwise e, meaning "remove the item at e (shifting the later ones
// down) and put the new item last". e == length-1 overwrites the last item.
//
// TensorBoard: keep the first k; for the n-th item (n > k) draw r uniform in
// [0, n); if r < k evict item r and append, else overwrite the last item.
func (s *resState) slot(length int) int {
	s.seen++
	if s.k == 0 || length < s.k {
		return -1
	}
	r := s.rng.intn(uint64(s.seen))
	if r < uint64(s.k) && int(r) < length {
		return int(r)
	}
	return length - 1
}

// filtered corrects the number of items seen after a filter kept `after` of
// `before` items, as TensorBoard does (proportionally, rounded).
func (s *resState) filtered(before, after int) {
	if before == 0 {
		return
	}
	s.seen = int64(math.Round(float64(s.seen) * float64(after) / float64(before)))
	if s.seen < int64(after) {
		s.seen = int64(after)
	}
}

// pointRes is the reservoir of a scalar series.
type pointRes struct {
	res resState
	pts []Point
}

func (r *pointRes) add(p Point) {
	e := r.res.slot(len(r.pts))
	if e < 0 {
		r.pts = append(r.pts, p)
		return
	}
	n := len(r.pts)
	if e < n-1 {
		copy(r.pts[e:], r.pts[e+1:])
	}
	r.pts[n-1] = p
}

// truncate drops the points with step >= st (points are in increasing step
// order).
func (r *pointRes) truncate(st int64) {
	n := len(r.pts)
	cut := sort.Search(n, func(i int) bool { return r.pts[i].Step >= st })
	if cut == n {
		return
	}
	r.pts = r.pts[:cut]
	r.res.filtered(n, cut)
}

// itemRes is the reservoir of a non-scalar series.
type itemRes struct {
	res   resState
	items []Item
}

func (r *itemRes) add(step int64, wall float64, payload []byte) {
	e := r.res.slot(len(r.items))
	if e < 0 {
		r.items = append(r.items, Item{Step: step, Wall: wall, Payload: append([]byte(nil), payload...)})
		return
	}
	n := len(r.items)
	buf := r.items[e].Payload // evicted: reuse its buffer
	if e < n-1 {
		copy(r.items[e:], r.items[e+1:])
	}
	r.items[n-1] = Item{Step: step, Wall: wall, Payload: append(buf[:0], payload...)}
}

func (r *itemRes) truncate(st int64) {
	n := len(r.items)
	cut := sort.Search(n, func(i int) bool { return r.items[i].Step >= st })
	if cut == n {
		return
	}
	clear(r.items[cut:]) // release payloads
	r.items = r.items[:cut]
	r.res.filtered(n, cut)
}
