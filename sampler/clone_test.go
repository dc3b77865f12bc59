package sampler

import (
	"bytes"
	"math"
	"testing"
)

// A clone carries on exactly as the original would, and adding to it
// leaves the original as it was.
func TestClone(t *testing.T) {
	feed := func(r *Run, from, to int64) {
		for s := from; s < to; s++ {
			v := math.Sin(float64(s))
			if s%997 == 0 {
				v = math.NaN()
			}
			r.AddScalar("loss", s, float64(s), v)
			r.AddScalar("acc", s, float64(s), float64(s))
			if s%50 == 0 {
				r.AddItem("img", "images", s, float64(s), []byte{byte(s), byte(s >> 8), 1, 2, 3})
			}
			if s == 3000 {
				r.Start(2500) // a restart drops steps >= 2500 everywhere
			}
		}
	}
	marshal := func(r *Run) []byte {
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, cut := range []int64{0, 1, 1000, 2999, 3001, 9000} {
		orig := NewRun(Config{MaxBuckets: 64, Samples: map[string]int{"images": 3}})
		feed(orig, 0, cut)
		before := marshal(orig)

		c := orig.Clone()
		if !bytes.Equal(marshal(c), before) {
			t.Fatalf("cut %d: the clone differs from the original", cut)
		}
		feed(c, cut, 10000)
		if !bytes.Equal(marshal(orig), before) {
			t.Errorf("cut %d: adding to the clone changed the original", cut)
		}
		one := NewRun(Config{MaxBuckets: 64, Samples: map[string]int{"images": 3}})
		feed(one, 0, 10000)
		if !bytes.Equal(marshal(c), marshal(one)) {
			t.Errorf("cut %d: the clone did not end as one pass does", cut)
		}
	}
}
