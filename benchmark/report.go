package benchmark

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Report holds what Run measured.
type Report struct {
	Machine Machine
	Config  Config
	Gen     GenSummary

	// Ingest is the upload of the whole run; ReadCRC the baseline.
	Ingest, ReadCRC Throughput
	// InProcess is the same ingest through Server.Append on a memory
	// store that keeps no raw bytes: parsing, sampling and checkpoints
	// without HTTP or disk, the ceiling of Ingest on this machine.
	InProcess Throughput
	// InProcessBase is the read + CRC measured beside InProcess (medians
	// of inspectRounds each).
	InProcessBase Throughput
	// Inspect is tfevents.Inspect (tbhost inspect) on the run's log dir;
	// InspectBase the read + CRC measured beside it (medians).
	Inspect, InspectBase Throughput
	// Wire is the run uploaded by the client with its compression (nil
	// when not measured).
	Wire *Wire
	// StoreWrite is the same chunks written to the store as objects (with
	// the dir store's fsync): the raw parts' share of an ingest.
	StoreWrite Throughput
	// Memory has the size/4 phase, then the whole-run phase.
	Memory []MemoryPhase
	// MaxRSS is getrusage's ru_maxrss: the peak RSS of the whole process
	// (generator, client and server) since it started.
	MaxRSS uint64
	// FirstQuery is the time from the last upload answer to the first
	// scalar query answered; FirstQueryCount that answer's stats.count.
	FirstQuery      time.Duration
	FirstQueryCount int64
	// Latency has the warm rows, then the cold rows, by concurrency.
	Latency []LatencyRow
	// DigestBytes, BlobBytes and RawStored are the board's digest, blob
	// and raw objects in the store.
	DigestBytes, BlobBytes, RawStored int64
	// ColdLoadHeap is the heap one query on a fresh server took (reading
	// and decoding the run's digest).
	ColdLoadHeap uint64
	// Sweep is the sweep upload figure (nil when not measured).
	Sweep    *Sweep
	Finished time.Time
}

// GenSummary describes the generated run.
type GenSummary struct {
	Bytes                               int64
	Files                               int
	Steps                               int64
	Scalars, Histograms, Images         int64
	ScalarTags, HistogramTags, ImageTag int
	ScalarRecordBytes                   int64
}

func (g *generated) summary() GenSummary {
	return GenSummary{Bytes: g.Bytes, Files: len(g.Files), Steps: g.Steps, Scalars: g.Scalars, Histograms: g.Histograms,
		Images: g.Images, ScalarTags: len(g.ScalarTags), HistogramTags: len(g.HistogramTags), ImageTag: 1, ScalarRecordBytes: g.ScalarRecordBytes}
}

// Throughput is bytes processed in a duration.
type Throughput struct {
	Bytes    int64
	Records  int64
	Duration time.Duration
}

// MBps is the throughput in MB/s (10^6 bytes per second).
func (t Throughput) MBps() float64 {
	if t.Duration <= 0 {
		return 0
	}
	return float64(t.Bytes) / 1e6 / t.Duration.Seconds()
}

func (t Throughput) String() string {
	return fmt.Sprintf("%s in %v = %.0f MB/s", mb(t.Bytes), t.Duration.Round(time.Millisecond), t.MBps())
}

// MemoryPhase is the peak memory while ingesting Input bytes.
type MemoryPhase struct {
	Input int64
	// Digest is the size of the board's digest after the phase: what each
	// append reads, updates and rewrites.
	Digest int64
	Peak   memPeak
}

// LatencyRow is the latency of scalar queries at one concurrency, beside
// GET /healthz at the same concurrency on the same server.
type LatencyRow struct {
	Mode     string // ModeWarm, ModeCold or ModeDefaultTTL
	Clients  int
	Requests int
	// Rounds is the number of fresh servers (cold rows).
	Rounds   int
	P50, P99 time.Duration
	// BaseP50 and BaseP99 are /healthz's.
	BaseP50, BaseP99 time.Duration
	// CacheMisses counts the digest cache misses during a warm row (the
	// cache reloads entries older than its TTL).
	CacheMisses int64
	// PeakRSS is the process's peak RSS during the row.
	PeakRSS uint64
	// Skipped, when set, says why the row was not run.
	Skipped string
	base    []time.Duration
}

