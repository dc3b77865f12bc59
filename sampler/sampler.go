// Package sampler keeps a bounded, resumable digest of every series of a run.
//
// Each (run, tag) series gets a keep-last uniform reservoir that follows
// TensorBoard's algorithm exactly (seeded per series from an FNV-1a hash of
// the tag, so results are reproducible and independent of other tags). Scalar
// series also get an M4 multi-resolution summary over steps (per bucket the
// first, last, min and max points, the count, and the NaN/+Inf/-Inf counts
// with their first and last steps; at most Config.MaxBuckets non-empty
// buckets, default 4096; when full, adjacent buckets merge and the width
// doubles). The summary answers range/width queries with the points an M4
// renderer needs, so a single spike or NaN is never sampled away, and gives
// exact per-series stats.
//
// Preemption: a value at step s drops the series' kept values with step >= s
// (so a series never holds two values at one step and its kept values are in
// strictly increasing step order); Start(s) (SessionLog START) does the same
// for every series of the run.
//
// Exactness: the stats and summaries are exact aggregates of the live values
// except after a preemption step that falls strictly inside a summary bucket
// (possible only once the bucket width exceeds 1, i.e. after more than
// MaxBuckets distinct steps): that one bucket keeps its first point exactly,
// its min/max exactly when they lie before the preemption step, and otherwise
// the best of the points it still knows (its retained extreme points and the
// reservoir's raw points); its counts are prorated over steps and clamped to
// what is known. Every other bucket stays exact.
//
// The whole state marshals to protobuf (see samplerpb) and resumes exactly:
// ingesting a stream in chunks with a save/restore between chunks gives
// byte-identical state to a single pass.
//
// A Run is not safe for concurrent use; the caller locks.
package sampler

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxBuckets bounds the summary of a scalar series.
const DefaultMaxBuckets = 4096

// PluginScalars is the plugin of series fed by AddScalar unless SetPlugin
// named another one first.
const PluginScalars = "scalars"

// Config configures a Run.
type Config struct {
	// Samples maps a plugin name to its reservoir size; a missing plugin
	// gets DefaultSamples(plugin); 0 keeps every value.
	Samples map[string]int
	// MaxBuckets bounds the number of non-empty summary buckets of a scalar
	// series; 0 means DefaultMaxBuckets.
	MaxBuckets int
}

func (c Config) samples(plugin string) int {
	if k, ok := c.Samples[plugin]; ok && k >= 0 {
		return k
	}
	return DefaultSamples(plugin)
}

func (c Config) maxBuckets() int {
	if c.MaxBuckets > 0 {
		// At least 2: a negative and a non-negative step never share a
		// bucket however wide (one bucket would double forever).
		return max(c.MaxBuckets, 2)
	}
	return DefaultMaxBuckets
}

// DefaultSamples is TensorBoard 2.x's default reservoir size for a plugin.
func DefaultSamples(plugin string) int {
	switch plugin {
	case "scalars":
		return 1000
	case "histograms":
		return 500
	case "images", "audio":
		return 10
	case "pr_curves":
		return 100
	}
	return 10
}

// ParseSamples parses a TensorBoard --samples_per_plugin value such as
// "scalars=500,images=20" (0 keeps all). Empty input gives an empty map.
func ParseSamples(s string) (map[string]int, error) {
	m := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" {
			return nil, fmt.Errorf("sampler: samples %q: want plugin=count", part)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sampler: samples %q: count must be an integer >= 0", part)
		}
		m[name] = n
	}
	return m, nil
}

// Point is one scalar value.
type Point struct {
	Step  int64
	Wall  float64
	Value float64
}

// Item is one non-scalar value: opaque caller-encoded bytes.
type Item struct {
	Step    int64
	Wall    float64
	Payload []byte
}

// Stats are exact aggregates of a scalar series' live values (see the
// package comment for the one case where they are estimates). Min, Max,
// First, Last, FirstStep and LastStep are over finite values and are zero
// when Count is 0; non-finite values are counted apart.
type Stats struct {
	Count                          int64 // finite values
	NonFinite, NaN, PosInf, NegInf int64
	Min, Max, First, Last          float64
	FirstStep, LastStep            int64 // steps of First and Last
}

// TagInfo describes one series.
type TagInfo struct {
	Tag, Plugin string
	// Count is the number of values added in total (preemption does not
	// decrease it).
	Count int64
	// Kept is the number of values in the reservoir(s).
	Kept int
	// MinStep, MaxStep, FirstWall, LastWall describe the live values
	// (including non-finite ones): MinStep/FirstWall are exact; after a
	// Start that removed the tail, MaxStep/LastWall are those of the latest
	// value still known. All zero when the series holds no value.
	MinStep, MaxStep    int64
	FirstWall, LastWall float64
	// Stats is set for scalar series only.
	Stats *Stats
}

