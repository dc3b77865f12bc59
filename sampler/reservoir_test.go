package sampler

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// refReservoir is §8 of tfevents-format.md written out naively.
type refReservoir struct {
	k     int
	n     uint64
	rng   rng
	items []int64
}

func (r *refReservoir) add(x int64) {
	r.n++
	if r.k == 0 || len(r.items) < r.k {
		r.items = append(r.items, x)
		return
	}
	if j := r.rng.intn(r.n); j < uint64(r.k) {
		r.items = append(slices.Delete(r.items, int(j), int(j)+1), x)
	} else {
		r.items[len(r.items)-1] = x
	}
}

func TestReservoirMatchesReference(t *testing.T) {
	for _, k := range []int{0, 1, 2, 3, 10, 100} {
		for _, n := range []int{0, 1, 2, 10, 11, 100, 1000, 5000} {
			t.Run(fmt.Sprintf("k=%d/n=%d", k, n), func(t *testing.T) {
				tag := fmt.Sprintf("tag-%d-%d", k, n)
				r := NewRun(Config{Samples: map[string]int{"scalars": k, "images": k}})
				ref := refReservoir{k: k, rng: rng{s: seedFor(tag)}}
				refItems := refReservoir{k: k, rng: rng{s: seedFor(tag + "i")}}
				for i := range n {
					r.AddScalar(tag, int64(i), float64(i), float64(i)*2)
					r.AddItem(tag+"i", "images", int64(i), float64(i), []byte(fmt.Sprint(i)))
					ref.add(int64(i))
					refItems.add(int64(i))
				}
				var got []int64
				for _, p := range r.Scalars(tag) {
					if p.Value != float64(p.Step)*2 || p.Wall != float64(p.Step) {
						t.Fatalf("point %+v does not match what was added", p)
					}
					got = append(got, p.Step)
				}
				if !slices.Equal(got, ref.items) {
					t.Fatalf("scalars kept %v, reference %v", got, ref.items)
				}
				got = got[:0]
				for _, it := range r.Items(tag + "i") {
					if string(it.Payload) != fmt.Sprint(it.Step) {
						t.Fatalf("item %d payload %q", it.Step, it.Payload)
					}
					got = append(got, it.Step)
				}
				if !slices.Equal(got, refItems.items) {
					t.Fatalf("items kept %v, reference %v", got, refItems.items)
				}
				want := min(n, k)
				if k == 0 {
					want = n
				}
				if len(got) != want {
					t.Fatalf("kept %d, want %d", len(got), want)
				}
				if n > 0 && got[len(got)-1] != int64(n-1) {
					t.Fatalf("last item %d not kept", n-1)
				}
				if n <= k || k == 0 {
					for i, s := range got {
						if s != int64(i) {
							t.Fatalf("below capacity every item must be kept in order, got %v", got)
						}
					}
				}
			})
		}
	}
}

// TestReservoirIndependentOfOtherTags: interleaving other tags does not
// change a series' sample (the seed is per tag).
func TestReservoirIndependentOfOtherTags(t *testing.T) {
	cfg := Config{Samples: map[string]int{"scalars": 20}}
	alone, mixed := NewRun(cfg), NewRun(cfg)
	for i := range 5000 {
		alone.AddScalar("a", int64(i), 0, float64(i))
		mixed.AddScalar("a", int64(i), 0, float64(i))
		for j := range i % 3 {
			mixed.AddScalar(fmt.Sprint("other", j), int64(i), 0, 1)
		}
	}
	if !slices.Equal(alone.Scalars("a"), mixed.Scalars("a")) {
		t.Fatal("other tags changed the sample of tag a")
	}
	if slices.Equal(mixed.Scalars("a"), mixed.Scalars("other0")) {
		t.Fatal("different tags drew the same sample")
	}
}

// inclusionProb is the exact probability that the i-th item (1-based) of
// n is kept by the keep-last reservoir of size k (n > k): the first k-1
// items k/n, the others (k-1)/n, the last 1.
func inclusionProb(i, n, k int) float64 {
	switch {
	case i == n:
		return 1
	case i < k:
		return float64(k) / float64(n)
	}
	return float64(k-1) / float64(n)
}

// chiSquare bins the kept positions 1..n-1 (the last is always kept) of
// many series into bins and returns Pearson's statistic against the exact
// inclusion probabilities.
func chiSquare(kept [][]int, n, k, bins int) float64 {
	obs := make([]float64, bins)
	exp := make([]float64, bins)
	bin := func(i int) int { return (i - 1) * bins / (n - 1) }
	for i := 1; i < n; i++ {
		exp[bin(i)] += inclusionProb(i, n, k) * float64(len(kept))
	}
	for _, ks := range kept {
		for _, i := range ks {
			if i < n {
				obs[bin(i)]++
			}
		}
	}
	var x2 float64
	for b := range bins {
		d := obs[b] - exp[b]
		x2 += d * d / exp[b]
	}
	return x2
}

