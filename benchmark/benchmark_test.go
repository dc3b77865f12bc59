package benchmark

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSuiteTiny runs the whole suite on a 5 MB run and checks that the
// report has every row and that the figures are sane. It makes no timed
// assertion: the targets are reported, not tested.
func TestSuiteTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	var log strings.Builder
	cfg := Config{Size: 5_000_000, Tags: 8, Requests: 64, ColdSamples: 8, RowTimeout: 20 * time.Second, MemBudget: 512 << 20, TempDir: t.TempDir(), SweepRuns: 200, Log: &log}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Log(log.String())

	g := r.Gen
	if g.Bytes < cfg.Size*8/10 || g.Bytes > cfg.Size*12/10 {
		t.Errorf("generated %d bytes for a size of %d", g.Bytes, cfg.Size)
	}
	if g.Files != days || g.Steps <= 0 || g.Scalars != g.Steps*int64(cfg.Tags) || g.Histograms == 0 || g.Images == 0 {
		t.Errorf("generated run %+v", g)
	}
	if r.Ingest.Bytes != g.Bytes || r.ReadCRC.Bytes != g.Bytes || r.RawStored != g.Bytes {
		t.Errorf("ingested %d, read %d, stored %d raw bytes of %d", r.Ingest.Bytes, r.ReadCRC.Bytes, r.RawStored, g.Bytes)
	}
	if r.Ingest.MBps() <= 0 || r.ReadCRC.MBps() <= 0 || r.ReadCRC.Records == 0 {
		t.Errorf("throughputs: ingest %v, read %v", r.Ingest, r.ReadCRC)
	}
	if r.InProcess.Bytes != g.Bytes || r.InProcess.MBps() <= 0 {
		t.Errorf("ingest in process: %v of %d bytes", r.InProcess, g.Bytes)
	}
	if r.StoreWrite.Bytes != g.Bytes || r.StoreWrite.MBps() <= 0 {
		t.Errorf("store write: %v of %d bytes", r.StoreWrite, g.Bytes)
	}
	if r.FirstQueryCount != g.Steps || r.FirstQuery <= 0 {
		t.Errorf("first query after %v counted %d values, want %d", r.FirstQuery, r.FirstQueryCount, g.Steps)
	}
	if len(r.Memory) != 2 || r.Memory[0].Input != g.Bytes/4 || r.Memory[1].Input != g.Bytes {
		t.Fatalf("memory phases %+v", r.Memory)
	}
	for _, m := range r.Memory {
		if m.Digest <= 0 {
			t.Errorf("no digest after ingesting %d bytes", m.Input)
		}
		if m.Peak.HeapInuse == 0 || m.Peak.RSS < m.Peak.HeapInuse/2 {
			t.Errorf("memory while ingesting %d bytes: %+v", m.Input, m.Peak)
		}
	}
	if r.DigestBytes <= 0 || r.ColdLoadHeap == 0 {
		t.Errorf("digest %d bytes, cold load %d bytes of heap", r.DigestBytes, r.ColdLoadHeap)
	}
	if r.InProcessBase.Bytes != g.Bytes || r.Inspect.Bytes != g.Bytes || r.InspectBase.Bytes != g.Bytes || r.Inspect.Records != r.ReadCRC.Records || r.Inspect.MBps() <= 0 {
		t.Errorf("in process beside %v; inspect %v beside %v", r.InProcessBase, r.Inspect, r.InspectBase)
	}
	if w := r.Wire; w == nil || w.Raw != g.Bytes || w.Wire <= 0 || w.Wire >= w.Raw || w.Encoding == "none" || w.Requests == 0 {
		t.Errorf("upload on the wire: %+v (raw %d): not compressed", w, g.Bytes)
	}
	wantRows := []string{RowIngest, RowInProcess, RowInspect, RowWire, RowStoreWrite, RowMemSmall, RowMemFull, RowMaxRSS, RowFirstQuery}
	for _, mode := range []string{ModeWarm, ModeCold} {
		for _, c := range Concurrency {
			wantRows = append(wantRows, LatencyRowName(mode, c))
		}
	}
	wantRows = append(wantRows, LatencyRowName(ModeDefaultTTL, 64), RowDigest, RowColdLoad, RowBlobs, RowSweep, RowSweepRuns)
	rows := r.Rows()
	names := map[string]Row{}
	for _, row := range rows {
		names[row.Measure] = row
	}
	for _, w := range wantRows {
		if _, ok := names[w]; !ok {
			t.Errorf("the report lacks the row %q", w)
		}
	}
	if len(rows) != len(wantRows) {
		t.Errorf("%d rows, want %d", len(rows), len(wantRows))
	}
	for _, l := range r.Latency {
		if l.Skipped != "" {
			t.Logf("%s: %s", LatencyRowName(l.Mode, l.Clients), l.Skipped)
			continue
		}
		if l.Requests == 0 || l.P50 <= 0 || l.P99 < l.P50 || l.BaseP50 <= 0 || l.BaseP99 < l.BaseP50 {
			t.Errorf("latency row %+v", l)
		}
	}
	md := r.Markdown()
	for _, w := range append(wantRows, "runtime.NumCPU", r.Machine.CPUModel, r.Machine.GoVersion, "read + CRC", "/healthz") {
		if !strings.Contains(md, w) {
			t.Errorf("the Markdown report lacks %q", w)
		}
	}
	if strings.Contains(md, "NaN") || strings.Contains(md, "Inf") {
		t.Errorf("the report has NaN or Inf:\n%s", md)
	}
	if err := r.WriteFile(t.TempDir() + "/benchmarks.md"); err != nil {
		t.Fatal(err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GB": 1e9, "200MB": 200e6, "5MB": 5e6, "1.5GB": 1.5e9, "512KiB": 512 << 10, "2GiB": 2 << 30, "1000": 1000, " 300mb ": 300e6, "10M": 10e6} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1MB", "0", "abc", "1TBB", "NaNMB", "InfGB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i))
	}
	if p := percentile(d, 50); p != 50 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 99); p != 99 {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(d[:1], 99); p != 1 {
		t.Errorf("p99 of one = %v", p)
	}
	if p := percentile(nil, 50); p != 0 {
		t.Errorf("p50 of none = %v", p)
	}
}