type series struct {
	tag, plugin string
	added       int64
	hasData     bool
	minStep     int64
	maxStep     int64
	firstWall   float64
	lastWall    float64
	pts         *pointRes // scalar reservoir (nil until AddScalar)
	items       *itemRes  // item reservoir (nil until AddItem)
	sum         *summary  // scalar summary (nil until AddScalar)
	next        *series   // the series looked up after this one last time (a cache)
}

// Run holds every series of one run. The zero Run is usable (default
// Config). Not safe for concurrent use.
type Run struct {
	cfg    Config
	series map[string]*series
	last   *series // the series of the last lookup
}

// NewRun returns an empty Run. cfg.Samples is copied.
func NewRun(cfg Config) *Run {
	c := Config{MaxBuckets: cfg.MaxBuckets}
	if len(cfg.Samples) > 0 {
		c.Samples = make(map[string]int, len(cfg.Samples))
		for k, v := range cfg.Samples {
			c.Samples[k] = v
		}
	}
	return &Run{cfg: c, series: map[string]*series{}}
}

// lookup finds the series of tag, creating it when create is set. Tags
// usually arrive in a fixed cycle (every event carries the same tags in the
// same order), so each series remembers which series came after it last
// time: in steady state the lookup is one or two string compares.
func (r *Run) lookup(tag string, create bool) *series {
	if l := r.last; l != nil {
		if n := l.next; n != nil && n.tag == tag {
			r.last = n
			return n
		}
		if l.tag == tag {
			return l
		}
	}
	s := r.series[tag]
	if s == nil {
		if !create {
			return nil
		}
		if r.series == nil {
			r.series = map[string]*series{}
		}
		s = &series{tag: strings.Clone(tag)}
		r.series[s.tag] = s
	}
	r.follow(s)
	return s
}

func (r *Run) follow(s *series) {
	if r.last != nil {
		r.last.next = s
	}
	r.last = s
}

// lookupBytes is lookup for a tag held in a reused buffer; it allocates only
// when it creates a series.
func (r *Run) lookupBytes(tag []byte) *series {
	if l := r.last; l != nil {
		if n := l.next; n != nil && n.tag == string(tag) {
			r.last = n
			return n
		}
		if l.tag == string(tag) {
			return l
		}
	}
	if s := r.series[string(tag)]; s != nil {
		r.follow(s)
		return s
	}
	return r.lookup(string(tag), true)
}

// SetPlugin records the plugin of tag; the first plugin set for a tag wins.
func (r *Run) SetPlugin(tag, plugin string) {
	s := r.lookup(tag, true)
	if s.plugin == "" {
		s.plugin = plugin
	}
}

// AddScalar adds a scalar value. It allocates nothing in steady state.
func (r *Run) AddScalar(tag string, step int64, wall, v float64) {
	r.addScalar(r.lookup(tag, true), step, wall, v)
}

// AddScalarBytes is AddScalar for a tag held in a reused buffer (a decoder's):
// it does not retain tag and allocates nothing in steady state.
func (r *Run) AddScalarBytes(tag []byte, step int64, wall, v float64) {
	r.addScalar(r.lookupBytes(tag), step, wall, v)
}

func (r *Run) addScalar(s *series, step int64, wall, v float64) {
	if s.pts == nil {
		s.initScalar(r.cfg)
	}
	if s.hasData && step <= s.maxStep {
		s.preempt(step)
	}
	s.note(step, wall)
	p := Point{Step: step, Wall: wall, Value: v}
	s.pts.add(p)
	s.sum.add(p)
}

func (s *series) initScalar(cfg Config) {
	if s.plugin == "" {
		s.plugin = PluginScalars
	}
	s.pts = &pointRes{res: newResState(cfg.samples(s.plugin), s.tag)}
	s.sum = newSummary(cfg.maxBuckets())
}

// AddItem adds a non-scalar value of a plugin (the first plugin given for a
// tag wins). The Run copies payload only if it keeps the item, reusing the
// buffer of the item it evicts.
func (r *Run) AddItem(tag, plugin string, step int64, wall float64, payload []byte) {
	s := r.lookup(tag, true)
	if s.plugin == "" {
		s.plugin = plugin
	}
	if s.items == nil {
		s.items = &itemRes{res: newResState(r.cfg.samples(s.plugin), s.tag)}
	}
	if s.hasData && step <= s.maxStep {
		s.preempt(step)
	}
	s.note(step, wall)
	s.items.add(step, wall, payload)
}