// TestReservoirUniformChiSquare: over many series (different tags, so
// different seeds), inclusion is uniform over positions.
func TestReservoirUniformChiSquare(t *testing.T) {
	const (
		series = 3000
		n      = 1000
		k      = 50
		bins   = 20
		// chi-square critical value, 19 degrees of freedom, alpha = 0.001.
		critical = 43.82
	)
	sample := map[string]func(tag string) []int{
		"run": func(tag string) []int {
			r := NewRun(Config{Samples: map[string]int{"scalars": k}})
			for i := 1; i <= n; i++ {
				r.AddScalar(tag, int64(i), 0, 0)
			}
			var pos []int
			for _, p := range r.Scalars(tag) {
				pos = append(pos, int(p.Step))
			}
			return pos
		},
		// A broken reservoir drawing r from [0, n/2): must fail the test.
		"biased": func(tag string) []int {
			g := rng{s: seedFor(tag)}
			var items []int
			for i := 1; i <= n; i++ {
				if len(items) < k {
					items = append(items, i)
					continue
				}
				if j := g.intn(uint64(i/2 + 1)); j < k {
					items = append(slices.Delete(items, int(j), int(j)+1), i)
				} else {
					items[len(items)-1] = i
				}
			}
			return items
		},
	}
	for _, tc := range []struct {
		name    string
		uniform bool
	}{{"run", true}, {"biased", false}} {
		t.Run(tc.name, func(t *testing.T) {
			kept := make([][]int, series)
			for s := range series {
				kept[s] = sample[tc.name](fmt.Sprintf("train/series_%d", s))
				if len(kept[s]) != k || kept[s][k-1] != n {
					t.Fatalf("series %d kept %d items, last %d", s, len(kept[s]), kept[s][len(kept[s])-1])
				}
			}
			x2 := chiSquare(kept, n, k, bins)
			t.Logf("chi-square = %.2f (critical %.2f)", x2, critical)
			if tc.uniform && x2 >= critical {
				t.Fatalf("inclusion not uniform: chi-square %.2f >= %.2f", x2, critical)
			}
			if !tc.uniform && x2 < critical {
				t.Fatalf("test has no power: biased sampler scored %.2f < %.2f", x2, critical)
			}
		})
	}
}

func TestItemsCopyPayloadAndReuse(t *testing.T) {
	r := NewRun(Config{Samples: map[string]int{"images": 3}})
	buf := []byte("aaaa")
	for i := range 100 {
		buf[0] = byte('a' + i%26)
		r.AddItem("img", "images", int64(i), 0, buf)
	}
	buf[0] = 'Z'
	items := r.Items("img")
	if len(items) != 3 || items[2].Step != 99 {
		t.Fatalf("items %+v", items)
	}
	for _, it := range items {
		if want := []byte{byte('a' + it.Step%26), 'a', 'a', 'a'}; !bytes.Equal(it.Payload, want) {
			t.Fatalf("step %d payload %q want %q (payload aliased?)", it.Step, it.Payload, want)
		}
	}
	items[0].Payload[0] = 'X'
	if r.Items("img")[0].Payload[0] == 'X' {
		t.Fatal("Items returned internal buffers")
	}
}

func TestAllocs(t *testing.T) {
	r := NewRun(Config{})
	tags := []string{"a", "b", "c"}
	tagBytes := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	step := int64(0)
	for range 20000 {
		for _, tg := range tags {
			r.AddScalar(tg, step, 1, float64(step%17))
		}
		r.AddItem("img", "images", step, 1, []byte("payload"))
		step++
	}
	cases := []struct {
		name string
		f    func()
	}{
		{"AddScalar", func() {
			for _, tg := range tags {
				r.AddScalar(tg, step, 1, float64(step%17))
			}
			step++
		}},
		{"AddScalarBytes", func() {
			for _, tg := range tagBytes {
				r.AddScalarBytes(tg, step, 1, float64(step%13))
			}
			step++
		}},
		{"AddItem", func() {
			r.AddItem("img", "images", step, 1, []byte("payload"))
			step++
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if a := testing.AllocsPerRun(5000, c.f); a != 0 {
				t.Fatalf("%v allocs per call in steady state", a)
			}
		})
	}
}

// TestReservoirHolesMatchReference: evictions leave holes that are closed
// later (pointRes); at every moment, reads of the Run (settled or not, a
// clone, an encoded copy) give the reference sample, and reads change
// nothing.
func TestReservoirHolesMatchReference(t *testing.T) {
	for _, k := range []int{1000, 37} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			const tag = "loss"
			r := NewRun(Config{Samples: map[string]int{"scalars": k}})
			ref := refReservoir{k: k, rng: rng{s: seedFor(tag)}}
			check := func(n int, what string, got []Point) {
				t.Helper()
				steps := make([]int64, len(got))
				for i, p := range got {
					steps[i] = p.Step
				}
				if !slices.Equal(steps, ref.items) {
					t.Fatalf("after %d values, %s: %d points differ from the reference's %d", n, what, len(steps), len(ref.items))
				}
			}
			holesSeen := false
			for i := range 60_000 {
				r.AddScalar(tag, int64(i), 0, float64(i))
				ref.add(int64(i))
				if i%997 != 0 {
					continue
				}
				holes := len(r.series[tag].pts.holes)
				holesSeen = holesSeen || holes > 0
				check(i, "Scalars", r.Scalars(tag))
				if got := len(r.series[tag].pts.holes); got != holes {
					t.Fatalf("a read changed the holes: %d, then %d", holes, got)
				}
				check(i, "a clone", r.Clone().Scalars(tag))
				data, err := r.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var back Run
				if err := back.UnmarshalBinary(data); err != nil {
					t.Fatal(err)
				}
				check(i, "the decoded state", back.Scalars(tag))
				if i%3 == 0 {
					r.Settle()
					if len(r.series[tag].pts.holes) != 0 {
						t.Fatal("Settle left holes")
					}
					check(i, "Scalars after Settle", r.Scalars(tag))
					again, _ := r.MarshalBinary()
					if !bytes.Equal(again, data) {
						t.Fatal("settling changed the encoding")
					}
				}
			}
			if !holesSeen {
				t.Fatal("no read met a reservoir with holes: the test checks nothing")
			}
		})
	}
}
