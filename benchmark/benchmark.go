// Package benchmark is the tbhost benchmark suite (tbhost bench).
//
// It generates a week-long training run with tfevents.Writer (scalar tags
// logged every step, a histogram per tag every 100 steps and a small PNG
// every 5000 steps, one event file per day), starts an in-process tbhost
// server on a loopback port over a local directory store (or a memory
// store), and measures each figure beside a baseline taken in the same run,
// so that the ratios hold on a noisy, shared machine:
//
//   - ingest throughput (8 MiB PUT requests until the digest is written)
//     against reading and CRC-checking the same files with tfevents.Reader;
//   - peak heap and RSS while ingesting size/4 and size bytes, which must
//     not grow with the size of the input;
//   - the time from the end of an upload to the first scalar query
//     answered, against a warm query;
//   - scalar query latency (p50, p99) at 1, 16 and 64 concurrent clients,
//     warm and cold (a fresh server on the same store), against GET
//     /healthz at the same concurrency;
//   - the digest size against the raw size.
//
// Run returns a Report; Report.Markdown renders it as docs/benchmarks.md.
package benchmark

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/engine"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// Config sets what Run measures. Zero fields take the defaults.
type Config struct {
	// Size is the raw bytes of the generated run (default 1 GB).
	Size int64
	// Tags is the number of scalar tags (default 50); there are as many
	// histogram tags and one image tag.
	Tags int
	// Store is "dir" (a DirStore in a temporary directory, the default) or
	// "mem" (a MemStore: the raw bytes then stay in memory).
	Store string
	// Requests is the number of scalar queries sent per (warm,
	// concurrency) row (default 2000).
	Requests int
	// ColdSamples is the least number of cold queries per concurrency
	// (default 64), each on a fresh server.
	ColdSamples int
	// Chunk is the bytes per upload request (default 8 MiB).
	Chunk int
	// RowTimeout bounds each latency row: no request starts after it
	// (default 60 s); the row reports how many were answered.
	RowTimeout time.Duration
	// MemBudget bounds the memory the concurrent cold rows may need
	// (estimated from the 1-client row); rows over it are not run (default:
	// a third of MemAvailable, at most 4 GiB).
	MemBudget uint64
	// TempDir is where the generated files and the store go (default
	// os.TempDir()); Run removes what it creates.
	TempDir string
	// SweepRuns is the runs of the generated sweep whose upload is
	// measured against inspecting it (default DefaultSweepRuns; < 0: none).
	SweepRuns int
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Defaults.
const (
	DefaultSize        = 1_000_000_000
	DefaultTags        = 50
	DefaultRequests    = 2000
	DefaultColdSamples = 64
	DefaultChunk       = 8 << 20
)

// Cache TTLs: what tbhost serve gives a server alone on its store (no
// expiry), and what servers sharing a bucket use (hosting's default).
const (
	serveTTL  = -1
	sharedTTL = 2 * time.Second
)

// Concurrency is the number of concurrent clients of the latency rows.
var Concurrency = []int{1, 16, 64}

func (c *Config) setDefaults() error {
	if c.Size <= 0 {
		c.Size = DefaultSize
	}
	if c.Tags <= 0 {
		c.Tags = DefaultTags
	}
	if c.Store == "" {
		c.Store = "dir"
	}
	if c.Store != "dir" && c.Store != "mem" {
		return fmt.Errorf("benchmark: store %q: give dir or mem", c.Store)
	}
	if c.Requests <= 0 {
		c.Requests = DefaultRequests
	}
	if c.ColdSamples <= 0 {
		c.ColdSamples = DefaultColdSamples
	}
	if c.Chunk <= 0 {
		c.Chunk = DefaultChunk
	}
	if c.RowTimeout <= 0 {
		c.RowTimeout = time.Minute
	}
	if c.MemBudget == 0 {
		c.MemBudget = min(4<<30, statusFieldOf("/proc/meminfo", "MemAvailable:")/3)
		if c.MemBudget == 0 {
			c.MemBudget = 1 << 30
		}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.SweepRuns == 0 {
		c.SweepRuns = DefaultSweepRuns
	}
	return nil
}

// ParseSize parses a byte size such as 1GB, 200MB, 5MB, 512KiB or 1000000.
// KB, MB and GB are powers of 1000; KiB, MiB and GiB powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
	}
	mult := 1.0
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || math.IsInf(f, 0) || f*mult > 1<<50 {
		return 0, fmt.Errorf("size %q: give a positive size such as 1GB, 200MB or 5MB", s)
	}
	return int64(f * mult), nil
}

