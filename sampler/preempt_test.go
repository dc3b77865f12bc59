package sampler

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func steps(pts []Point) []int64 {
	var s []int64
	for _, p := range pts {
		s = append(s, p.Step)
	}
	return s
}

func sc(tag string, step int64, v float64) op {
	return op{tag: tag, step: step, wall: float64(step) + 0.5, value: v}
}

func start(step int64) op { return op{start: true, step: step} }

func TestPreemption(t *testing.T) {
	type want struct {
		tag   string
		steps []int64   // kept (reservoir large enough to keep all)
		vals  []float64 // values at those steps
	}
	cases := []struct {
		name string
		ops  []op
		want []want
	}{
		{
			name: "duplicate step replaces",
			ops:  []op{sc("a", 0, 1), sc("a", 1, 2), sc("a", 2, 3), sc("a", 2, 30), sc("a", 3, 4)},
			want: []want{{"a", []int64{0, 1, 2, 3}, []float64{1, 2, 30, 4}}},
		},
		{
			name: "restart drops tail of that series only",
			ops: []op{sc("a", 0, 1), sc("b", 0, 1), sc("a", 5, 2), sc("b", 5, 2), sc("a", 10, 3),
				sc("b", 10, 3), sc("a", 4, 40), sc("a", 6, 60)},
			want: []want{{"a", []int64{0, 4, 6}, []float64{1, 40, 60}}, {"b", []int64{0, 5, 10}, []float64{1, 2, 3}}},
		},
		{
			name: "restart to before first drops everything",
			ops:  []op{sc("a", 3, 1), sc("a", 4, 2), sc("a", 1, 9)},
			want: []want{{"a", []int64{1}, []float64{9}}},
		},
		{
			name: "START drops every series",
			ops: []op{sc("a", 0, 1), sc("b", 0, 1), sc("a", 5, 2), sc("b", 7, 2), start(5),
				sc("a", 5, 50), sc("b", 6, 60)},
			want: []want{{"a", []int64{0, 5}, []float64{1, 50}}, {"b", []int64{0, 6}, []float64{1, 60}}},
		},
		{
			name: "START above every step drops nothing",
			ops:  []op{sc("a", 0, 1), sc("a", 1, 2), start(2), sc("a", 2, 3)},
			want: []want{{"a", []int64{0, 1, 2}, []float64{1, 2, 3}}},
		},
		{
			name: "START at 0 then new data",
			ops:  []op{sc("a", 0, 1), sc("a", 1, 2), start(0), sc("a", 1, 7)},
			want: []want{{"a", []int64{1}, []float64{7}}},
		},
		{
			name: "dropped values never reappear after a later append",
			ops:  []op{sc("a", 0, 1), sc("a", 1, 2), sc("a", 2, 3), sc("a", 1, 10), sc("a", 3, 11)},
			want: []want{{"a", []int64{0, 1, 3}, []float64{1, 10, 11}}},
		},
		{
			name: "negative steps",
			ops:  []op{sc("a", -5, 1), sc("a", -3, 2), sc("a", 2, 3), sc("a", -4, 4)},
			want: []want{{"a", []int64{-5, -4}, []float64{1, 4}}},
		},
		{
			name: "non-finite values are preempted too",
			ops:  []op{sc("a", 0, 1), sc("a", 1, math.NaN()), sc("a", 2, math.Inf(1)), sc("a", 1, 5)},
			want: []want{{"a", []int64{0, 1}, []float64{1, 5}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRun(Config{Samples: map[string]int{"scalars": 0}})
			m := newModel()
			for _, o := range tc.ops {
				apply(r, o)
				m.apply(o)
			}
			for _, w := range tc.want {
				got := r.Scalars(w.tag)
				if !slices.Equal(steps(got), w.steps) {
					t.Fatalf("%s: kept steps %v, want %v", w.tag, steps(got), w.steps)
				}
				for i, p := range got {
					if p.Value != w.vals[i] {
						t.Fatalf("%s: step %d value %v, want %v", w.tag, p.Step, p.Value, w.vals[i])
					}
				}
				// The summary and the stats agree with the model exactly
				// (bucket width 1 here).
				q, ok := r.Query(w.tag, 0, 0, 100)
				if !ok {
					t.Fatal("no series")
				}
				live := m.live[w.tag]
				wantSt := bruteStats(live, math.MinInt64, math.MaxInt64)
				if !statsEqual(q.Stats, wantSt) {
					t.Fatalf("%s: query stats %+v, want %+v", w.tag, q.Stats, wantSt)
				}
				ti := tagInfo(r, w.tag)
				if !statsEqual(*ti.Stats, wantSt) {
					t.Fatalf("%s: tag stats %+v, want %+v", w.tag, *ti.Stats, wantSt)
				}
				if ti.MinStep != live[0].Step || ti.MaxStep != live[len(live)-1].Step ||
					ti.FirstWall != live[0].Wall || ti.LastWall != live[len(live)-1].Wall {
					t.Fatalf("%s: range %+v, live %v", w.tag, ti, live)
				}
				var qsteps []int64
				for _, p := range q.Points {
					qsteps = append(qsteps, p.Step)
				}
				for _, p := range q.NonFinite {
					qsteps = append(qsteps, p.Step)
				}
				slices.Sort(qsteps)
				if !slices.Equal(qsteps, w.steps) {
					t.Fatalf("%s: query steps %v, want %v", w.tag, qsteps, w.steps)
				}
			}
		})
	}
}

func tagInfo(r *Run, tag string) TagInfo {
	for _, ti := range r.Tags() {
		if ti.Tag == tag {
			return ti
		}
	}
	return TagInfo{}
}

func statsEqual(a, b Stats) bool {
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return a.Count == b.Count && a.NonFinite == b.NonFinite && a.NaN == b.NaN && a.PosInf == b.PosInf &&
		a.NegInf == b.NegInf && eq(a.Min, b.Min) && eq(a.Max, b.Max) && eq(a.First, b.First) &&
		eq(a.Last, b.Last) && a.FirstStep == b.FirstStep && a.LastStep == b.LastStep
}

// TestPreemptionRandom checks, over long random streams with restarts and
// START events, that (1) every value the run reports (reservoir, query
// points, non-finite points) is a live value of the model, (2) the
// reservoir is in strictly increasing step order and keeps the last live
// value, (3) with bucket width 1 the stats are exact, and with tiny
// summaries they stay within what is known.
func TestPreemptionRandom(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxBuckets int
		exact      bool
	}{
		{"exact", 1 << 20, true},
		{"buckets=64", 64, false},
		{"buckets=7", 7, false},
	} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				r := NewRun(Config{MaxBuckets: tc.maxBuckets, Samples: map[string]int{"scalars": 50}})
				m := newModel()
				ops := randomStream(seed, 60000/raceScale)
				for i, o := range ops {
					apply(r, o)
					m.apply(o)
					if i%997 == 0 || i == len(ops)-1 {
						checkAgainstModel(t, r, m, tc.exact)
					}
				}
			})
		}
	}
}

