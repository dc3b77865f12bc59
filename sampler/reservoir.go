package sampler

import (
	"math"
	"math/bits"
	"slices"
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

// pointRes is the reservoir of a scalar series. An eviction does not
// shift the points after it down at once (k/2 points on average: most of
// the memory traffic of sampling a long series): it leaves a hole, and the
// holes are closed together in one pass (settle) once maxHoles are open,
// before a truncation, and when the Run is settled. New points go after
// the holes, so buf stays in step order; its last point is never a hole.
// Reads of a reservoir with holes (a Run not settled) use a copy without
// them, so they never write.
type pointRes struct {
	res   resState
	buf   []Point // the kept points in step order, holes included
	holes []int32 // indices in buf of evicted points, ascending
}

// maxHoles bounds the holes of a reservoir: closing them costs one pass
// over buf, instead of one shift per eviction.
const maxHoles = 64

// len is the number of points kept.
func (r *pointRes) len() int { return len(r.buf) - len(r.holes) }

func (r *pointRes) add(p Point) {
	n := r.len()
	e := r.res.slot(n)
	switch {
	case e < 0:
		r.buf = append(r.buf, p)
		return
	case e == n-1: // overwrite the last point: the last in buf
		r.buf[len(r.buf)-1] = p
		return
	}
	// The e-th kept point is at the e-th index of buf that is no hole.
	i, j := e, 0
	for ; j < len(r.holes) && int(r.holes[j]) <= i; j++ {
		i++
	}
	r.holes = slices.Insert(r.holes, j, int32(i))
	r.buf = append(r.buf, p)
	if len(r.holes) >= maxHoles {
		r.settle()
	}
}

// settle closes the holes in place.
func (r *pointRes) settle() {
	if len(r.holes) == 0 {
		return
	}
	r.buf = withoutHoles(r.buf[:r.holes[0]], r.buf, r.holes)
	r.holes = r.holes[:0]
}

// points returns the kept points in step order: buf itself when it has no
// holes, else a copy without them (r is not changed: readers may share it).
func (r *pointRes) points() []Point {
	if len(r.holes) == 0 {
		return r.buf
	}
	return withoutHoles(make([]Point, 0, r.len()), r.buf, r.holes)
}

// withoutHoles appends to dst the points of buf from index len(dst) on,
// except those at holes (ascending, each >= len(dst)). dst may share
// buf's array: it never gets ahead of what is read.
func withoutHoles(dst, buf []Point, holes []int32) []Point {
	from := len(dst)
	for _, h := range holes {
		dst = append(dst, buf[from:h]...)
		from = int(h) + 1
	}
	return append(dst, buf[from:]...)
}

// truncate drops the points with step >= st (points are in increasing step
// order).
func (r *pointRes) truncate(st int64) {
	r.settle()
	n := len(r.buf)
	cut := sort.Search(n, func(i int) bool { return r.buf[i].Step >= st })
	if cut == n {
		return
	}
	r.buf = r.buf[:cut]
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
