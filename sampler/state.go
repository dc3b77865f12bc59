package sampler

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"tbhost/sampler/samplerpb"
)

const stateVersion = 1

// ErrBadState wraps every error of UnmarshalBinary.
var ErrBadState = errors.New("sampler: bad state")

// MarshalBinary encodes the whole Run (configuration included) as a
// samplerpb.RunState. The encoding is deterministic: equal states give equal
// bytes.
func (r *Run) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary replaces r with a state written by MarshalBinary,
// configuration included. It validates the state: an error wraps
// ErrBadState and leaves r unchanged.
func (r *Run) UnmarshalBinary(data []byte) error {
	var st samplerpb.RunState
	if err := proto.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%w: %v", ErrBadState, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%w: version %d", ErrBadState, st.Version)
	}
	if st.MaxBuckets < 0 || st.MaxBuckets > 1<<24 {
		return fmt.Errorf("%w: max buckets %d", ErrBadState, st.MaxBuckets)
	}
	cfg := Config{MaxBuckets: int(st.MaxBuckets)}
	if len(st.Samples) > 0 {
		cfg.Samples = make(map[string]int, len(st.Samples))
		for k, v := range st.Samples {
			if v < 0 || v > 1<<31 {
				return fmt.Errorf("%w: samples %s=%d", ErrBadState, k, v)
			}
			cfg.Samples[k] = int(v)
		}
	}
	m := make(map[string]*series, len(st.Series))
	for _, ps := range st.Series {
		if _, dup := m[ps.Tag]; dup {
			return fmt.Errorf("%w: duplicate tag %q", ErrBadState, ps.Tag)
		}
		s, err := unmarshalSeries(ps, cfg.maxBuckets())
		if err != nil {
			return fmt.Errorf("%w: tag %q: %v", ErrBadState, ps.Tag, err)
		}
		m[s.tag] = s
	}
	*r = Run{cfg: cfg, series: m}
	return nil
}

func unmarshalSeries(ps *samplerpb.Series, maxBuckets int) (*series, error) {
	s := &series{
		tag: strings.Clone(ps.Tag), plugin: ps.Plugin, added: ps.Added, hasData: ps.HasData,
		minStep: ps.MinStep, maxStep: ps.MaxStep, firstWall: ps.FirstWall, lastWall: ps.LastWall,
	}
	if s.added < 0 || (s.hasData && s.minStep > s.maxStep) {
		return nil, errors.New("bad header")
	}
	if (ps.Scalars == nil) != (ps.Summary == nil) {
		return nil, errors.New("scalar reservoir without summary or vice versa")
	}
	if ps.Scalars != nil {
		res, steps, err := unmarshalRes(ps.Scalars)
		if err != nil {
			return nil, fmt.Errorf("scalars: %v", err)
		}
		if len(ps.Scalars.Values) != len(steps) || len(ps.Scalars.Payloads) != 0 {
			return nil, errors.New("scalars: column lengths differ")
		}
		s.pts = &pointRes{res: res, buf: make([]Point, len(steps))}
		for i := range steps {
			s.pts.buf[i] = Point{Step: steps[i], Wall: ps.Scalars.Walls[i], Value: ps.Scalars.Values[i]}
		}
		if s.sum, err = unmarshalSummary(ps.Summary, maxBuckets); err != nil {
			return nil, fmt.Errorf("summary: %v", err)
		}
	}
	if ps.Items != nil {
		res, steps, err := unmarshalRes(ps.Items)
		if err != nil {
			return nil, fmt.Errorf("items: %v", err)
		}
		if len(ps.Items.Payloads) != len(steps) || len(ps.Items.Values) != 0 {
			return nil, errors.New("items: column lengths differ")
		}
		s.items = &itemRes{res: res, items: make([]Item, len(steps))}
		for i := range steps {
			pl := ps.Items.Payloads[i]
			if len(pl) == 0 {
				pl = nil // as AddItem keeps an empty payload
			}
			s.items.items[i] = Item{Step: steps[i], Wall: ps.Items.Walls[i], Payload: pl}
		}
	}
	if err := s.checkRange(); err != nil {
		return nil, err
	}
	return s, nil
}

func unmarshalRes(pr *samplerpb.Reservoir) (resState, []int64, error) {
	n := len(pr.StepDeltas)
	if pr.Size < 0 || pr.Size > 1<<31 || (pr.Size > 0 && int64(n) > pr.Size) || pr.Seen < int64(n) || len(pr.Walls) != n {
		return resState{}, nil, errors.New("bad reservoir header")
	}
	steps := make([]int64, n)
	var prev int64
	for i, d := range pr.StepDeltas {
		if i > 0 && d <= 0 {
			return resState{}, nil, errors.New("steps not increasing")
		}
		prev += d
		steps[i] = prev
	}
	return resState{k: int(pr.Size), seen: pr.Seen, rng: rng{s: pr.Rng}}, steps, nil
}

