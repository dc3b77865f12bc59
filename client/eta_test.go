package client

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// simUpload describes a simulated upload: runs of files, sent the way an
// Uploader sends them (parallel runs, a run's files one request at a time,
// chunks of at most chunk bytes), each request taking
// perRequest + bytes/bandwidth, give or take jitter.
type simUpload struct {
	runs       [][]int64 // file sizes, per run
	perRequest time.Duration
	bandwidth  float64 // bytes per second of one request
	chunk      int64
	parallel   int
	jitter     float64 // each request takes (1 ± jitter) of its cost
	seed       uint64
}

// simEvent is one request that ended, and the progress after it.
type simEvent struct {
	at    time.Duration // since the start
	took  time.Duration // the request's time
	n     int64         // its bytes
	files int
	bytes int64
}

// run plays the upload and returns the progress after every request and
// the totals.
func (s simUpload) run() (events []simEvent, files int, bytes int64) {
	rng := rand.New(rand.NewPCG(s.seed, 1))
	for _, r := range s.runs {
		files += len(r)
		for _, n := range r {
			bytes += n
		}
	}
	type worker struct {
		run, file int   // the run it sends (-1: idle), and the file
		off       int64 // the next byte of that file
		free      time.Duration
	}
	ws := make([]worker, s.parallel)
	next := 0 // the next run to hand out
	for i := range ws {
		ws[i].run = -1
	}
	var done simEvent
	for {
		// The worker whose request ends first goes on (an idle one takes
		// the next run).
		i := -1
		for j := range ws {
			if ws[j].run < 0 && next < len(s.runs) {
				ws[j] = worker{run: next, free: ws[j].free}
				next++
			}
			if ws[j].run >= 0 && (i < 0 || ws[j].free < ws[i].free) {
				i = j
			}
		}
		if i < 0 {
			return events, files, bytes
		}
		w := &ws[i]
		size := s.runs[w.run][w.file]
		n := min(s.chunk, size-w.off)
		cost := float64(s.perRequest) + float64(n)/s.bandwidth*float64(time.Second)
		done.took = time.Duration(cost * (1 + s.jitter*(2*rng.Float64()-1)))
		done.n = n
		w.free += done.took
		w.off += n
		done.bytes += n
		if w.off == size {
			done.files++
			w.file, w.off = w.file+1, 0
			if w.file == len(s.runs[w.run]) {
				w.run = -1
			}
		}
		done.at = max(done.at, w.free)
		events = append(events, done)
	}
}

// sizes returns n sizes drawn uniformly from [lo, hi].
func sizes(rng *rand.Rand, n int, lo, hi int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = lo + rng.Int64N(hi-lo+1)
	}
	return out
}

// bytesOnlyETA is the estimate Progress had before the Estimator: the
// bytes left at the pass's average byte rate.
func bytesOnlyETA(elapsed time.Duration, done, total int64) time.Duration {
	if done <= 0 || elapsed <= 0 {
		return -1
	}
	rate := float64(done) / elapsed.Seconds()
	return time.Duration(float64(total-done) / rate * float64(time.Second))
}