// Run generates the run, measures everything and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := &Report{Machine: thisMachine(), Config: cfg}
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "bench: "+format+"\n", args...)
	}
	tmp, err := os.MkdirTemp(cfg.TempDir, "tbhost-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	logf("generating a week-long run of %s (%d scalar tags) in %s", mb(cfg.Size), cfg.Tags, tmp)
	t0 := time.Now()
	gen, err := generate(filepath.Join(tmp, "logs"), cfg.Size, cfg.Tags)
	if err != nil {
		return nil, err
	}
	r.Gen = gen.summary()
	logf("generated %s in %d files (%d steps) in %v", mb(gen.Bytes), len(gen.Files), gen.Steps, time.Since(t0).Round(time.Millisecond))

	var st store.Store
	if cfg.Store == "mem" {
		st = store.NewMem()
	} else {
		ds, err := store.NewDir(filepath.Join(tmp, "store"))
		if err != nil {
			return nil, err
		}
		st = ds
	}
	h, err := newHarness(st)
	if err != nil {
		return nil, err
	}
	defer h.Close()

	// Baseline: read + CRC-check the files. Measured before and after the
	// ingest; the faster run is the baseline (the stricter comparison).
	read1, err := readCRC(gen.Files)
	if err != nil {
		return nil, err
	}
	logf("read + CRC: %s", read1)

	// Memory at size/4 (a prefix of the run), then ingest of the whole run.
	small := gen.Bytes / 4
	sb, err := h.createBoard(ctx, "bench quarter")
	if err != nil {
		return nil, err
	}
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	m := startMem()
	sent, err := h.upload(ctx, sb, gen.Files, cfg.Chunk, small)
	if err == nil {
		err = h.flush()
	}
	peak := m.Stop()
	if err != nil {
		return nil, fmt.Errorf("upload size/4: %w", err)
	}
	sd, err := sumObjects(ctx, st, "boards/"+sb.ID+"/digest/")
	if err != nil {
		return nil, err
	}
	r.Memory = append(r.Memory, MemoryPhase{Input: sent, Digest: sd, Peak: peak})
	logf("ingested %s: peak heap %s, peak RSS %s; digest %s", mb(sent), mib(peak.HeapInuse), mib(peak.RSS), mb(sd))

	fb, err := h.createBoard(ctx, "bench full")
	if err != nil {
		return nil, err
	}
	// A fresh server, so that the cache does not still hold the first
	// board's digest: each phase starts like a new process.
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	m = startMem()
	start := time.Now()
	sent, err = h.upload(ctx, fb, gen.Files, cfg.Chunk, gen.Bytes)
	uploaded := time.Now()
	if err != nil {
		peak = m.Stop()
		return nil, fmt.Errorf("upload: %w", err)
	}
	// The first scalar query, right after the last upload answer.
	count, err := h.scalarCount(ctx, fb.ID, gen.ScalarTags[0])
	r.FirstQuery = time.Since(uploaded)
	if err == nil {
		err = h.flush() // ingest ends when the checkpoint is written
	}
	end := time.Now()
	peak = m.Stop()
	if err != nil {
		return nil, fmt.Errorf("first query: %w", err)
	}
	r.FirstQueryCount = count
	r.Ingest = Throughput{Bytes: sent, Duration: end.Sub(start) - r.FirstQuery} // the query is not ingest
	fd, err := sumObjects(ctx, st, "boards/"+fb.ID+"/digest/")
	if err != nil {
		return nil, err
	}
	r.Memory = append(r.Memory, MemoryPhase{Input: sent, Digest: fd, Peak: peak})
	r.MaxRSS = maxRSS()
	logf("ingested %s: %s; peak heap %s, peak RSS %s; first query %v (count %d)", mb(sent), r.Ingest, mib(peak.HeapInuse), mib(peak.RSS), r.FirstQuery, count)

	read2, err := readCRC(gen.Files)
	if err != nil {
		return nil, err
	}
	logf("read + CRC: %s", read2)
	r.ReadCRC = read1
	if read2.MBps() > read1.MBps() {
		r.ReadCRC = read2
	}

	if r.InProcess, r.InProcessBase, err = measureInProcess(ctx, gen.Files, cfg.Chunk); err != nil {
		return nil, err
	}
	logf("ingest in process: %s (median of %d; read + CRC beside it: %s)", r.InProcess, inspectRounds, r.InProcessBase)
	if r.Inspect, r.InspectBase, err = measureInspect(filepath.Join(tmp, "logs"), gen.Files); err != nil {
		return nil, err
	}
	logf("inspect: %s (median of %d; read + CRC beside it: %s)", r.Inspect, inspectRounds, r.InspectBase)
	if r.Wire, err = measureWire(ctx, filepath.Join(tmp, "logs"), gen.Bytes); err != nil {
		return nil, fmt.Errorf("wire bytes: %w", err)
	}
	logf("upload on the wire (%s): %s of %s raw in %d requests", r.Wire.Encoding, mb(r.Wire.Wire), mb(r.Wire.Raw), r.Wire.Requests)
	if r.StoreWrite, err = storeWrite(ctx, st, gen.Files, cfg.Chunk); err != nil {
		return nil, err
	}
	logf("store write: %s", r.StoreWrite)

	// Digest size against raw size.
	if r.DigestBytes, err = sumObjects(ctx, st, "boards/"+fb.ID+"/digest/"); err != nil {
		return nil, err
	}
	if r.BlobBytes, err = sumObjects(ctx, st, "boards/"+fb.ID+"/blobs/"); err != nil {
		return nil, err
	}
	if r.RawStored, err = sumObjects(ctx, st, "boards/"+fb.ID+"/raw/"); err != nil {
		return nil, err
	}
	logf("digest %s, blobs %s, raw stored %s", mb(r.DigestBytes), mb(r.BlobBytes), mb(r.RawStored))

	// Query latency beside /healthz at the same concurrency. Warm: a server
	// whose cache keeps the digest for the whole row, after one query per
	// tag. Cold: fresh servers on the same store.
	tags := gen.ScalarTags
	scalar := func(i int) string { return scalarPath(fb.ID, tags[i%len(tags)]) }
	health := func(int) string { return "/healthz" }
	warmUp := func() error {
		for i := range tags {
			if _, err := h.scalarCount(ctx, fb.ID, tags[i]); err != nil {
				return err
			}
			if _, err := h.do(ctx, http.MethodGet, scalar(i), "", "gzip", nil, http.StatusOK); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	if err := warmUp(); err != nil {
		return nil, err
	}
	bases := map[int][]time.Duration{}
	for _, c := range Concurrency {
		base, err := h.load(ctx, c, cfg.Requests, cfg.RowTimeout, health)
		if err != nil {
			return nil, fmt.Errorf("healthz at %d clients: %w", c, err)
		}
		bases[c] = base
		before := h.srv.Load().CacheStats()
		m := startMem()
		lat, err := h.load(ctx, c, cfg.Requests, cfg.RowTimeout, scalar)
		peak := m.Stop()
		if err != nil {
			return nil, fmt.Errorf("warm queries at %d clients: %w", c, err)
		}
		row := latencyRow(ModeWarm, c, lat, base)
		row.CacheMisses = h.srv.Load().CacheStats().Misses - before.Misses
		row.PeakRSS = peak.RSS
		r.Latency = append(r.Latency, row)
		logf("warm, %d clients: %s", c, row)
	}

	// The memory one cold digest load takes: the peak heap of one query
	// on a fresh server, over the heap before it.
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	m = startMem()
	heap0 := m.start.HeapInuse
	if _, err := h.coldRound(ctx, 1, scalar); err != nil {
		m.Stop()
		return nil, err
	}
	probe := m.Stop()
	perLoad := max(probe.HeapInuse-min(heap0, probe.HeapInuse), uint64(r.DigestBytes))
	r.ColdLoadHeap = perLoad
	logf("one cold load: %s of heap", mib(perLoad))
	// share is the fraction of concurrent cold requests that decode their
	// own copy of the digest (1: each does; 1/c: they share one load), as
	// measured in the previous row; it projects the next row's memory.
	share := 1.0
	project := func(c int) uint64 { return uint64(float64(perLoad) * max(1, float64(c)*share)) }
	for _, c := range Concurrency {
		rounds := max(3, (cfg.ColdSamples+c-1)/c)
		row := LatencyRow{Mode: ModeCold, Clients: c, Rounds: rounds}
		if need := project(c); need > cfg.MemBudget {
			row.Skipped = fmt.Sprintf("not run: %d concurrent cold requests would take about %s (%s per digest load, %.0f%% of the requests loading their own copy in the previous row), over the %s budget",
				c, mib(need), mib(perLoad), 100*share, mib(cfg.MemBudget))
			r.Latency = append(r.Latency, row)
			logf("cold, %d clients: %s", c, row.Skipped)
			continue
		}
		var lat []time.Duration
		m := startMem()
		deadline := time.Now().Add(cfg.RowTimeout)
		for i := 0; i < rounds && time.Now().Before(deadline); i++ {
			l, err := h.coldRound(ctx, c, scalar)
			if err != nil {
				m.Stop()
				return nil, fmt.Errorf("cold queries at %d clients: %w", c, err)
			}
			lat = append(lat, l...)
			row.Rounds = i + 1
		}
		peak := m.Stop()
		if c > 1 {
			grown := float64(peak.HeapInuse) - float64(m.start.HeapInuse)
			share = min(1, max(1/float64(c), grown/float64(perLoad)/float64(c)))
		}
		row2 := latencyRow(ModeCold, c, lat, bases[c])
		row2.Rounds, row2.PeakRSS = row.Rounds, peak.RSS
		r.Latency = append(r.Latency, row2)
		logf("cold, %d clients (%d fresh servers): %s; peak RSS %s", c, row2.Rounds, row2, mib(peak.RSS))
	}

	// The cache TTL of servers sharing a bucket (2 s): a warm board under
	// 64 clients, whose digest is read again from the store whenever the
	// cached copy is older than the TTL.
	c := Concurrency[len(Concurrency)-1]
	row := LatencyRow{Mode: ModeDefaultTTL, Clients: c}
	if need := project(c); need > cfg.MemBudget {
		row.Skipped = fmt.Sprintf("not run: up to %d concurrent digest reloads would take about %s, over the %s budget", c, mib(need), mib(cfg.MemBudget))
		logf("2 s TTL, %d clients: %s", c, row.Skipped)
	} else {
		if _, err := h.fresh(sharedTTL); err != nil {
			return nil, err
		}
		if err := warmUp(); err != nil {
			return nil, err
		}
		before := h.srv.Load().CacheStats()
		m := startMem()
		lat, err := h.load(ctx, c, cfg.Requests, cfg.RowTimeout, scalar)
		peak := m.Stop()
		if err != nil {
			return nil, fmt.Errorf("2 s TTL queries at %d clients: %w", c, err)
		}
		row = latencyRow(ModeDefaultTTL, c, lat, bases[c])
		row.CacheMisses = h.srv.Load().CacheStats().Misses - before.Misses
		row.PeakRSS = peak.RSS
		logf("2 s TTL, %d clients: %s; peak RSS %s", c, row, mib(peak.RSS))
	}
	r.Latency = append(r.Latency, row)
	if cfg.SweepRuns > 0 {
		logf("generating a sweep of %d runs", cfg.SweepRuns)
		if r.Sweep, err = measureSweep(ctx, tmp, cfg.SweepRuns, logf); err != nil {
			return nil, err
		}
	}
	r.MaxRSS = max(r.MaxRSS, maxRSS())
	r.Finished = time.Now().UTC()
	return r, nil
}

// readCRC frames every record of the files and checks both CRCs: the
// floor of any ingest.
func readCRC(files []genFile) (Throughput, error) {
	var t Throughput
	start := time.Now()
	for _, f := range files {
		fd, err := os.Open(f.Path)
		if err != nil {
			return t, err
		}
		rd := tfevents.NewReader(fd, tfevents.Options{})
		for {
			_, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				fd.Close()
				return t, fmt.Errorf("read %s: %w", f.Path, err)
			}
			t.Records++
		}
		fd.Close()
		if rd.Offset() != f.Size {
			return t, fmt.Errorf("read %s: %d of %d bytes in whole records", f.Path, rd.Offset(), f.Size)
		}
		t.Bytes += f.Size
	}
	t.Duration = time.Since(start)
	return t, nil
}

func sumObjects(ctx context.Context, st store.Store, prefix string) (int64, error) {
	objs, err := st.List(ctx, prefix, "")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n, nil
}

// Machine describes where the suite ran.
type Machine struct {
	CPUs      int
	CPUModel  string
	GoVersion string
	OS, Arch  string
	LoadAvg   string // /proc/loadavg at the start
	Started   time.Time
}

func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUModel: "unknown", Started: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// ingestInProcess gives the files to Server.Append in chunks, as the
// upload does, on a memory store that keeps no raw bytes, and writes the
// checkpoint.
func ingestInProcess(ctx context.Context, files []genFile, chunk int) (Throughput, error) {
	srv, err := hosting.NewServer(hosting.Config{Store: dropRaw{store.NewMem()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return Throughput{}, err
	}
	b, _, err := srv.Engine().CreateBoard(ctx, engine.BoardSpec{Name: "in process"})
	if err != nil {
		return Throughput{}, err
	}
	start := time.Now()
	n, err := eachChunk(files, chunk, math.MaxInt64, func(f genFile, off int64, p []byte) error {
		if _, err := srv.Append(ctx, b.ID, runName, f.Name, off, p); err != nil {
			return fmt.Errorf("append %s at %d: %w", f.Name, off, err)
		}
		return nil
	})
	if err == nil {
		err = srv.Flush(ctx)
	}
	return Throughput{Bytes: n, Duration: time.Since(start)}, err
}

// storeWrite writes the files to the store in chunks, as raw parts are
// written, then deletes them.
func storeWrite(ctx context.Context, store store.Store, files []genFile, chunk int) (Throughput, error) {
	var keys []string
	start := time.Now()
	n, err := eachChunk(files, chunk, math.MaxInt64, func(f genFile, off int64, p []byte) error {
		key := fmt.Sprintf("bench-write/%s/%020d", f.Name, off)
		keys = append(keys, key)
		return store.Put(ctx, key, p)
	})
	t := Throughput{Bytes: n, Duration: time.Since(start)}
	for _, k := range keys {
		if derr := store.Delete(ctx, k); err == nil {
			err = derr
		}
	}
	return t, err
}

// dropRaw is a store that keeps everything but raw parts, which it drops.
type dropRaw struct{ store.Store }

func (d dropRaw) Put(ctx context.Context, key string, data []byte) error {
	if strings.Contains(key, "/raw/") {
		return nil
	}
	return d.Store.Put(ctx, key, data)
}

// PutIf drops raw parts too (appends create them: PutIf at generation 0).
func (d dropRaw) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	if strings.Contains(key, "/raw/") {
		return 1, nil
	}
	return d.Store.PutIf(ctx, key, data, gen)
}