func unmarshalSummary(ps *samplerpb.Summary, maxBuckets int) (*summary, error) {
	if ps.Shift > 62 {
		return nil, errors.New("bad shift")
	}
	s := &summary{shift: uint(ps.Shift), max: maxBuckets}
	n := len(ps.IdxDeltas)
	for _, l := range [][]uint64{ps.FirstStep, ps.LastStep, ps.MinStep, ps.MaxStep} {
		if len(l) != n {
			return nil, errors.New("column lengths differ")
		}
	}
	for _, l := range [][]float64{ps.FirstWall, ps.FirstValue, ps.LastWall, ps.LastValue, ps.MinWall, ps.MinValue, ps.MaxWall, ps.MaxValue} {
		if len(l) != n {
			return nil, errors.New("column lengths differ")
		}
	}
	if len(ps.Count) != n || n > maxBuckets || len(ps.Nonfinite) > maxBuckets {
		return nil, errors.New("bad bucket count")
	}
	width := uint64(1) << s.shift
	s.b = make([]bucket, n)
	var idx int64
	for i := range n {
		idx += ps.IdxDeltas[i]
		if (i > 0 && ps.IdxDeltas[i] <= 0) || ps.Count[i] <= 0 {
			return nil, errors.New("bad bucket index or count")
		}
		if idx<<s.shift>>s.shift != idx {
			return nil, errors.New("bucket index out of range")
		}
		base := idx << s.shift
		for _, off := range []uint64{ps.FirstStep[i], ps.LastStep[i], ps.MinStep[i], ps.MaxStep[i]} {
			if off >= width {
				return nil, errors.New("step outside its bucket")
			}
		}
		b := bucket{idx: idx, count: ps.Count[i],
			first: Point{base + int64(ps.FirstStep[i]), ps.FirstWall[i], ps.FirstValue[i]},
			last:  Point{base + int64(ps.LastStep[i]), ps.LastWall[i], ps.LastValue[i]},
			min:   Point{base + int64(ps.MinStep[i]), ps.MinWall[i], ps.MinValue[i]},
			max:   Point{base + int64(ps.MaxStep[i]), ps.MaxWall[i], ps.MaxValue[i]},
		}
		for _, p := range []Point{b.first, b.last, b.min, b.max} {
			if p.Step < b.first.Step || p.Step > b.last.Step || p.Value-p.Value != 0 {
				return nil, errors.New("bad bucket point")
			}
		}
		s.b[i] = b
	}
	s.nf = make([]nfBucket, len(ps.Nonfinite))
	for i, pe := range ps.Nonfinite {
		if len(pe.Count) != nKinds || len(pe.FirstStep) != nKinds || len(pe.FirstWall) != nKinds ||
			len(pe.LastStep) != nKinds || len(pe.LastWall) != nKinds {
			return nil, errors.New("bad non-finite entry")
		}
		if i > 0 && pe.Idx <= ps.Nonfinite[i-1].Idx {
			return nil, errors.New("non-finite entries out of order")
		}
		e := nfBucket{idx: pe.Idx}
		total := int64(0)
		for k := range nKinds {
			if pe.Count[k] < 0 || pe.FirstStep[k] > pe.LastStep[k] {
				return nil, errors.New("bad non-finite count")
			}
			e.n[k] = pe.Count[k]
			total += e.n[k]
			e.first[k] = Point{Step: pe.FirstStep[k], Wall: pe.FirstWall[k]}
			e.last[k] = Point{Step: pe.LastStep[k], Wall: pe.LastWall[k]}
			if e.n[k] > 0 {
				e.first[k].Value, e.last[k].Value = nfValues[k], nfValues[k]
				if pe.FirstStep[k]>>s.shift != pe.Idx || pe.LastStep[k]>>s.shift != pe.Idx {
					return nil, errors.New("non-finite step outside its bucket")
				}
			}
		}
		if total == 0 {
			return nil, errors.New("empty non-finite entry")
		}
		s.nf[i] = e
	}
	return s, nil
}

// checkRange verifies that every kept step lies in the live range of the
// header (the preemption check relies on it) and that an empty series keeps
// nothing.
func (s *series) checkRange() error {
	var steps []int64
	if s.pts != nil {
		for _, p := range s.pts.points() {
			steps = append(steps, p.Step)
		}
		for _, b := range s.sum.b {
			steps = append(steps, b.first.Step, b.last.Step)
		}
		for _, e := range s.sum.nf {
			for k := range nKinds {
				if e.n[k] > 0 {
					steps = append(steps, e.first[k].Step, e.last[k].Step)
				}
			}
		}
	}
	if s.items != nil {
		for _, it := range s.items.items {
			steps = append(steps, it.Step)
		}
	}
	for _, st := range steps {
		if !s.hasData || st < s.minStep || st > s.maxStep {
			return errors.New("kept step outside the live range")
		}
	}
	return nil
}
