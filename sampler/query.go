package sampler

import (
	"math/bits"
	"slices"
	"sort"
)

// Query widths.
const (
	DefaultWidth = 1000    // used when width <= 0
	MaxWidth     = 1 << 16 // larger widths are clamped
)

// QueryResult is what a chart of a scalar series needs at one width.
type QueryResult struct {
	// Points: per pixel column its first, min, max and last points (M4),
	// distinct, sorted by step: at most 4 per column. Finite values only.
	Points []Point
	// Envelope: per non-empty column its finite min and max.
	Envelope []Band
	// NonFinite: the NaN/+Inf/-Inf values in range (Value says which),
	// sorted by step then kind. Each bucket's first and last occurrence of
	// each kind are exact, and so are the reservoir's; an occurrence the
	// summary cannot place (more occurrences than it knows, none known in
	// range) is reported once at the bucket's first step in range, with the
	// wall time of the bucket's first occurrence.
	NonFinite []Point
	// Stats over the range: exact when the range covers the series or its
	// ends fall on bucket boundaries; otherwise the two end buckets are
	// restricted to the range as the package comment describes.
	Stats Stats
}

// Band is the envelope of one pixel column: the step of the column's first
// point and the column's min and max (finite).
type Band struct {
	Step     int64
	Min, Max float64
}

type column struct {
	used                  bool
	first, last, min, max Point
}

type columns struct {
	start int64
	span  uint64 // end-start+1; 0 means 2^64
	w     uint64
	cols  []column
}

func (c *columns) index(step int64) int {
	d := uint64(step - c.start)
	hi, lo := bits.Mul64(d, c.w)
	if c.span == 0 {
		return int(hi)
	}
	q, _ := bits.Div64(hi, lo, c.span)
	return int(q)
}

func (c *columns) fold(p Point) {
	col := &c.cols[c.index(p.Step)]
	if !col.used {
		*col = column{used: true, first: p, last: p, min: p, max: p}
		return
	}
	widen(&col.first, &col.last, &col.min, &col.max, p)
}

// Query answers a chart request for the scalar series tag: steps [start,
// end] (inclusive; end < start, or both 0, mean the whole series) drawn
// width pixels wide. It returns false when tag has no scalar series.
//
// The points are those an M4 renderer needs: per pixel column the first,
// last, min and max of every point the run knows in that column (summary
// bucket extremes and the reservoir's raw points). Where buckets are finer
// than a column this is the raw data's M4 up to the columns' edges; where a
// query zooms in below the bucket width, each bucket contributes its known
// points at their own steps, together with the reservoir's exact raw points.
func (r *Run) Query(tag string, start, end int64, width int) (*QueryResult, bool) {
	s := r.series[tag]
	if s == nil || s.sum == nil {
		return nil, false
	}
	res := &QueryResult{}
	if !s.hasData {
		return res, true
	}
	if end < start || (start == 0 && end == 0) {
		start, end = s.minStep, s.maxStep
	}
	if width <= 0 {
		width = DefaultWidth
	}
	if width > MaxWidth {
		width = MaxWidth
	}
	sum, extras := s.sum, s.pts.points()
	if span := uint64(end-start) + 1; span != 0 && span < uint64(width) {
		width = int(span) // no more columns than steps
	}
	q := columns{start: start, span: uint64(end-start) + 1, w: uint64(width), cols: make([]column, width)}

	lo, hi := start>>sum.shift, end>>sum.shift
	var st Stats
	i := sort.Search(len(sum.b), func(i int) bool { return sum.b[i].idx >= lo })
	for ; i < len(sum.b) && sum.b[i].idx <= hi; i++ {
		b, ok := restrict(sum.b[i], start, end, extras)
		if !ok {
			continue
		}
		foldStats(&st, &b)
		q.fold(b.first)
		q.fold(b.min)
		q.fold(b.max)
		q.fold(b.last)
	}
	in := extrasIn(extras, start, end)
	for _, p := range in {
		if p.Value-p.Value == 0 {
			q.fold(p)
		}
	}

	var nf []Point
	j := sort.Search(len(sum.nf), func(j int) bool { return sum.nf[j].idx >= lo })
	for ; j < len(sum.nf) && sum.nf[j].idx <= hi; j++ {
		e := &sum.nf[j]
		if ne, ok := restrictNF(*e, start, end, extras); ok {
			foldNFStats(&st, &ne)
		}
		nf = appendNF(nf, e, start, end, extras)
	}
	res.Stats = st

	used := 0
	for ci := range q.cols {
		if q.cols[ci].used {
			used++
		}
	}
	res.Points = make([]Point, 0, 4*used)
	res.Envelope = make([]Band, 0, used)
	for ci := range q.cols {
		c := &q.cols[ci]
		if !c.used {
			continue
		}
		pts := [4]Point{c.first, c.min, c.max, c.last}
		sortByStep(pts[:])
		for k, p := range pts {
			if k == 0 || p.Step != pts[k-1].Step {
				res.Points = append(res.Points, p)
			}
		}
		res.Envelope = append(res.Envelope, Band{Step: c.first.Step, Min: c.min.Value, Max: c.max.Value})
	}

	slices.SortFunc(nf, func(a, b Point) int {
		if a.Step != b.Step {
			if a.Step < b.Step {
				return -1
			}
			return 1
		}
		return nfKind(a.Value) - nfKind(b.Value)
	})
	for k, p := range nf {
		if k == 0 || p.Step != nf[k-1].Step || nfKind(p.Value) != nfKind(nf[k-1].Value) {
			res.NonFinite = append(res.NonFinite, p)
		}
	}
	return res, true
}

// appendNF appends the non-finite occurrences of bucket e in [start, end].
func appendNF(dst []Point, e *nfBucket, start, end int64, extras []Point) []Point {
	for k := range nKinds {
		n := e.n[k]
		if n == 0 {
			continue
		}
		f, l := e.first[k], e.last[k]
		if l.Step < start || f.Step > end {
			continue
		}
		var known knownSet
		var buf [8]Point
		known.pts = buf[:0]
		known.add(f)
		known.add(l)
		for _, p := range extrasIn(extras, f.Step, l.Step) {
			if p.Value-p.Value != 0 && nfKind(p.Value) == k {
				known.add(p)
			}
		}
		found := false
		for _, p := range known.pts {
			if p.Step >= start && p.Step <= end {
				dst = append(dst, Point{Step: p.Step, Wall: p.Wall, Value: nfValues[k]})
				found = true
			}
		}
		if !found && n > int64(len(known.pts)) {
			// Unknown occurrences lie strictly between f and l, which
			// straddle the range: report one at bucket resolution.
			at := max(start, f.Step+1)
			dst = append(dst, Point{Step: at, Wall: f.Wall, Value: nfValues[k]})
		}
	}
	return dst
}

func sortByStep(p []Point) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].Step < p[j-1].Step; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}