func (s *series) note(step int64, wall float64) {
	s.added++
	if !s.hasData {
		s.hasData = true
		s.minStep, s.firstWall = step, wall
	}
	s.maxStep, s.lastWall = step, wall
}

// Settle closes the holes evictions left in the scalar reservoirs (see
// pointRes): call it when done adding, before the Run is shared with
// readers, who would otherwise each read copies of the reservoirs with
// holes. Reads never change a Run, settled or not.
func (r *Run) Settle() {
	for _, s := range r.series {
		if s.pts != nil {
			s.pts.settle()
		}
	}
}

// Start applies a SessionLog START at step: every series drops its kept
// values with step >= step.
func (r *Run) Start(step int64) {
	for _, s := range r.series {
		if s.hasData && step <= s.maxStep {
			s.preempt(step)
		}
	}
}

// preempt drops every kept value with step >= st and recomputes the live
// range from what remains.
func (s *series) preempt(st int64) {
	if st <= s.minStep {
		if s.pts != nil {
			s.pts.truncate(st)
			s.sum.reset()
		}
		if s.items != nil {
			s.items.truncate(st)
		}
		s.hasData, s.minStep, s.maxStep, s.firstWall, s.lastWall = false, 0, 0, 0, 0
		return
	}
	var lastKnown Point
	found := false
	consider := func(step int64, wall float64) {
		if step < st && (!found || step > lastKnown.Step) {
			lastKnown, found = Point{Step: step, Wall: wall}, true
		}
	}
	if s.pts != nil {
		s.pts.settle()
		s.sum.preempt(st, s.pts.buf)
		s.pts.truncate(st)
		if p, ok := s.sum.lastPoint(); ok {
			consider(p.Step, p.Wall)
		}
		if n := len(s.pts.buf); n > 0 {
			consider(s.pts.buf[n-1].Step, s.pts.buf[n-1].Wall)
		}
	}
	if s.items != nil {
		s.items.truncate(st)
		if n := len(s.items.items); n > 0 {
			consider(s.items.items[n-1].Step, s.items.items[n-1].Wall)
		}
	}
	// The first value (step minStep < st) is live, so something is known.
	consider(s.minStep, s.firstWall)
	s.maxStep, s.lastWall = lastKnown.Step, lastKnown.Wall
}

// Tags describes every series, sorted by tag.
func (r *Run) Tags() []TagInfo {
	out := make([]TagInfo, 0, len(r.series))
	for _, s := range r.series {
		ti := TagInfo{Tag: s.tag, Plugin: s.plugin, Count: s.added}
		if s.hasData {
			ti.MinStep, ti.MaxStep, ti.FirstWall, ti.LastWall = s.minStep, s.maxStep, s.firstWall, s.lastWall
		}
		if s.pts != nil {
			ti.Kept += s.pts.len()
			st := s.sum.stats()
			ti.Stats = &st
		}
		if s.items != nil {
			ti.Kept += len(s.items.items)
		}
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b TagInfo) int { return strings.Compare(a.Tag, b.Tag) })
	return out
}

// Scalars returns a copy of the scalar reservoir of tag, in step order (nil
// when tag has no scalar values).
func (r *Run) Scalars(tag string) []Point {
	s := r.series[tag]
	if s == nil || s.pts == nil {
		return nil
	}
	return slices.Clone(s.pts.points())
}

// Items returns a copy of the item reservoir of tag, in step order (nil when
// tag has no items). Payloads are copies too (nil when empty).
func (r *Run) Items(tag string) []Item {
	s := r.series[tag]
	if s == nil || s.items == nil {
		return nil
	}
	out := make([]Item, len(s.items.items))
	for i, it := range s.items.items {
		out[i] = Item{Step: it.Step, Wall: it.Wall}
		if len(it.Payload) > 0 {
			out[i].Payload = slices.Clone(it.Payload)
		}
	}
	return out
}

// SizeBytes approximates the memory the Run holds.
func (r *Run) SizeBytes() int {
	const seriesOverhead = 200 // struct, map entry, reservoir headers
	n := 64
	for _, s := range r.series {
		n += seriesOverhead + 2*len(s.tag) + len(s.plugin)
		if s.pts != nil {
			n += cap(s.pts.buf)*pointSize + cap(s.pts.holes)*4 + s.sum.sizeBytes()
		}
		if s.items != nil {
			n += cap(s.items.items) * itemSize
			for _, it := range s.items.items {
				n += cap(it.Payload)
			}
		}
	}
	return n
}

const (
	pointSize = 24
	itemSize  = 40
)

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
