package sampler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func pointsEqual(a, b []Point) bool {
	return slices.EqualFunc(a, b, func(x, y Point) bool {
		return x.Step == y.Step && x.Wall == y.Wall && sameValue(x.Value, y.Value)
	})
}

// TestQueryExactM4 compares Query with an independent M4 over the raw data
// when the summary has width-1 buckets (the series has fewer distinct steps
// than buckets): the answer must be exactly the raw data's M4.
func TestQueryExactM4(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var pts []Point
	r := NewRun(Config{Samples: map[string]int{"scalars": 10}})
	step := int64(-50)
	for range 3000 {
		step += 1 + rnd.Int64N(3)
		v := rnd.NormFloat64()
		switch rnd.IntN(300) {
		case 0:
			v = math.NaN()
		case 1:
			v = math.Inf(-1)
		case 2:
			v = math.Round(v) // ties between equal values
		}
		p := Point{step, float64(step) * 0.1, v}
		pts = append(pts, p)
		r.AddScalar("x", p.Step, p.Wall, p.Value)
	}
	if sh := r.series["x"].sum.shift; sh != 0 {
		t.Fatalf("shift %d, want 0", sh)
	}
	lo, hi := pts[0].Step, pts[len(pts)-1].Step
	type rng2 struct{ a, b int64 }
	ranges := []rng2{{0, 0}, {lo, hi}, {lo - 100, hi + 100}, {100, 200}, {101, 101}, {-20, 5000}, {hi, hi}}
	for range 20 {
		a := lo + rnd.Int64N(hi-lo)
		ranges = append(ranges, rng2{a, a + rnd.Int64N(hi-a+1)})
	}
	for _, rg := range ranges {
		for _, w := range []int{1, 2, 3, 17, 100, 640, 5000} {
			t.Run(fmt.Sprintf("%d-%d/w=%d", rg.a, rg.b, w), func(t *testing.T) {
				q, ok := r.Query("x", rg.a, rg.b, w)
				if !ok {
					t.Fatal("no series")
				}
				a, b := rg.a, rg.b
				if a == 0 && b == 0 {
					a, b = lo, hi
				}
				wantPts, wantEnv, wantNF := bruteM4(pts, a, b, w)
				if !pointsEqual(q.Points, wantPts) {
					t.Fatalf("points differ:\n got %v\nwant %v", q.Points, wantPts)
				}
				if !slices.Equal(q.Envelope, wantEnv) {
					t.Fatalf("envelope differs:\n got %v\nwant %v", q.Envelope, wantEnv)
				}
				if !pointsEqual(q.NonFinite, wantNF) {
					t.Fatalf("non-finite differ:\n got %v\nwant %v", q.NonFinite, wantNF)
				}
				if st := bruteStats(pts, a, b); !statsEqual(q.Stats, st) {
					t.Fatalf("stats %+v want %+v", q.Stats, st)
				}
			})
		}
	}
	if _, ok := r.Query("nope", 0, 0, 10); ok {
		t.Fatal("query of a missing series succeeded")
	}
	r.AddItem("img", "images", 1, 1, nil)
	if _, ok := r.Query("img", 0, 0, 10); ok {
		t.Fatal("query of an item series succeeded")
	}
}

// TestQueryAlignedColumns: 2^20 points (2^18 under -race), so buckets are
// 256 (64) steps wide; queries whose pixel columns are unions of whole buckets must equal the
// raw data's M4 exactly, and the stats are exact.
func TestQueryAlignedColumns(t *testing.T) {
	n := int64(1<<20) / raceScale
	bw := n / DefaultMaxBuckets // the bucket width the summary must reach
	rnd := rand.New(rand.NewPCG(3, 4))
	pts := make([]Point, n)
	r := NewRun(Config{})
	for i := range pts {
		v := math.Sin(float64(i)/5000) + 0.1*rnd.NormFloat64()
		pts[i] = Point{int64(i), float64(i), v}
		r.AddScalar("x", int64(i), float64(i), v)
	}
	sum := r.series["x"].sum
	if int64(1)<<sum.shift != bw || len(sum.b) != DefaultMaxBuckets {
		t.Fatalf("shift %d buckets %d", sum.shift, len(sum.b))
	}
	for _, tc := range []struct{ a, b int64 }{{0, n - 1}, {0, n/2 - 1}, {n / 4, n/4 + bw*64 - 1}, {bw * 3, bw*5 - 1}} {
		for _, cols := range []int64{1, 2, 8, 64, 1024} {
			buckets := (tc.b - tc.a + 1) / bw
			if buckets%cols != 0 {
				continue
			}
			t.Run(fmt.Sprintf("%d-%d/w=%d", tc.a, tc.b, cols), func(t *testing.T) {
				q, _ := r.Query("x", tc.a, tc.b, int(cols))
				wantPts, wantEnv, _ := bruteM4(pts, tc.a, tc.b, int(cols))
				if !pointsEqual(q.Points, wantPts) {
					t.Fatalf("points differ:\n got %v\nwant %v", q.Points, wantPts)
				}
				if !slices.Equal(q.Envelope, wantEnv) {
					t.Fatalf("envelope differs")
				}
				if st := bruteStats(pts, tc.a, tc.b); !statsEqual(q.Stats, st) {
					t.Fatalf("stats %+v want %+v", q.Stats, st)
				}
			})
		}
	}
	if st := bruteStats(pts, 0, n); !statsEqual(*tagInfo(r, "x").Stats, st) {
		t.Fatalf("tag stats %+v want %+v", *tagInfo(r, "x").Stats, st)
	}
	// Zoomed in below the bucket width: every point returned is real, the
	// range's reservoir points are all there, and the envelope stays
	// within the raw data's.
	q, _ := r.Query("x", 1000, 1100, 500)
	for _, p := range q.Points {
		if p.Step < 1000 || p.Step > 1100 || p != pts[p.Step] {
			t.Fatalf("zoomed point %+v not raw", p)
		}
	}
	for _, p := range r.Scalars("x") {
		if p.Step >= 1000 && p.Step <= 1100 && !slices.Contains(q.Points, p) {
			t.Fatalf("reservoir point %+v missing from zoomed query", p)
		}
	}
}