func TestEstimatorOnSimulatedUploads(t *testing.T) {
	const tolerance = 0.25
	rng := rand.New(rand.NewPCG(7, 7))
	tiny := func(runs, files int) [][]int64 {
		var out [][]int64
		for range runs {
			out = append(out, sizes(rng, files, 1<<10, 4<<10))
		}
		return out
	}
	// A sweep's small runs, after a few big ones (names sort them first):
	// the upload of issue #12, which said "ETA 30s" with minutes to go.
	bigFirst := append([][]int64{{6 << 20}, {6 << 20}, {6 << 20}}, tiny(219, 30)...)
	// Runs of either kind, in no particular order.
	var mix [][]int64
	for range 60 {
		if rng.IntN(3) == 0 {
			mix = append(mix, sizes(rng, 1, 50<<20, 500<<20))
		} else {
			mix = append(mix, sizes(rng, 20+rng.IntN(180), 1<<10, 64<<10))
		}
	}
	tests := []struct {
		name string
		sim  simUpload
		// at are the points, in fractions of the true total time, where
		// the estimate is checked.
		at []float64
		// bytesOnlyOK says whether the bytes-only estimate passes the
		// same checks (documenting where it fails).
		bytesOnlyOK bool
	}{
		{
			name: "6573 tiny files, per-file cost dominates",
			sim:  simUpload{runs: tiny(219, 30), perRequest: 20 * time.Millisecond, bandwidth: 20e6, chunk: 8 << 20, parallel: 4, jitter: 0.3},
			at:   []float64{0.05, 0.25, 0.5, 0.75},
			// Every file costs about the same and holds about as many
			// bytes: bytes measure the work too.
			bytesOnlyOK: true,
		},
		{
			name:        "6573 small files after three big ones",
			sim:         simUpload{runs: bigFirst, perRequest: 20 * time.Millisecond, bandwidth: 20e6, chunk: 8 << 20, parallel: 4, jitter: 0.3},
			at:          []float64{0.05, 0.25, 0.5, 0.75},
			bytesOnlyOK: false,
		},
		{
			name:        "one 10 GiB file, bytes dominate",
			sim:         simUpload{runs: [][]int64{{10 << 30}}, perRequest: 30 * time.Millisecond, bandwidth: 100e6, chunk: 8 << 20, parallel: 4, jitter: 0.3},
			at:          []float64{0.05, 0.25, 0.5, 0.75},
			bytesOnlyOK: true,
		},
		{
			name:        "one 10 GiB file, serial",
			sim:         simUpload{runs: [][]int64{{10 << 30}}, perRequest: 30 * time.Millisecond, bandwidth: 100e6, chunk: 8 << 20, parallel: 1, jitter: 0},
			at:          []float64{0.05, 0.5},
			bytesOnlyOK: true,
		},
		{
			name:        "a mix of big runs and runs of small files",
			sim:         simUpload{runs: mix, perRequest: 20 * time.Millisecond, bandwidth: 50e6, chunk: 8 << 20, parallel: 4, jitter: 0.3},
			at:          []float64{0.05, 0.25, 0.5},
			bytesOnlyOK: false,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sim.seed = uint64(i)
			events, files, bytes := tt.sim.run()
			total := events[len(events)-1].at
			clock := newFakeClock()
			start := clock.Now()
			e := NewEstimator(files, bytes, tt.sim.chunk, clock.Now)
			if got := e.Remaining(); got != -1 {
				t.Errorf("Remaining before any progress = %v, want -1", got)
			}
			at := tt.at
			bytesOnlyFailed := false
			for _, ev := range events {
				clock.Advance(ev.at - clock.Now().Sub(start))
				e.Request(ev.took, ev.n)
				e.Progress(ev.files, ev.bytes)
				if len(at) == 0 || ev.at < time.Duration(at[0]*float64(total)) {
					continue
				}
				at = at[1:]
				want := total - ev.at
				got := e.Remaining()
				if !within(got, want, tolerance) {
					pr, pm, par := e.Costs()
					t.Errorf("at %.0f%% of %s (%d/%d files, %s/%s): Remaining = %s, want %s ± %.0f%% (fit: %s per request, %s per MiB, %.1f at once)",
						100*float64(ev.at)/float64(total), FormatDuration(total), ev.files, files, FormatBytes(ev.bytes), FormatBytes(bytes),
						FormatDuration(got), FormatDuration(want), 100*tolerance, pr, pm, par)
				}
				old := bytesOnlyETA(ev.at, ev.bytes, bytes)
				if !within(old, want, tolerance) {
					bytesOnlyFailed = true
					t.Logf("at %.0f%%: bytes-only ETA %s, want %s (this estimator: %s)",
						100*float64(ev.at)/float64(total), FormatDuration(old), FormatDuration(want), FormatDuration(got))
				}
			}
			if len(at) > 0 {
				t.Fatalf("the simulation ended before %v", at)
			}
			if bytesOnlyFailed == tt.bytesOnlyOK {
				t.Errorf("the bytes-only estimate failed: %v, want %v", bytesOnlyFailed, !tt.bytesOnlyOK)
			}
		})
	}
}

func within(got, want time.Duration, tol float64) bool {
	return got >= 0 && math.Abs(float64(got-want)) <= tol*float64(want)
}

