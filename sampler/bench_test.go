package sampler

import (
	"fmt"
	"testing"
)

// noise is a cheap deterministic value stream (xorshift).
type noise uint64

func (x *noise) next() float64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return float64(*x>>11) / (1 << 53)
}

// reportCPU adds cpu-ns/op (process CPU time per op) next to the wall-clock
// ns/op; call with the CPU time at the start of the timed loop.
func reportCPU(b *testing.B, start int64, per float64) {
	if start == 0 {
		return
	}
	b.ReportMetric(float64(cpuNanos()-start)/float64(b.N)/per, "cpu-ns/value")
}

var benchTags = func() []string {
	tags := make([]string, 8)
	for i := range tags {
		tags[i] = fmt.Sprintf("train/metric_%d", i)
	}
	return tags
}()

// BenchmarkAddScalar: one op = one value through the full path (tag
// lookup, preemption check, reservoir k=1000, M4 summary), cycling over 8
// tags like a decoder does. ns/op is ns/value.
func BenchmarkAddScalar(b *testing.B) {
	r := NewRun(Config{})
	x := noise(1)
	b.ReportAllocs()
	i := 0
	c := cpuNanos()
	for b.Loop() {
		r.AddScalar(benchTags[i&7], int64(i>>3), float64(i), x.next())
		i++
	}
	reportCPU(b, c, 1)
}

// BenchmarkAddScalarBytes is AddScalar with tags in a reused []byte.
func BenchmarkAddScalarBytes(b *testing.B) {
	tags := make([][]byte, 8)
	for i := range tags {
		tags[i] = []byte(benchTags[i])
	}
	r := NewRun(Config{})
	x := noise(1)
	b.ReportAllocs()
	i := 0
	c := cpuNanos()
	for b.Loop() {
		r.AddScalarBytes(tags[i&7], int64(i>>3), float64(i), x.next())
		i++
	}
	reportCPU(b, c, 1)
}

// baseSeries is the baseline: the bare TensorBoard reservoir, found with
// the same cached lookup as Run.
type baseSeries struct {
	tag  string
	res  pointRes
	next *baseSeries
}

// BenchmarkReservoirOnly is the baseline: the same stream into the bare
// TensorBoard reservoir (k=1000) of each tag, tags looked up the same way
// as Run does, no summary.
func BenchmarkReservoirOnly(b *testing.B) {
	m := map[string]*baseSeries{}
	for _, t := range benchTags {
		m[t] = &baseSeries{tag: t, res: pointRes{res: newResState(1000, t)}}
	}
	var last *baseSeries
	x := noise(1)
	b.ReportAllocs()
	i := 0
	c := cpuNanos()
	for b.Loop() {
		t := benchTags[i&7]
		var s *baseSeries
		if last != nil && last.next != nil && last.next.tag == t {
			s = last.next
		} else if last != nil && last.tag == t {
			s = last
		} else {
			s = m[t]
			if last != nil {
				last.next = s
			}
		}
		last = s
		s.res.add(Point{int64(i >> 3), float64(i), x.next()})
		i++
	}
	reportCPU(b, c, 1)
}

// BenchmarkSummaryOnly: the M4 summary alone.
func BenchmarkSummaryOnly(b *testing.B) {
	s := newSummary(DefaultMaxBuckets)
	x := noise(1)
	b.ReportAllocs()
	i := 0
	c := cpuNanos()
	for b.Loop() {
		s.add(Point{int64(i), float64(i), x.next()})
		i++
	}
	reportCPU(b, c, 1)
}

// BenchmarkAddScalar10M ingests 10M values of one series per op and
// reports ns/value and the bytes held at the end (bounded whatever the
// length).
func BenchmarkAddScalar10M(b *testing.B) {
	const n = 10_000_000
	b.ReportAllocs()
	var r *Run
	c := cpuNanos()
	for b.Loop() {
		r = NewRun(Config{})
		x := noise(1)
		for i := range int64(n) {
			r.AddScalar("loss", i, float64(i), x.next())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
	reportCPU(b, c, n)
	b.ReportMetric(float64(r.SizeBytes()), "held-bytes")
}

// BenchmarkQuery: a full-range query of a 10M-value series at 1920 px.
func BenchmarkQuery(b *testing.B) {
	r := NewRun(Config{})
	x := noise(1)
	for i := range int64(10_000_000) {
		r.AddScalar("loss", i, float64(i), x.next())
	}
	for _, w := range []int{640, 1920} {
		b.Run(fmt.Sprint("w=", w), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Query("loss", 0, 0, w)
			}
		})
	}
}

// BenchmarkState: marshal/unmarshal of a run of 8 full scalar series.
func BenchmarkState(b *testing.B) {
	r := NewRun(Config{})
	x := noise(1)
	for i := range int64(1 << 20) {
		r.AddScalar(fmt.Sprint("m", i&7), i>>3, float64(i), x.next())
	}
	data, _ := r.MarshalBinary()
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := r.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var x Run
			if err := x.UnmarshalBinary(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
