package sampler

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
)

// op is one step of a test stream.
type op struct {
	start   bool // SessionLog START at step
	tag     string
	plugin  string // "" for AddScalar, else AddItem
	step    int64
	wall    float64
	value   float64
	payload []byte
}

func apply(r *Run, o op) {
	switch {
	case o.start:
		r.Start(o.step)
	case o.plugin == "":
		r.AddScalar(o.tag, o.step, o.wall, o.value)
	default:
		r.AddItem(o.tag, o.plugin, o.step, o.wall, o.payload)
	}
}

// model is the reference semantics: per tag the live values after
// preemption, in step order.
type model struct {
	live      map[string][]Point
	lastAdded map[string]Point
}

func newModel() *model { return &model{live: map[string][]Point{}, lastAdded: map[string]Point{}} }

func (m *model) apply(o op) {
	cut := func(tag string, s int64) {
		pts := m.live[tag]
		i := sort.Search(len(pts), func(i int) bool { return pts[i].Step >= s })
		m.live[tag] = pts[:i]
	}
	if o.start {
		for t := range m.live {
			cut(t, o.step)
		}
		return
	}
	cut(o.tag, o.step)
	m.live[o.tag] = append(m.live[o.tag], Point{o.step, o.wall, o.value})
	m.lastAdded[o.tag] = Point{o.step, o.wall, o.value}
}

func (m *model) valueAt(tag string, step int64) (Point, bool) {
	pts := m.live[tag]
	i := sort.Search(len(pts), func(i int) bool { return pts[i].Step >= step })
	if i < len(pts) && pts[i].Step == step {
		return pts[i], true
	}
	return Point{}, false
}

// bruteStats computes Stats over live points in [a, b].
func bruteStats(pts []Point, a, b int64) Stats {
	var st Stats
	for _, p := range pts {
		if p.Step < a || p.Step > b {
			continue
		}
		switch {
		case math.IsNaN(p.Value):
			st.NaN++
			st.NonFinite++
			continue
		case math.IsInf(p.Value, 1):
			st.PosInf++
			st.NonFinite++
			continue
		case math.IsInf(p.Value, -1):
			st.NegInf++
			st.NonFinite++
			continue
		}
		if st.Count == 0 {
			st.First, st.FirstStep, st.Min, st.Max = p.Value, p.Step, p.Value, p.Value
		}
		st.Min = math.Min(st.Min, p.Value)
		st.Max = math.Max(st.Max, p.Value)
		st.Last, st.LastStep = p.Value, p.Step
		st.Count++
	}
	return st
}

// bruteM4 is an independent M4 over raw points: column of step s is
// floor((s-a)*w/(b-a+1)) computed with big integers.
func bruteM4(pts []Point, a, b int64, w int) ([]Point, []Band, []Point) {
	span := new(big.Int).Sub(big.NewInt(b), big.NewInt(a))
	span.Add(span, big.NewInt(1))
	if span.IsInt64() && span.Int64() < int64(w) {
		w = int(span.Int64())
	}
	// colStart(c) = a + ceil(c*span/w): the first step of column c.
	colStart := func(c int64) int64 {
		x := new(big.Int).Mul(big.NewInt(c), span)
		x.Add(x, big.NewInt(int64(w)-1))
		x.Quo(x, big.NewInt(int64(w)))
		x.Add(x, big.NewInt(a))
		return x.Int64()
	}
	type col struct{ pts []Point }
	cols := make([]*col, w)
	var keys []int64
	var nf []Point
	c, next := int64(0), colStart(1)
	lo := sort.Search(len(pts), func(i int) bool { return pts[i].Step >= a })
	for _, p := range pts[lo:] {
		if p.Step > b {
			break
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			nf = append(nf, Point{p.Step, p.Wall, nfValues[nfKind(p.Value)]})
			continue
		}
		for c < int64(w)-1 && p.Step >= next {
			c++
			next = colStart(c + 1)
		}
		if cols[c] == nil {
			cols[c] = &col{}
			keys = append(keys, c)
		}
		cols[c].pts = append(cols[c].pts, p)
	}
	slices.Sort(keys)
	var out []Point
	var env []Band
	for _, k := range keys {
		cp := cols[k].pts
		first, last, mn, mx := cp[0], cp[len(cp)-1], cp[0], cp[0]
		for _, p := range cp {
			if p.Value < mn.Value {
				mn = p
			}
			if p.Value > mx.Value {
				mx = p
			}
		}
		sel := []Point{first, mn, mx, last}
		slices.SortStableFunc(sel, func(x, y Point) int { return int(x.Step - y.Step) })
		for i, p := range sel {
			if i == 0 || p.Step != sel[i-1].Step {
				out = append(out, p)
			}
		}
		env = append(env, Band{first.Step, mn.Value, mx.Value})
	}
	return out, env, nf
}

// randomStream makes a stream of scalar values over a few tags with
// restarts (preemption), START events, duplicate steps, non-finite values
// and items.
func randomStream(seed uint64, n int) []op {
	rnd := rand.New(rand.NewPCG(seed, 7))
	tags := []string{"loss", "acc", "lr", "grad/norm"}
	steps := map[string]int64{}
	var ops []op
	wall := 1.6e9
	for len(ops) < n {
		wall += 0.25
		switch x := rnd.IntN(1000); {
		case x < 2: // SessionLog START a little back
			var maxs int64
			for _, s := range steps {
				maxs = max(maxs, s)
			}
			s := maxs - rnd.Int64N(200)
			ops = append(ops, op{start: true, step: s, wall: wall})
			for t, v := range steps {
				steps[t] = min(v, s-1)
			}
		case x < 40: // item
			t := "img"
			if x < 20 {
				t = "hist"
			}
			steps[t] += 1 + rnd.Int64N(5)
			pl := "images"
			if t == "hist" {
				pl = "histograms"
			}
			payload := make([]byte, rnd.IntN(30))
			for i := range payload {
				payload[i] = byte(rnd.UintN(256))
			}
			ops = append(ops, op{tag: t, plugin: pl, step: steps[t], wall: wall, payload: payload})
		default:
			t := tags[rnd.IntN(len(tags))]
			switch y := rnd.IntN(1000); {
			case y < 3: // restart of this series
				steps[t] -= rnd.Int64N(300)
			case y < 10: // duplicate step
			default:
				steps[t] += 1 + rnd.Int64N(3)
			}
			v := rnd.NormFloat64()
			switch z := rnd.IntN(2000); {
			case z == 0:
				v = math.NaN()
			case z == 1:
				v = math.Inf(1)
			case z == 2:
				v = math.Inf(-1)
			}
			ops = append(ops, op{tag: t, step: steps[t], wall: wall, value: v})
		}
	}
	return ops
}