// TestSpike: millions of noisy values with one spike and one NaN: every
// query whose range covers them shows the spike (in Points and as the
// Envelope max) and the NaN, at several widths; the stats see both.
func TestSpike(t *testing.T) {
	n := int64(10_000_000)
	if raceEnabled {
		n = 3_000_000 // the race detector slows the ingest ~10x
	}
	spikeAt, nanAt := n/3+17, 2*n/3+5
	const spike = 1e6
	r := NewRun(Config{})
	x := uint64(12345)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v := float64(x>>11) / (1 << 53)
		switch i {
		case spikeAt:
			v = spike
		case nanAt:
			v = math.NaN()
		}
		r.AddScalar("loss", i, float64(i), v)
	}
	if sz := r.SizeBytes(); sz > 2<<20 {
		t.Fatalf("%d values hold %d bytes", n, sz)
	}
	st := *tagInfo(r, "loss").Stats
	if st.Max != spike || st.NaN != 1 || st.NonFinite != 1 || st.Count != n-1 || st.Min < 0 || st.FirstStep != 0 || st.LastStep != n-1 {
		t.Fatalf("stats %+v", st)
	}
	type rg struct{ a, b int64 }
	ranges := []rg{{0, 0}, {0, n - 1}, {spikeAt, nanAt}, {spikeAt - 1, spikeAt + 1}, {spikeAt, spikeAt},
		{nanAt - 1000, nanAt + 3}, {n / 4, n - 10}, {spikeAt - 123457, nanAt + 98765}}
	for _, c := range ranges {
		for _, w := range []int{1, 2, 50, 640, 1920, 4000} {
			t.Run(fmt.Sprintf("%d-%d/w=%d", c.a, c.b, w), func(t *testing.T) {
				q, _ := r.Query("loss", c.a, c.b, w)
				a, b := c.a, c.b
				if a == 0 && b == 0 {
					a, b = 0, n-1
				}
				if len(q.Points) > 4*w {
					t.Fatalf("%d points for width %d", len(q.Points), w)
				}
				if !slices.IsSortedFunc(q.Points, func(x, y Point) int { return int(x.Step - y.Step) }) {
					t.Fatal("points not sorted by step")
				}
				hasSpike := slices.Contains(q.Points, Point{spikeAt, float64(spikeAt), spike})
				envSpike := slices.ContainsFunc(q.Envelope, func(b Band) bool { return b.Max == spike })
				covered := a <= spikeAt && spikeAt <= b
				if hasSpike != covered || envSpike != covered {
					t.Fatalf("spike covered=%v in points=%v envelope=%v", covered, hasSpike, envSpike)
				}
				hasNaN := slices.ContainsFunc(q.NonFinite, func(p Point) bool { return p.Step == nanAt && math.IsNaN(p.Value) })
				if covered := a <= nanAt && nanAt <= b; hasNaN != covered || len(q.NonFinite) != boolInt(covered) {
					t.Fatalf("NaN covered=%v reported=%v (%v)", covered, hasNaN, q.NonFinite)
				}
				if (q.Stats.Max == spike) != covered || q.Stats.NaN != int64(boolInt(a <= nanAt && nanAt <= b)) {
					t.Fatalf("range stats %+v", q.Stats)
				}
			})
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSummaryWidthMinimal: the bucket width is the smallest power of two at
// which the steps fit in DefaultMaxBuckets buckets (so it depends on the
// data, not on the order of arrival), and capacity never exceeds the bound.
func TestSummaryWidthMinimal(t *testing.T) {
	for _, n := range []int64{1, 4096, 4097, 8192, 8193, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := NewRun(Config{})
			for i := range n {
				r.AddScalar("x", i*3, 0, float64(i))
			}
			s := r.series["x"].sum
			count := func(shift uint) int {
				seen := map[int64]bool{}
				for i := range n {
					seen[(i*3)>>shift] = true
				}
				return len(seen)
			}
			if count(s.shift) != len(s.b) || len(s.b) > DefaultMaxBuckets {
				t.Fatalf("shift %d: %d buckets (%d by count)", s.shift, len(s.b), count(s.shift))
			}
			if s.shift > 0 && count(s.shift-1) <= DefaultMaxBuckets {
				t.Fatalf("shift %d is not minimal", s.shift)
			}
			if cap(s.b) > DefaultMaxBuckets {
				t.Fatalf("bucket capacity %d", cap(s.b))
			}
		})
	}
}

// TestMemoryBounded: the memory held does not grow with the length of a
// series once its summary is full.
func TestMemoryBounded(t *testing.T) {
	sizes := map[int64]int{}
	payload := make([]byte, 100)
	for _, n := range []int64{1 << 18, 1 << 20} {
		r := NewRun(Config{})
		for i := range n {
			r.AddScalar("x", i, float64(i), float64(i%1000))
			if i%32 == 0 {
				r.AddScalar("y", i, float64(i), math.NaN())
			}
			r.AddItem("img", "images", i, float64(i), payload)
		}
		sizes[n] = r.SizeBytes()
	}
	t.Logf("SizeBytes by series length: %v", sizes)
	if sizes[1<<20] > sizes[1<<18]*11/10 || sizes[1<<20] > 2<<20 {
		t.Fatalf("memory grows with series length: %v", sizes)
	}
}
