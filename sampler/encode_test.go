package sampler

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/sampler/samplerpb"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// The reference encoding: the samplerpb.RunState a Run stands for,
// marshalled by proto. AppendBinary (encode.go) writes the same bytes
// without building it.

func (r *Run) referenceEncoding(t testing.TB) []byte {
	t.Helper()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(r.proto())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// proto returns the state as a samplerpb.RunState.
func (r *Run) proto() *samplerpb.RunState {
	st := &samplerpb.RunState{Version: stateVersion, MaxBuckets: int64(r.cfg.MaxBuckets)}
	if len(r.cfg.Samples) > 0 {
		st.Samples = make(map[string]int64, len(r.cfg.Samples))
		for k, v := range r.cfg.Samples {
			st.Samples[k] = int64(v)
		}
	}
	tags := make([]string, 0, len(r.series))
	for t := range r.series {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	for _, t := range tags {
		s := r.series[t]
		ps := &samplerpb.Series{
			Tag: s.tag, Plugin: s.plugin, Added: s.added, HasData: s.hasData,
			MinStep: s.minStep, MaxStep: s.maxStep, FirstWall: s.firstWall, LastWall: s.lastWall,
		}
		if s.pts != nil {
			pts := s.pts.points()
			ps.Scalars = marshalRes(&s.pts.res, len(pts), func(i int) (int64, float64) { return pts[i].Step, pts[i].Wall })
			ps.Scalars.Values = make([]float64, len(pts))
			for i, p := range pts {
				ps.Scalars.Values[i] = p.Value
			}
			ps.Summary = marshalSummary(s.sum)
		}
		if s.items != nil {
			ps.Items = marshalRes(&s.items.res, len(s.items.items), func(i int) (int64, float64) { return s.items.items[i].Step, s.items.items[i].Wall })
			ps.Items.Payloads = make([][]byte, len(s.items.items))
			for i, it := range s.items.items {
				ps.Items.Payloads[i] = it.Payload
			}
		}
		st.Series = append(st.Series, ps)
	}
	return st
}

func marshalRes(res *resState, n int, at func(int) (int64, float64)) *samplerpb.Reservoir {
	pr := &samplerpb.Reservoir{Size: int64(res.k), Seen: res.seen, Rng: res.rng.s,
		StepDeltas: make([]int64, n), Walls: make([]float64, n)}
	var prev int64
	for i := range n {
		step, wall := at(i)
		pr.StepDeltas[i] = step - prev
		pr.Walls[i] = wall
		prev = step
	}
	return pr
}

func marshalSummary(s *summary) *samplerpb.Summary {
	n := len(s.b)
	ps := &samplerpb.Summary{
		Shift:     uint32(s.shift),
		IdxDeltas: make([]int64, n), Count: make([]int64, n),
		FirstStep: make([]uint64, n), FirstWall: make([]float64, n), FirstValue: make([]float64, n),
		LastStep: make([]uint64, n), LastWall: make([]float64, n), LastValue: make([]float64, n),
		MinStep: make([]uint64, n), MinWall: make([]float64, n), MinValue: make([]float64, n),
		MaxStep: make([]uint64, n), MaxWall: make([]float64, n), MaxValue: make([]float64, n),
	}
	var prev int64
	for i := range s.b {
		b := &s.b[i]
		base := b.idx << s.shift
		ps.IdxDeltas[i] = b.idx - prev
		prev = b.idx
		ps.Count[i] = b.count
		ps.FirstStep[i], ps.FirstWall[i], ps.FirstValue[i] = uint64(b.first.Step-base), b.first.Wall, b.first.Value
		ps.LastStep[i], ps.LastWall[i], ps.LastValue[i] = uint64(b.last.Step-base), b.last.Wall, b.last.Value
		ps.MinStep[i], ps.MinWall[i], ps.MinValue[i] = uint64(b.min.Step-base), b.min.Wall, b.min.Value
		ps.MaxStep[i], ps.MaxWall[i], ps.MaxValue[i] = uint64(b.max.Step-base), b.max.Wall, b.max.Value
	}
	for i := range s.nf {
		e := &s.nf[i]
		pe := &samplerpb.NonFinite{Idx: e.idx}
		for k := range nKinds {
			pe.Count = append(pe.Count, e.n[k])
			pe.FirstStep = append(pe.FirstStep, e.first[k].Step)
			pe.FirstWall = append(pe.FirstWall, e.first[k].Wall)
			pe.LastStep = append(pe.LastStep, e.last[k].Step)
			pe.LastWall = append(pe.LastWall, e.last[k].Wall)
		}
		ps.Nonfinite = append(ps.Nonfinite, pe)
	}
	return ps
}

// TestEncodingMatchesProto: AppendBinary writes, byte for byte, what proto
// writes for the state, on random streams (restarts, duplicate and
// negative steps, NaN and ±Inf, items with empty payloads, -0 walls), on
// configurations with samples and bucket bounds, and on every run of the
// generated corpus (and the real one when present); and it appends to
// what b holds.
func TestEncodingMatchesProto(t *testing.T) {
	check := func(t *testing.T, r *Run) {
		t.Helper()
		want := r.referenceEncoding(t)
		got, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			n := 0
			for n < min(len(got), len(want)) && got[n] == want[n] {
				n++
			}
			t.Fatalf("encoding of %d bytes differs from proto's %d bytes from byte %d on", len(got), len(want), n)
		}
		prefixed, err := r.AppendBinary([]byte("head"))
		if err != nil {
			t.Fatal(err)
		}
		if string(prefixed[:4]) != "head" || !bytes.Equal(prefixed[4:], want) {
			t.Fatal("AppendBinary does not append the encoding to what b holds")
		}
	}
	t.Run("empty", func(t *testing.T) {
		check(t, NewRun(Config{}))
		check(t, &Run{})
	})
	configs := []Config{
		{},
		{Samples: map[string]int{"scalars": 7, "images": 0, "histograms": 3}, MaxBuckets: 16},
		{Samples: map[string]int{"": 0}, MaxBuckets: 1},
	}
	for ci, cfg := range configs {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("random/config=%d/seed=%d", ci, seed), func(t *testing.T) {
				r := NewRun(cfg)
				for i, o := range randomStream(seed, 6000) {
					if i%500 == 0 {
						o.wall = math.Copysign(0, -1) // -0 is written, +0 left out
					}
					if i%777 == 0 && o.plugin != "" {
						o.payload = nil
					}
					if i%1000 == 1 {
						o.step = -o.step - 5 // negative steps: 10-byte varints
					}
					apply(r, o)
					if i%1500 == 0 {
						check(t, r) // with holes in the reservoirs too
					}
				}
				check(t, r)
				r.Settle()
				check(t, r)
			})
		}
	}
	for _, c := range []struct {
		name string
		get  func(testing.TB) *tfeventstest.Corpus
	}{{"generated", tfeventstest.Generate}, {"real", tfeventstest.Real}} {
		t.Run(c.name, func(t *testing.T) {
			corpus := c.get(t)
			runs, err := tfevents.WalkLogDir(corpus.LogDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range runs {
				r := NewRun(Config{})
				plugins := map[string]string{}
				for _, f := range run.Files {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					sc := tfevents.NewScanner(bytes.NewReader(data), tfevents.Options{Plugins: plugins})
					for sc.Scan() {
						v := sc.Value()
						switch v.Kind {
						case tfevents.KindSessionStart:
							r.Start(v.Step)
						case tfevents.KindScalar:
							r.AddScalar(v.Tag, v.Step, v.WallTime, v.Scalar)
						default:
							r.AddItem(v.Tag, v.Plugin, v.Step, v.WallTime, v.Blob)
						}
					}
					sc.Close()
				}
				check(t, r)
			}
		})
	}
}