func checkAgainstModel(t *testing.T, r *Run, m *model, exact bool) {
	t.Helper()
	for _, ti := range r.Tags() {
		if ti.Stats == nil {
			continue
		}
		live := m.live[ti.Tag]
		res := r.Scalars(ti.Tag)
		for i, p := range res {
			lp, ok := m.valueAt(ti.Tag, p.Step)
			if !ok || !sameValue(lp.Value, p.Value) || lp.Wall != p.Wall {
				t.Fatalf("%s: reservoir holds %+v, not live", ti.Tag, p)
			}
			if i > 0 && p.Step <= res[i-1].Step {
				t.Fatalf("%s: reservoir not in step order", ti.Tag)
			}
		}
		// The value added last is kept while live (after a START removed
		// the tail, the last live value may have been sampled away, as in
		// TensorBoard).
		if l, ok := m.lastAdded[ti.Tag]; ok {
			if lp, live := m.valueAt(ti.Tag, l.Step); live && lp == l {
				if len(res) == 0 || res[len(res)-1].Step != l.Step || !sameValue(res[len(res)-1].Value, l.Value) {
					t.Fatalf("%s: last added value %+v not kept", ti.Tag, l)
				}
			}
		}
		for _, w := range []int{1, 7, 300} {
			q, _ := r.Query(ti.Tag, 0, 0, w)
			for _, p := range q.Points {
				if lp, ok := m.valueAt(ti.Tag, p.Step); !ok || lp != p {
					t.Fatalf("%s: query point %+v is not live (%+v)", ti.Tag, p, lp)
				}
			}
			for _, p := range q.NonFinite {
				lp, ok := m.valueAt(ti.Tag, p.Step)
				if exact && (!ok || nfKind(lp.Value) != nfKind(p.Value) || lp.Value-lp.Value == 0) {
					t.Fatalf("%s: non-finite %+v is not live (%+v)", ti.Tag, p, lp)
				}
			}
			if len(q.Points) > 4*w {
				t.Fatalf("%d points for width %d", len(q.Points), w)
			}
		}
		want := bruteStats(live, math.MinInt64, math.MaxInt64)
		got := *ti.Stats
		if exact {
			if !statsEqual(got, want) {
				t.Fatalf("%s: stats %+v, want %+v", ti.Tag, got, want)
			}
			continue
		}
		if want.Count > 0 && (got.First != want.First || got.FirstStep != want.FirstStep) {
			t.Fatalf("%s: first %v@%d, want %v@%d", ti.Tag, got.First, got.FirstStep, want.First, want.FirstStep)
		}
		if got.Count > 0 && (got.Min < want.Min || got.Max > want.Max) {
			t.Fatalf("%s: min/max %v/%v outside live %v/%v", ti.Tag, got.Min, got.Max, want.Min, want.Max)
		}
		if got.Count > want.Count+int64(len(live)) || (want.Count > 0) != (got.Count > 0) {
			t.Fatalf("%s: count %d, live %d", ti.Tag, got.Count, want.Count)
		}
	}
}

func sameValue(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
