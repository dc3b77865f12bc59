package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"tbhost/client"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// DefaultSweepRuns is the runs of the generated sweep (Config.SweepRuns).
const DefaultSweepRuns = 10_000

// TargetSweepRatio is the most a sweep's upload may take, as a multiple
// of inspecting the same log dir.
const TargetSweepRatio = 5.0

// Sweep is the sweep figure: a hyperparameter sweep of many runs with one
// small event file each, uploaded by the client (batches) to a fresh
// server over a directory store, beside tfevents.Inspect (what tbhost
// inspect reads and computes) on the same log dir; then the board's run
// index and tags beside /healthz.
type Sweep struct {
	Runs  int
	Bytes int64
	// Upload is client.Uploader.Sync's time, from the first request to
	// the last answer (every batch durable: its object and its pending
	// marker); Inspect the faster of an inspect before and one after it.
	Upload, Inspect time.Duration
	// Checkpointed is the time from the first request until every run's
	// checkpoint is written (the batches' pending markers gone), which
	// the server does in the background after answering.
	Checkpointed time.Duration
	Requests     int // upload requests (batches and PUTs)
	Listed       int // runs the board lists after the upload
	// RunsP50, TagsP50 and HealthzP50 are the medians of sweepQueries
	// GETs of /runs, /tags and /healthz (warm) after the upload.
	RunsP50, TagsP50, HealthzP50 time.Duration
}

// Ratio is the upload time over the inspect time.
func (s Sweep) Ratio() float64 { return ratio(float64(s.Upload), float64(s.Inspect)) }

// sweepQueries is how many times each query of the sweep board is timed.
const sweepQueries = 9

// generateSweep writes runs runs of one small event file each (a file
// version and three scalars, as a short trial of a sweep logs) below dir
// and returns their bytes.
func generateSweep(dir string, runs int) (int64, error) {
	var total int64
	for i := range runs {
		run := filepath.Join(dir, fmt.Sprintf("lr=%d", i/100), fmt.Sprintf("seed=%d", i%100))
		if err := os.MkdirAll(run, 0o755); err != nil {
			return 0, err
		}
		f, err := os.Create(filepath.Join(run, "events.out.tfevents.1700000000.host"))
		if err != nil {
			return 0, err
		}
		cw := &countingWriter{w: f}
		w := tfevents.NewWriter(cw)
		err = w.WriteFileVersion(1.7e9)
		for s := range 3 {
			if err == nil {
				err = w.WriteScalar("loss", int64(s), 1.7e9+float64(s), 1/float64(s+1+i%7))
			}
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("write sweep run %d: %w", i, err)
		}
		total += cw.n
	}
	return total, nil
}

// measureSweep generates a sweep of runs runs below tmp and measures it.
func measureSweep(ctx context.Context, tmp string, runs int, logf func(string, ...any)) (*Sweep, error) {
	dir := filepath.Join(tmp, "sweep")
	bytes, err := generateSweep(dir, runs)
	if err != nil {
		return nil, err
	}
	sw := &Sweep{Runs: runs, Bytes: bytes}
	inspect := func() (time.Duration, error) {
		t0 := time.Now()
		rep, err := tfevents.Inspect(dir)
		if err != nil {
			return 0, fmt.Errorf("inspect the sweep: %w", err)
		}
		if len(rep.Files) != runs {
			return 0, fmt.Errorf("inspect found %d files in a sweep of %d", len(rep.Files), runs)
		}
		return time.Since(t0), nil
	}
	if sw.Inspect, err = inspect(); err != nil {
		return nil, err
	}

	st, err := store.NewDir(filepath.Join(tmp, "sweep-store"))
	if err != nil {
		return nil, err
	}
	h, err := newHarness(st)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	counted := &countingTransport{rt: h.client.Transport}
	c := client.New(h.base, client.WithHTTPClient(&http.Client{Transport: counted}))
	b, err := c.CreateBoard(ctx, client.NewBoard{Name: "sweep"})
	if err != nil {
		return nil, err
	}
	counted.n.Store(0)
	u := &client.Uploader{Client: c, Board: b.ID, Token: b.Token, Dir: dir}
	t0 := time.Now()
	if _, err := u.Sync(ctx); err != nil {
		return nil, fmt.Errorf("upload the sweep: %w", err)
	}
	sw.Upload = time.Since(t0)
	sw.Requests = int(counted.n.Load()) - 1 // less the GET of the board's files
	if err := h.srv.Load().Engine().SettleBoard(ctx, b.ID); err != nil {
		return nil, fmt.Errorf("write the sweep's checkpoints: %w", err)
	}
	sw.Checkpointed = time.Since(t0)
	again, err := inspect()
	if err != nil {
		return nil, err
	}
	sw.Inspect = min(sw.Inspect, again)
	logf("sweep of %d runs (%s): upload %v in %d requests (checkpoints all written after %v), inspect %v: %.1f×", runs, mb(bytes), sw.Upload.Round(time.Millisecond), sw.Requests, sw.Checkpointed.Round(time.Millisecond), sw.Inspect.Round(time.Millisecond), sw.Ratio())

	median := func(path string) (time.Duration, []byte, error) {
		var ds []time.Duration
		var body []byte
		for range sweepQueries {
			t := time.Now()
			data, err := h.do(ctx, http.MethodGet, path, "", "", nil, http.StatusOK)
			if err != nil {
				return 0, nil, err
			}
			ds = append(ds, time.Since(t))
			body = data
		}
		slices.Sort(ds)
		return ds[len(ds)/2], body, nil
	}
	var board []byte
	if sw.RunsP50, board, err = median("/api/boards/" + b.ID); err == nil {
		var info struct{ Runs int }
		if err = json.Unmarshal(board, &info); err == nil {
			sw.Listed = info.Runs
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sweep board: %w", err)
	}
	if sw.RunsP50, _, err = median("/api/boards/" + b.ID + "/runs"); err != nil {
		return nil, fmt.Errorf("sweep runs: %w", err)
	}
	if sw.TagsP50, _, err = median("/api/boards/" + b.ID + "/tags"); err != nil {
		return nil, fmt.Errorf("sweep tags: %w", err)
	}
	if sw.HealthzP50, _, err = median("/healthz"); err != nil {
		return nil, fmt.Errorf("healthz: %w", err)
	}
	logf("sweep board: %d runs listed; /runs p50 %s, /tags p50 %s, /healthz p50 %s", sw.Listed, ms(sw.RunsP50), ms(sw.TagsP50), ms(sw.HealthzP50))
	return sw, nil
}

// countingTransport counts requests.
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}