// Latency modes.
const (
	// ModeWarm: the digest stays in the cache for the whole row.
	ModeWarm = "warm"
	// ModeDefaultTTL: warm, with the cache TTL of servers sharing a bucket
	// (2 s), so cached digests are read again from the store during the row.
	ModeDefaultTTL = "warm, 2 s cache TTL (shared bucket)"
	// ModeCold: each request reaches a fresh server (empty cache).
	ModeCold = "cold"
)

func latencyRow(mode string, clients int, lat, base []time.Duration) LatencyRow {
	return LatencyRow{Mode: mode, Clients: clients, Requests: len(lat),
		P50: percentile(lat, 50), P99: percentile(lat, 99),
		BaseP50: percentile(base, 50), BaseP99: percentile(base, 99), base: base}
}

func (l LatencyRow) String() string {
	return fmt.Sprintf("%d queries: p50 %s p99 %s (healthz p50 %s p99 %s)", l.Requests, ms(l.P50), ms(l.P99), ms(l.BaseP50), ms(l.BaseP99))
}

// Row is one line of the report's table.
type Row struct {
	Measure, Result, Baseline, Ratio, Target, Verdict string
}

// Row names, in table order (latency rows are "Scalar query, warm, 16
// clients" and so on).
const (
	RowIngest     = "Ingest throughput"
	RowInProcess  = "Ingest in process (no HTTP, no disk)"
	RowInspect    = "tbhost inspect of the run"
	RowWire       = "Upload bytes on the wire (client compression)"
	RowStoreWrite = "Store write of the same bytes"
	RowMemSmall   = "Peak memory ingesting size/4"
	RowMemFull    = "Peak memory ingesting size"
	RowMaxRSS     = "Process maxrss (getrusage)"
	RowFirstQuery = "Upload end → first scalar query"
	RowDigest     = "Digest size"
	RowColdLoad   = "Heap of one cold digest load"
	RowBlobs      = "Blob objects in the store"
	RowSweep      = "Sweep upload"
	RowSweepRuns  = "Sweep board: /runs, /tags"
)

// LatencyRowName names the latency row of a mode and concurrency.
func LatencyRowName(mode string, clients int) string {
	return fmt.Sprintf("Scalar query, %s, %d client%s", mode, clients, plural(clients))
}

// Targets.
const (
	TargetIngestRatio = 0.5
	// TargetInProcessRatio and TargetInspectRatio are the least
	// throughputs of the in-process ingest and of inspect, as fractions
	// of read + CRC measured beside them.
	TargetInProcessRatio = 0.25
	TargetInspectRatio   = 0.6
	TargetP99Warm64      = 5 * time.Millisecond
	// TargetMemGrowth is the most the peak RSS may grow from size/4 to
	// size (as a ratio) to count as independent of the input size.
	TargetMemGrowth = 1.25
)