func TestEstimatorCosts(t *testing.T) {
	// Serial requests without jitter: the fit finds the costs themselves.
	tests := []struct {
		name       string
		runs       [][]int64
		perRequest time.Duration
		perMiB     time.Duration
	}{
		{"small and big files", [][]int64{{1 << 10, 30 << 20, 2 << 10, 3 << 10, 40 << 20, 1 << 10}}, 25 * time.Millisecond, 10 * time.Millisecond},
		// Full chunks only (but the last): a chunk's round trip counts
		// per byte until a request of another size shows it.
		{"one file of full chunks", [][]int64{{1 << 30}}, 0, 10*time.Millisecond + 25*time.Millisecond/8},
		{"one file and its last short chunk", [][]int64{{1<<30 + 1<<20}}, 25 * time.Millisecond, 10 * time.Millisecond},
		{"small files of one size", [][]int64{{4 << 10, 4 << 10, 4 << 10}}, 25*time.Millisecond + 10*time.Millisecond/256, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := simUpload{runs: tt.runs, perRequest: 25 * time.Millisecond, bandwidth: 1 << 20 / 0.01, chunk: 8 << 20, parallel: 1}
			events, files, bytes := sim.run()
			clock := newFakeClock()
			start := clock.Now()
			e := NewEstimator(files, bytes, sim.chunk, clock.Now)
			for _, ev := range events {
				clock.Advance(ev.at - clock.Now().Sub(start))
				e.Request(ev.took, ev.n)
				e.Progress(ev.files, ev.bytes)
			}
			pr, pm, par := e.Costs()
			if !near(pr, tt.perRequest) || !near(pm, tt.perMiB) {
				t.Errorf("Costs = %s per request, %s per MiB; want %s, %s", pr, pm, tt.perRequest, tt.perMiB)
			}
			if math.Abs(par-1) > 1e-6 {
				t.Errorf("parallel = %v, want 1", par)
			}
			if got := e.Remaining(); got != 0 {
				t.Errorf("Remaining at the end = %s, want 0", got)
			}
		})
	}
}

// near reports whether a and b differ by at most 10µs.
func near(a, b time.Duration) bool { return (a - b).Abs() <= 10*time.Microsecond }

func TestEstimatorEdges(t *testing.T) {
	type step struct {
		d     time.Duration // the clock moves on
		reqs  int           // requests that ended (1 when 0),
		took  time.Duration // each taking this (none when 0)
		n     int64         // and carrying these bytes
		files int           // the progress after them
		bytes int64
	}
	tests := []struct {
		name  string
		steps []step
		idle  time.Duration // the clock moves on after the last step
		want  time.Duration
	}{
		{name: "nothing observed", want: -1},
		{name: "a request in no time", steps: []step{{d: time.Second, took: 0, n: 10, files: 1, bytes: 10}}, want: -1},
		{name: "progress in no time", steps: []step{{d: 0, took: time.Second, n: 10, files: 1, bytes: 10}}, want: -1},
		// 100 files of 20 bytes, one request each: 1 s a request.
		{name: "half the files in 50s", steps: []step{{d: 50 * time.Second, reqs: 50, took: time.Second, n: 20, files: 50, bytes: 1000}}, want: 50 * time.Second},
		{name: "two at once: twice the pace", steps: []step{{d: 25 * time.Second, reqs: 50, took: time.Second, n: 20, files: 50, bytes: 1000}}, want: 25 * time.Second},
		{name: "idle time counts as done", steps: []step{{d: 50 * time.Second, reqs: 50, took: time.Second, n: 20, files: 50, bytes: 1000}}, idle: 4 * time.Second, want: 46 * time.Second},
		{name: "overdue: zero, not negative", steps: []step{{d: 50 * time.Second, reqs: 50, took: time.Second, n: 20, files: 50, bytes: 1000}}, idle: time.Hour, want: 0},
		{name: "a clock going back adds no time", steps: []step{
			{d: 50 * time.Second, reqs: 50, took: time.Second, n: 20, files: 50, bytes: 1000},
			{d: -10 * time.Second, files: 50, bytes: 1000},
		}, want: 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			e := NewEstimator(100, 2000, 1<<20, clock.Now)
			for _, s := range tt.steps {
				clock.Advance(s.d)
				for range max(s.reqs, 1) {
					if s.took != 0 || s.n != 0 {
						e.Request(s.took, s.n)
					}
				}
				e.Progress(s.files, s.bytes)
			}
			clock.Advance(tt.idle)
			// (The bytes left add 1000/1Mi of a request: under 1 ms.)
			if got := e.Remaining(); (tt.want < 0) != (got < 0) || (got-tt.want).Abs() > time.Millisecond {
				t.Errorf("Remaining = %v, want %v", got, tt.want)
			}
		})
	}
}
