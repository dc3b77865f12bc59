package sampler

import (
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"tbhost/sampler/samplerpb"
)

// The encoder of a Run's state. It writes the bytes that
// proto.MarshalOptions{Deterministic: true} writes for the
// samplerpb.RunState the state stands for (encode_test.go checks that
// byte for byte), but straight from the Run: no columnar copy of every
// summary and reservoir first, and one buffer, sized by a first pass, that
// nothing is copied out of. A checkpoint of a big run encodes tens of MB.

// AppendBinary appends the encoding MarshalBinary returns to b, growing b
// at most once: a caller that reserves room in front of the state (a
// digest wrapping it) copies the state no further.
func (r *Run) AppendBinary(b []byte) ([]byte, error) {
	head := &samplerpb.RunState{Version: stateVersion, MaxBuckets: int64(r.cfg.MaxBuckets)}
	if len(r.cfg.Samples) > 0 {
		head.Samples = make(map[string]int64, len(r.cfg.Samples))
		for k, v := range r.cfg.Samples {
			head.Samples[k] = int64(v)
		}
	}
	// Fields 1 to 3, then the series (field 4): the order proto writes.
	opts := proto.MarshalOptions{Deterministic: true}
	tags := make([]string, 0, len(r.series))
	for t := range r.series {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	encs := make([]seriesEnc, len(tags))
	total := opts.Size(head)
	for i, t := range tags {
		encs[i] = newSeriesEnc(r.series[t])
		total += lenFieldSize(fieldSeries, encs[i].size)
	}
	b = slices.Grow(b, total)
	b, err := opts.MarshalAppend(b, head)
	if err != nil {
		return nil, err
	}
	for i := range encs {
		b = encs[i].append(b)
	}
	return b, nil
}

// Field numbers of samplerpb (state.proto).
const (
	fieldSeries = 4 // RunState.series

	// Series
	fieldTag       = 1
	fieldPlugin    = 2
	fieldAdded     = 3
	fieldHasData   = 4
	fieldMinStep   = 5
	fieldMaxStep   = 6
	fieldFirstWall = 7
	fieldLastWall  = 8
	fieldScalars   = 9
	fieldItems     = 10
	fieldSummary   = 11

	// Reservoir
	fieldResSize     = 1
	fieldResSeen     = 2
	fieldResRng      = 3
	fieldStepDeltas  = 4
	fieldWalls       = 5
	fieldValues      = 6
	fieldPayloads    = 7
	fieldShift       = 1 // Summary.shift; columns 2 to 15 follow
	fieldNonFinite   = 16
	fieldNFIdx       = 1 // NonFinite.idx; columns 2 to 6 follow
	fieldNFCount     = 2
	fieldNFFirstStep = 3
	fieldNFFirstWall = 4
	fieldNFLastStep  = 5
	fieldNFLastWall  = 6
)

// lenFieldSize is the size of a length-delimited field of n bytes.
func lenFieldSize(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(uint64(n)) + n
}

func appendLenHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// Scalar fields of proto3: a zero value is left out (a double only if it
// is +0: -0 is written).
func varintFieldSize(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func doubleFieldSize(num protowire.Number, v float64) int {
	if math.Float64bits(v) == 0 {
		return 0
	}
	return protowire.SizeTag(num) + 8
}

func appendDoubleField(b []byte, num protowire.Number, v float64) []byte {
	if math.Float64bits(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func stringFieldSize(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return lenFieldSize(num, len(s))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return append(appendLenHeader(b, num, len(s)), s...)
}

func boolToUint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// packed is a packed repeated field of n elements: varints (at) or
// doubles (atDouble). size is the bytes of its elements.
type packed struct {
	num      protowire.Number
	n, size  int
	at       func(i int) uint64
	atDouble func(i int) float64
}

func varints(num protowire.Number, n int, at func(i int) uint64) packed {
	c := packed{num: num, n: n, at: at}
	for i := range n {
		c.size += protowire.SizeVarint(at(i))
	}
	return c
}

func doubles(num protowire.Number, n int, at func(i int) float64) packed {
	return packed{num: num, n: n, size: 8 * n, atDouble: at}
}

// fieldSize is the size of the packed as a field: nothing when empty.
func (c *packed) fieldSize() int {
	if c.n == 0 {
		return 0
	}
	return lenFieldSize(c.num, c.size)
}

func (c *packed) append(b []byte) []byte {
	if c.n == 0 {
		return b
	}
	b = appendLenHeader(b, c.num, c.size)
	if c.at != nil {
		for i := range c.n {
			b = protowire.AppendVarint(b, c.at(i))
		}
		return b
	}
	for i := range c.n {
		b = protowire.AppendFixed64(b, math.Float64bits(c.atDouble(i)))
	}
	return b
}

// seriesEnc is one series measured for encoding: the sizes its fields
// take, so that they are written with their lengths in one pass.
type seriesEnc struct {
	s              *series
	size           int
	scalars, items resEnc
	sum            summaryEnc
}

// resEnc is a Reservoir message measured: its columns and size.
type resEnc struct {
	res      *resState
	cols     []packed
	payloads [][]byte
	size     int
}

func newResEnc(res *resState, cols []packed, payloads [][]byte) resEnc {
	e := resEnc{res: res, cols: cols, payloads: payloads}
	e.size = varintFieldSize(fieldResSize, uint64(res.k)) + varintFieldSize(fieldResSeen, uint64(res.seen)) + varintFieldSize(fieldResRng, res.rng.s)
	for i := range cols {
		e.size += cols[i].fieldSize()
	}
	for _, p := range payloads {
		e.size += lenFieldSize(fieldPayloads, len(p)) // empty ones too
	}
	return e
}

func (e *resEnc) append(b []byte, num protowire.Number) []byte {
	b = appendLenHeader(b, num, e.size)
	b = appendVarintField(b, fieldResSize, uint64(e.res.k))
	b = appendVarintField(b, fieldResSeen, uint64(e.res.seen))
	b = appendVarintField(b, fieldResRng, e.res.rng.s)
	for i := range e.cols {
		b = e.cols[i].append(b)
	}
	for _, p := range e.payloads {
		b = append(appendLenHeader(b, fieldPayloads, len(p)), p...)
	}
	return b
}

// stepDeltas is a reservoir's step packed: each step less the one before
// (the first less 0), zigzag-encoded (sint64).
func stepDeltas(n int, step func(i int) int64) packed {
	return varints(fieldStepDeltas, n, func(i int) uint64 {
		prev := int64(0)
		if i > 0 {
			prev = step(i - 1)
		}
		return protowire.EncodeZigZag(step(i) - prev)
	})
}

// summaryEnc is a Summary message measured.
type summaryEnc struct {
	s    *summary
	cols []packed
	nf   []int // size of each NonFinite message
	size int
}

func newSummaryEnc(s *summary) summaryEnc {
	b, n := s.b, len(s.b)
	base := func(i int) int64 { return b[i].idx << s.shift }
	e := summaryEnc{s: s, cols: []packed{
		varints(2, n, func(i int) uint64 {
			prev := int64(0)
			if i > 0 {
				prev = b[i-1].idx
			}
			return protowire.EncodeZigZag(b[i].idx - prev)
		}),
		varints(3, n, func(i int) uint64 { return uint64(b[i].count) }),
	}}
	// Fields 4 to 15: step, wall and value of the first, last, min and max
	// point of each bucket, in that order.
	for k, pt := range [...]func(*bucket) *Point{
		func(b *bucket) *Point { return &b.first },
		func(b *bucket) *Point { return &b.last },
		func(b *bucket) *Point { return &b.min },
		func(b *bucket) *Point { return &b.max },
	} {
		num := protowire.Number(4 + 3*k)
		e.cols = append(e.cols,
			varints(num, n, func(i int) uint64 { return uint64(pt(&b[i]).Step - base(i)) }),
			doubles(num+1, n, func(i int) float64 { return pt(&b[i]).Wall }),
			doubles(num+2, n, func(i int) float64 { return pt(&b[i]).Value }))
	}
	e.size = varintFieldSize(fieldShift, uint64(s.shift))
	for i := range e.cols {
		e.size += e.cols[i].fieldSize()
	}
	e.nf = make([]int, len(s.nf))
	for i := range s.nf {
		cols := nfColumns(&s.nf[i])
		n := varintFieldSize(fieldNFIdx, protowire.EncodeZigZag(s.nf[i].idx))
		for j := range cols {
			n += cols[j].fieldSize()
		}
		e.nf[i] = n
		e.size += lenFieldSize(fieldNonFinite, n)
	}
	return e
}

// nfColumns are the columns of a NonFinite message: one entry per kind.
func nfColumns(e *nfBucket) [5]packed {
	return [5]packed{
		varints(fieldNFCount, nKinds, func(k int) uint64 { return uint64(e.n[k]) }),
		varints(fieldNFFirstStep, nKinds, func(k int) uint64 { return uint64(e.first[k].Step) }),
		doubles(fieldNFFirstWall, nKinds, func(k int) float64 { return e.first[k].Wall }),
		varints(fieldNFLastStep, nKinds, func(k int) uint64 { return uint64(e.last[k].Step) }),
		doubles(fieldNFLastWall, nKinds, func(k int) float64 { return e.last[k].Wall }),
	}
}

func (e *summaryEnc) append(b []byte) []byte {
	b = appendLenHeader(b, fieldSummary, e.size)
	b = appendVarintField(b, fieldShift, uint64(e.s.shift))
	for i := range e.cols {
		b = e.cols[i].append(b)
	}
	for i := range e.s.nf {
		nf := &e.s.nf[i]
		b = appendLenHeader(b, fieldNonFinite, e.nf[i])
		b = appendVarintField(b, fieldNFIdx, protowire.EncodeZigZag(nf.idx))
		cols := nfColumns(nf)
		for j := range cols {
			b = cols[j].append(b)
		}
	}
	return b
}

func newSeriesEnc(s *series) seriesEnc {
	e := seriesEnc{s: s}
	e.size = stringFieldSize(fieldTag, s.tag) + stringFieldSize(fieldPlugin, s.plugin) +
		varintFieldSize(fieldAdded, uint64(s.added)) + varintFieldSize(fieldHasData, boolToUint(s.hasData)) +
		varintFieldSize(fieldMinStep, uint64(s.minStep)) + varintFieldSize(fieldMaxStep, uint64(s.maxStep)) +
		doubleFieldSize(fieldFirstWall, s.firstWall) + doubleFieldSize(fieldLastWall, s.lastWall)
	if s.pts != nil {
		pts := s.pts.points()
		n := len(pts)
		e.scalars = newResEnc(&s.pts.res, []packed{
			stepDeltas(n, func(i int) int64 { return pts[i].Step }),
			doubles(fieldWalls, n, func(i int) float64 { return pts[i].Wall }),
			doubles(fieldValues, n, func(i int) float64 { return pts[i].Value }),
		}, nil)
		e.size += lenFieldSize(fieldScalars, e.scalars.size)
		e.sum = newSummaryEnc(s.sum)
		e.size += lenFieldSize(fieldSummary, e.sum.size)
	}
	if s.items != nil {
		items := s.items.items
		n := len(items)
		payloads := make([][]byte, n)
		for i, it := range items {
			payloads[i] = it.Payload
		}
		e.items = newResEnc(&s.items.res, []packed{
			stepDeltas(n, func(i int) int64 { return items[i].Step }),
			doubles(fieldWalls, n, func(i int) float64 { return items[i].Wall }),
		}, payloads)
		e.size += lenFieldSize(fieldItems, e.items.size)
	}
	return e
}

func (e *seriesEnc) append(b []byte) []byte {
	s := e.s
	b = appendLenHeader(b, fieldSeries, e.size)
	b = appendStringField(b, fieldTag, s.tag)
	b = appendStringField(b, fieldPlugin, s.plugin)
	b = appendVarintField(b, fieldAdded, uint64(s.added))
	b = appendVarintField(b, fieldHasData, boolToUint(s.hasData))
	b = appendVarintField(b, fieldMinStep, uint64(s.minStep))
	b = appendVarintField(b, fieldMaxStep, uint64(s.maxStep))
	b = appendDoubleField(b, fieldFirstWall, s.firstWall)
	b = appendDoubleField(b, fieldLastWall, s.lastWall)
	if s.pts != nil {
		b = e.scalars.append(b, fieldScalars)
	}
	if s.items != nil {
		b = e.items.append(b, fieldItems)
	}
	if s.pts != nil {
		b = e.sum.append(b)
	}
	return b
}