// Rows returns the table.
func (r *Report) Rows() []Row {
	var rows []Row
	ir := ratio(r.Ingest.MBps(), r.ReadCRC.MBps())
	rows = append(rows, Row{RowIngest,
		fmt.Sprintf("%.0f MB/s (%s in %.1f s)", r.Ingest.MBps(), mb(r.Ingest.Bytes), r.Ingest.Duration.Seconds()),
		fmt.Sprintf("read + CRC: %.0f MB/s", r.ReadCRC.MBps()),
		fmt.Sprintf("%.2f", ir), fmt.Sprintf("≥ %.2f", TargetIngestRatio), verdict(ir >= TargetIngestRatio)})
	if r.InProcess.Bytes > 0 {
		pr := ratio(r.InProcess.MBps(), r.InProcessBase.MBps())
		rows = append(rows, Row{RowInProcess,
			fmt.Sprintf("%.0f MB/s (%s in %.1f s, median of %d); ingest over HTTP reaches %.2f of it", r.InProcess.MBps(), mb(r.InProcess.Bytes), r.InProcess.Duration.Seconds(), inspectRounds, ratio(r.Ingest.MBps(), r.InProcess.MBps())),
			fmt.Sprintf("read + CRC beside it: %.0f MB/s", r.InProcessBase.MBps()),
			fmt.Sprintf("%.2f", pr), fmt.Sprintf("≥ %.2f", TargetInProcessRatio), verdict(pr >= TargetInProcessRatio)})
	}
	if r.Inspect.Bytes > 0 {
		ir := ratio(r.Inspect.MBps(), r.InspectBase.MBps())
		rows = append(rows, Row{RowInspect,
			fmt.Sprintf("%.0f MB/s (%s in %.2f s, median of %d)", r.Inspect.MBps(), mb(r.Inspect.Bytes), r.Inspect.Duration.Seconds(), inspectRounds),
			fmt.Sprintf("read + CRC beside it: %.0f MB/s", r.InspectBase.MBps()),
			fmt.Sprintf("%.2f", ir), fmt.Sprintf("≥ %.2f", TargetInspectRatio), verdict(ir >= TargetInspectRatio)})
	}
	if w := r.Wire; w != nil {
		rows = append(rows, Row{RowWire,
			fmt.Sprintf("%s (%s) in %d requests, %.1f s", mb(w.Wire), w.Encoding, w.Requests, w.Duration.Seconds()),
			"raw: " + mb(w.Raw),
			fmt.Sprintf("%.3f", w.Ratio()), fmt.Sprintf("≤ %.2f", TargetWireRatio), verdict(w.Ratio() <= TargetWireRatio)})
	}
	if r.StoreWrite.Bytes > 0 {
		rows = append(rows, Row{RowStoreWrite,
			fmt.Sprintf("%.0f MB/s (%s in %.1f s); ingest over HTTP reaches %.2f of it", r.StoreWrite.MBps(), mb(r.StoreWrite.Bytes), r.StoreWrite.Duration.Seconds(), ratio(r.Ingest.MBps(), r.StoreWrite.MBps())),
			fmt.Sprintf("read + CRC: %.0f MB/s", r.ReadCRC.MBps()),
			fmt.Sprintf("%.2f", ratio(r.StoreWrite.MBps(), r.ReadCRC.MBps())), "", ""})
	}
	if len(r.Memory) == 2 {
		s, f := r.Memory[0], r.Memory[1]
		rows = append(rows, Row{RowMemSmall,
			fmt.Sprintf("RSS %s, heap %s (input %s, digest %s)", mib(s.Peak.RSS), mib(s.Peak.HeapInuse), mb(s.Input), mb(s.Digest)),
			"", "", "", ""})
		rr := ratio(float64(f.Peak.RSS), float64(s.Peak.RSS))
		hr := ratio(float64(f.Peak.HeapInuse), float64(s.Peak.HeapInuse))
		rows = append(rows, Row{RowMemFull,
			fmt.Sprintf("RSS %s, heap %s (input %s, digest %s)", mib(f.Peak.RSS), mib(f.Peak.HeapInuse), mb(f.Input), mb(f.Digest)),
			fmt.Sprintf("size/4: RSS %s, heap %s", mib(s.Peak.RSS), mib(s.Peak.HeapInuse)),
			fmt.Sprintf("RSS %.2f, heap %.2f (input ×%.1f, digest ×%.2f)", rr, hr, ratio(float64(f.Input), float64(s.Input)), ratio(float64(f.Digest), float64(s.Digest))),
			fmt.Sprintf("RSS ratio ≤ %.2f (independent of size)", TargetMemGrowth), verdict(rr <= TargetMemGrowth)})
	}
	rows = append(rows, Row{RowMaxRSS, mib(r.MaxRSS), "", "", "", ""})
	var warm1 time.Duration
	for _, l := range r.Latency {
		if l.Mode == ModeWarm && l.Clients == 1 {
			warm1 = l.P50
		}
	}
	rows = append(rows, Row{RowFirstQuery, ms(r.FirstQuery), "warm query p50, 1 client: " + ms(warm1),
		fmt.Sprintf("%.1f", ratio(float64(r.FirstQuery), float64(warm1))), "", ""})
	for _, l := range r.Latency {
		if l.Skipped != "" {
			rows = append(rows, Row{Measure: LatencyRowName(l.Mode, l.Clients), Result: l.Skipped})
			continue
		}
		row := Row{Measure: LatencyRowName(l.Mode, l.Clients),
			Result:   fmt.Sprintf("p50 %s, p99 %s", ms(l.P50), ms(l.P99)),
			Baseline: fmt.Sprintf("/healthz p50 %s, p99 %s", ms(l.BaseP50), ms(l.BaseP99)),
			Ratio:    fmt.Sprintf("p50 %.1f, p99 %.1f", ratio(float64(l.P50), float64(l.BaseP50)), ratio(float64(l.P99), float64(l.BaseP99))),
		}
		if l.Mode == ModeCold {
			row.Result += fmt.Sprintf(" (%d queries, %d fresh servers; peak RSS %s)", l.Requests, l.Rounds, mib(l.PeakRSS))
		} else {
			row.Result += fmt.Sprintf(" (%d queries, %d cache misses; peak RSS %s)", l.Requests, l.CacheMisses, mib(l.PeakRSS))
		}
		if l.Mode == ModeWarm && l.Clients == 64 {
			row.Target = "p99 ≤ " + ms(TargetP99Warm64)
			row.Verdict = verdict(l.P99 <= TargetP99Warm64)
		}
		rows = append(rows, row)
	}
	raw := r.Gen.Bytes
	rows = append(rows, Row{RowDigest, mb(r.DigestBytes), "raw: " + mb(raw),
		fmt.Sprintf("%.4f", ratio(float64(r.DigestBytes), float64(raw))), "", ""})
	rows = append(rows, Row{RowColdLoad, mib(r.ColdLoadHeap), "digest: " + mb(r.DigestBytes),
		fmt.Sprintf("%.1f", ratio(float64(r.ColdLoadHeap), float64(r.DigestBytes))), "", ""})
	rows = append(rows, Row{RowBlobs, mb(r.BlobBytes), "raw: " + mb(raw),
		fmt.Sprintf("%.4f", ratio(float64(r.BlobBytes), float64(raw))), "", ""})
	if sw := r.Sweep; sw != nil {
		rows = append(rows, Row{RowSweep,
			fmt.Sprintf("%d runs, one file each (%s): %.2f s in %d requests (checkpoints all written, in the background, after %.2f s); %d runs listed", sw.Runs, mb(sw.Bytes), sw.Upload.Seconds(), sw.Requests, sw.Checkpointed.Seconds(), sw.Listed),
			fmt.Sprintf("inspect: %.2f s", sw.Inspect.Seconds()),
			fmt.Sprintf("%.1f", sw.Ratio()), fmt.Sprintf("≤ %.0f", TargetSweepRatio), verdict(sw.Ratio() <= TargetSweepRatio && sw.Listed == sw.Runs)})
		rows = append(rows, Row{RowSweepRuns,
			fmt.Sprintf("p50 %s, %s", ms(sw.RunsP50), ms(sw.TagsP50)), "/healthz p50 " + ms(sw.HealthzP50),
			fmt.Sprintf("%.0f, %.0f", ratio(float64(sw.RunsP50), float64(sw.HealthzP50)), ratio(float64(sw.TagsP50), float64(sw.HealthzP50))), "", ""})
	}
	return rows
}

