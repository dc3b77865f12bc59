package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/sampler/samplerpb"
)

// snapshot is everything observable of a Run.
type snapshot struct {
	State   []byte
	Tags    []TagInfo
	Scalars map[string][]Point
	Items   map[string][]Item
	Queries map[string]*QueryResult
}

func snap(t *testing.T, r *Run) snapshot {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{State: b, Tags: r.Tags(), Scalars: map[string][]Point{}, Items: map[string][]Item{}, Queries: map[string]*QueryResult{}}
	for _, ti := range s.Tags {
		s.Scalars[ti.Tag] = r.Scalars(ti.Tag)
		s.Items[ti.Tag] = r.Items(ti.Tag)
		for _, w := range []int{3, 500} {
			if q, ok := r.Query(ti.Tag, 0, 0, w); ok {
				s.Queries[fmt.Sprint(ti.Tag, w)] = q
			}
			if q, ok := r.Query(ti.Tag, ti.MinStep+(ti.MaxStep-ti.MinStep)/3, ti.MaxStep-7, w); ok {
				s.Queries[fmt.Sprint(ti.Tag, w, "part")] = q
			}
		}
	}
	return s
}

// nanSafe replaces NaNs by a sentinel so reflect.DeepEqual can compare.
func nanSafe(s snapshot) snapshot {
	fix := func(p []Point) {
		for i := range p {
			if math.IsNaN(p[i].Value) {
				p[i].Value = -12345.678
			}
		}
	}
	for _, v := range s.Scalars {
		fix(v)
	}
	for _, q := range s.Queries {
		fix(q.Points)
		fix(q.NonFinite)
	}
	return s
}

// TestChunkedResume: ingesting a stream in N chunks with a marshal and an
// unmarshal into a fresh Run between chunks gives exactly the state and the
// answers of one pass.
func TestChunkedResume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		chunks []int
	}{
		{"default", Config{}, []int{1, 2, 3, 5, 8, 13, 64, 200}},
		// Tiny summaries: preemption often trims a bucket (estimates), and
		// the resume must reproduce those too.
		{"small", Config{Samples: map[string]int{"scalars": 7, "images": 2, "histograms": 0}, MaxBuckets: 16},
			[]int{1, 2, 3, 5, 7, 64, 333, 1000, 4999}},
	} {
		ops := randomStream(42, 40000/raceScale)
		one := NewRun(tc.cfg)
		for _, o := range ops {
			apply(one, o)
		}
		want := nanSafe(snap(t, one))
		for _, n := range tc.chunks {
			t.Run(fmt.Sprintf("%s/N=%d", tc.name, n), func(t *testing.T) {
				r := NewRun(tc.cfg)
				for c := range n {
					lo, hi := c*len(ops)/n, (c+1)*len(ops)/n
					for _, o := range ops[lo:hi] {
						apply(r, o)
					}
					b, err := r.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					r = &Run{} // config comes from the state
					if err := r.UnmarshalBinary(b); err != nil {
						t.Fatal(err)
					}
				}
				got := nanSafe(snap(t, r))
				if !bytes.Equal(got.State, want.State) {
					t.Fatalf("state differs from one pass (%d vs %d bytes)", len(got.State), len(want.State))
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatal("observable results differ from one pass")
				}
			})
		}
	}
}

func TestZeroRunAndConfigRoundTrip(t *testing.T) {
	var r Run
	r.AddScalar("a", 1, 1, 1)
	r.Start(0)
	r.AddItem("b", "text", 0, 0, []byte("x"))
	if got := tagInfo(&r, "a"); got.Count != 1 || got.Kept != 0 || got.Stats.Count != 0 {
		t.Fatalf("zero run: %+v", got)
	}
	cfg := Config{Samples: map[string]int{"scalars": 3}, MaxBuckets: 8}
	a := NewRun(cfg)
	cfg.Samples["scalars"] = 100 // NewRun copied the map
	b, _ := a.MarshalBinary()
	var c Run
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		c.AddScalar("x", int64(i), 0, 0)
	}
	if k := len(c.Scalars("x")); k != 3 {
		t.Fatalf("restored config keeps %d, want 3", k)
	}
	if nb := len(c.series["x"].sum.b); nb > 8 {
		t.Fatalf("restored config: %d buckets", nb)
	}
}