// Markdown renders the report (docs/benchmarks.md).
func (r *Report) Markdown() string {
	var b strings.Builder
	m := r.Machine
	g := r.Gen
	fmt.Fprintf(&b, "# tbhost benchmarks\n\n")
	fmt.Fprintf(&b, "Generated by `tbhost bench --size %s --tags %d --store %s` (`make bench`). ", sizeFlag(r.Config.Size), r.Config.Tags, r.Config.Store)
	fmt.Fprintf(&b, "Every figure stands beside a baseline measured in the same run on the same machine; compare the ratios, ")
	fmt.Fprintf(&b, "not the absolute timings, across machines and runs.\n\n")
	if r.Config.Size < DefaultSize {
		fmt.Fprintf(&b, "> This run used %s of input instead of the default %s.\n\n", mb(r.Config.Size), mb(DefaultSize))
	}
	fmt.Fprintf(&b, "## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s |\n", m.CPUModel)
	fmt.Fprintf(&b, "| runtime.NumCPU | %d |\n", m.CPUs)
	fmt.Fprintf(&b, "| Go | %s %s/%s |\n", m.GoVersion, m.OS, m.Arch)
	fmt.Fprintf(&b, "| date | %s |\n", m.Started.Format("2006-01-02 15:04 MST"))
	if m.LoadAvg != "" {
		fmt.Fprintf(&b, "| load average at start (1, 5, 15 min) | %s |\n", m.LoadAvg)
	}
	fmt.Fprintf(&b, "| store | %s |\n", storeName(r.Config.Store))
	fmt.Fprintf(&b, "| duration | %v |\n\n", r.Finished.Sub(m.Started).Round(time.Second))

	fmt.Fprintf(&b, "## Input\n\n")
	fmt.Fprintf(&b, "One run, a week of wall time in %d event files (one per day, each after a restart): %d steps × %d scalar tags (%d scalar events of %d bytes), ",
		g.Files, g.Steps, g.ScalarTags, g.Scalars, g.ScalarRecordBytes)
	fmt.Fprintf(&b, "a %d-bucket histogram per tag every %d steps (%d), and a %d×%d PNG every %d steps (%d): %s in all (%d bytes).\n\n",
		histBuckets, histEvery, g.Histograms, imageSide, imageSide, imageEvery, g.Images, mb(g.Bytes), g.Bytes)

	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "| measure | result | baseline (same run) | ratio | target | |\n|---|---|---|---|---|---|\n")
	for _, row := range r.Rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.Measure, row.Result, row.Baseline, row.Ratio, row.Target, row.Verdict)
	}
	b.WriteString(`
## How each figure is measured

- **Ingest throughput**: one client uploads the run's files in order over
  loopback in ` + fmt.Sprintf("%s", mib(uint64(r.Config.Chunk))) + ` PUT requests (as ` + "`tbhost upload`" + ` does), each answered after
  its raw part is stored and parsed into the run's state; then the server
  writes the run's checkpoint (its digest). Bytes divided by the time from
  the first request to the written checkpoint (less the first query below). Baseline: the same
  files framed and CRC-checked with ` + "`tfevents.NewReader`" + ` (the faster of a run
  before and a run after the ingest; the files are in the page cache both
  times).
- **Ingest in process**: the same files in the same chunks given to
  ` + "`Server.Append`" + ` directly, on a memory store that drops raw bytes,
  then the checkpoint: the parsing, sampling and checkpoint work of an
  ingest without HTTP or disk, so the ceiling of the row above on this
  machine. Its ratio to read + CRC is what decoding every event and
  sampling every value costs.
  Median of ` + fmt.Sprint(inspectRounds) + ` runs, each after a read + CRC of the same files (the
  median of those is its baseline).
- **tbhost inspect**: ` + "`tfevents.Inspect`" + ` on the run's log dir (every record framed,
  CRC-checked and decoded; per tag the count, steps, min, max and last), as
  ` + "`tbhost inspect`" + ` computes it; median of ` + fmt.Sprint(inspectRounds) + ` runs, each after a read + CRC
  of the same files (the median of those is its baseline). Both read the
  files from the page cache.
- **Upload bytes on the wire**: the run's log dir uploaded by
  ` + "`client.Uploader`" + ` with its defaults (request bodies compressed, zstd first, when
  the server's answers say it takes them) to a fresh in-process server;
  the request body bytes that leave the client against the files' bytes.
- **Store write**: the same chunks written to the store under the
  server as objects, one after another (the directory store writes a
  temporary file, fsyncs it and renames it), then deleted: what storing
  the raw parts costs, which an ingest overlaps with parsing.
- **Peak memory**: heap in use (runtime/metrics heap objects + unused, sampled
  every 5 ms) and RSS (the kernel's VmHWM, reset through
  ` + "`/proc/self/clear_refs`" + ` at the start of each phase, else sampled from
  ` + "`/proc/self/statm`" + `) while ingesting the first quarter of the run into one
  board, then the whole run into another, each on a fresh server (empty
  cache). Client and server share the process. The ratio is whole / quarter;
  independent of the size means about 1. The run's state is bounded
  (reservoirs, M4 summaries) but grows until the reservoirs fill, so the
  digest ratio is shown beside it.
- **Upload end → first scalar query**: from the last upload answer to the
  answer of ` + "`GET /api/boards/<id>/scalars?run&tag&width=1000`" + `; beside a warm query.
- **Scalar query**: ` + "`GET /api/boards/<id>/scalars?run&tag&width=1000`" + ` cycling over
  the scalar tags, from 1, 16 and 64 concurrent clients on kept-alive
  connections, each asking for gzip as browsers do and reading the whole
  answer as sent (a browser decompresses on its own machine) into a
  reused buffer (client and server share the process: the client's
  garbage would be the server's GC work), at most ` + fmt.Sprint(r.Config.Requests) + ` queries and ` + r.Config.RowTimeout.String() + ` per row. Warm: a
  server configured as ` + "`tbhost serve --data`" + ` configures it (a store only it
  writes: cached digests never expire), after one query per tag. Warm with a
  2 s TTL: the cache TTL of servers sharing a bucket, after which a request
  that finds the digest stale reads and decodes it again. Cold: each round
  puts a fresh server (empty cache) on the same store behind the port and
  sends one query from every client at once, so the digest is read from the
  store and decoded. A row whose projected memory (the heap of one cold
  load × the concurrent requests, scaled by how many of them loaded their
  own copy in the previous row) exceeds the budget (` + mib(r.Config.MemBudget) + `) is not
  run. Baseline: ` + "`GET /healthz`" + ` at the same concurrency on the same server
  (the HTTP floor).
- **Sweep upload**: a sweep of ` + fmt.Sprint(r.Config.SweepRuns) + ` runs, one event file each (a file
  version and three scalars, written by ` + "`tfevents.Writer`" + `), uploaded by
  ` + "`client.Uploader`" + ` (small runs go in batches, ` + "`POST /api/boards/<id>/batch`" + `) to a
  fresh server over a directory store on loopback, from the first request
  to the last answer (every run checkpointed). Baseline: ` + "`tfevents.Inspect`" + `
  on the same dir (what ` + "`tbhost inspect`" + ` reads and computes), the faster of
  one before and one after the upload. Then the board's ` + "`/runs`" + ` and
  ` + "`/tags`" + ` (median of ` + fmt.Sprint(sweepQueries) + `, warm) against ` + "`/healthz`" + `.
- **Digest size**: the run's digest objects in the store against the raw
  bytes. Blob objects are the ` + "`boards/<id>/blobs/`" + ` objects of the design's
  store layout; 0 means the server keeps image bytes inside the digest.
  Heap of one cold digest load: the peak heap of one query on a fresh server
  over the heap before it, against the digest's size.
`)
	if r.Config.Store == "mem" {
		b.WriteString("\nWith `--store mem` the raw bytes stay in memory, so the RSS grows with the input by design.\n")
	}
	return b.String()
}

// WriteFile writes the Markdown report to path.
func (r *Report) WriteFile(path string) error {
	return os.WriteFile(path, []byte(r.Markdown()), 0o644)
}

func storeName(s string) string {
	if s == "mem" {
		return "memory (store.Mem)"
	}
	return "local directory (store.Dir, fsync on every write) in a temporary directory"
}

func sizeFlag(n int64) string {
	switch {
	case n%1e9 == 0:
		return fmt.Sprintf("%dGB", n/1e9)
	case n%1e6 == 0:
		return fmt.Sprintf("%dMB", n/1e6)
	}
	return fmt.Sprint(n)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "**misses**"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func mb(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) string {
	f := float64(d) / 1e6
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.2f ms", f)
}