func TestUnmarshalRejectsBadState(t *testing.T) {
	r := NewRun(Config{})
	for i := range 10000 {
		r.AddScalar("x", int64(i), 0, float64(i))
		r.AddItem("i", "images", int64(i), 0, []byte{1})
	}
	r.AddScalar("x", 20000, 0, math.NaN())
	good, _ := r.MarshalBinary()
	mutate := func(f func(*samplerpb.RunState)) []byte {
		var st samplerpb.RunState
		if err := proto.Unmarshal(good, &st); err != nil {
			t.Fatal(err)
		}
		f(&st)
		b, _ := proto.Marshal(&st)
		return b
	}
	x := func(st *samplerpb.RunState) *samplerpb.Series { return st.Series[1] }
	cases := map[string][]byte{
		"garbage":           []byte("\xff\xff\xff\xff"),
		"truncated":         good[:len(good)/2],
		"version":           mutate(func(st *samplerpb.RunState) { st.Version = 9 }),
		"duplicate tag":     mutate(func(st *samplerpb.RunState) { st.Series = append(st.Series, st.Series[0]) }),
		"steps not sorted":  mutate(func(st *samplerpb.RunState) { x(st).Scalars.StepDeltas[3] = -1 }),
		"column lengths":    mutate(func(st *samplerpb.RunState) { x(st).Scalars.Walls = x(st).Scalars.Walls[1:] }),
		"too many kept":     mutate(func(st *samplerpb.RunState) { x(st).Scalars.Size = 2 }),
		"bucket order":      mutate(func(st *samplerpb.RunState) { x(st).Summary.IdxDeltas[2] = 0 }),
		"step outside":      mutate(func(st *samplerpb.RunState) { x(st).Summary.LastStep[0] = 1 << 40 }),
		"summary columns":   mutate(func(st *samplerpb.RunState) { x(st).Summary.MinValue = nil }),
		"no summary":        mutate(func(st *samplerpb.RunState) { x(st).Summary = nil }),
		"bad shift":         mutate(func(st *samplerpb.RunState) { x(st).Summary.Shift = 70 }),
		"non-finite kinds":  mutate(func(st *samplerpb.RunState) { x(st).Summary.Nonfinite[0].Count = []int64{1} }),
		"non-finite bucket": mutate(func(st *samplerpb.RunState) { x(st).Summary.Nonfinite[0].FirstStep[0] = 3 }),
		"negative samples":  mutate(func(st *samplerpb.RunState) { st.Samples = map[string]int64{"scalars": -1} }),
		"beyond max step":   mutate(func(st *samplerpb.RunState) { x(st).MaxStep = 100 }),
		"data but empty":    mutate(func(st *samplerpb.RunState) { st.Series[0].HasData = false }),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			r2 := NewRun(Config{})
			r2.AddScalar("keep", 1, 1, 1)
			err := r2.UnmarshalBinary(b)
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("err = %v, want ErrBadState", err)
			}
			if len(r2.Tags()) != 1 {
				t.Fatal("failed unmarshal changed the run")
			}
		})
	}
	var ok Run
	if err := ok.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
	again, _ := ok.MarshalBinary()
	if !bytes.Equal(again, good) {
		t.Fatal("round trip changed the state")
	}
}

func TestParseSamples(t *testing.T) {
	cases := []struct {
		in      string
		want    map[string]int
		wantErr bool
	}{
		{"", map[string]int{}, false},
		{"scalars=500,images=20", map[string]int{"scalars": 500, "images": 20}, false},
		{" scalars = 0 , ,audio=3", map[string]int{"scalars": 0, "audio": 3}, false},
		{"scalars", nil, true},
		{"=5", nil, true},
		{"scalars=-1", nil, true},
		{"scalars=x", nil, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSamples(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !c.wantErr && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v want %v", got, c.want)
			}
		})
	}
}

func TestDefaultSamplesAndPlugins(t *testing.T) {
	for plugin, want := range map[string]int{"scalars": 1000, "histograms": 500, "images": 10, "audio": 10, "pr_curves": 100, "text": 10, "custom": 10} {
		if got := DefaultSamples(plugin); got != want {
			t.Errorf("DefaultSamples(%q) = %d want %d", plugin, got, want)
		}
	}
	r := NewRun(Config{Samples: map[string]int{"custom": 2}})
	r.SetPlugin("c", "custom")
	r.SetPlugin("c", "other") // first wins
	r.AddItem("h", "histograms", 0, 0, nil)
	r.AddItem("h", "images", 1, 0, nil) // first wins
	for i := range 50 {
		r.AddScalar("c", int64(i), 0, 0)
		r.AddScalar("s", int64(i), 0, 0)
	}
	tags := r.Tags()
	if !slices.IsSortedFunc(tags, func(a, b TagInfo) int { return cmpString(a.Tag, b.Tag) }) {
		t.Fatal("tags not sorted")
	}
	want := map[string]struct {
		plugin string
		kept   int
	}{"c": {"custom", 2}, "h": {"histograms", 2}, "s": {"scalars", 50}}
	for _, ti := range tags {
		if w := want[ti.Tag]; ti.Plugin != w.plugin || ti.Kept != w.kept {
			t.Errorf("%s: plugin %q kept %d, want %q %d", ti.Tag, ti.Plugin, ti.Kept, w.plugin, w.kept)
		}
		if (ti.Stats != nil) != (ti.Tag != "h") {
			t.Errorf("%s: stats %v", ti.Tag, ti.Stats)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
