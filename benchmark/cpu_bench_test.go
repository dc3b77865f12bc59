package benchmark

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"tbhost/tfevents"
)

// benchRunSize is the size of the run the CPU benchmarks below generate
// (the shape of the suite's, smaller).
const benchRunSize = 200_000_000

var benchRun struct {
	once sync.Once
	dir  string
	gen  *generated
	err  error
}

// loadBenchRun generates the run once per test binary, in a temporary
// directory TestMain removes.
func loadBenchRun(b *testing.B) *generated {
	benchRun.once.Do(func() {
		benchRun.dir, benchRun.err = os.MkdirTemp("", "tbhost-cpubench-*")
		if benchRun.err == nil {
			benchRun.gen, benchRun.err = generate(filepath.Join(benchRun.dir, "logs"), benchRunSize, DefaultTags)
		}
	})
	if benchRun.err != nil {
		b.Fatal(benchRun.err)
	}
	return benchRun.gen
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRun.dir != "" {
		os.RemoveAll(benchRun.dir)
	}
	os.Exit(code)
}

// processCPU is the CPU time (user + system) of the process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f b.N times and reports MB/s of wall and CPU time.
func measure(b *testing.B, bytes int64, f func() error) {
	b.SetBytes(bytes)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkReadCRC is the baseline of the two below: framing and both
// CRCs of every record of the generated run.
func BenchmarkReadCRC(b *testing.B) {
	g := loadBenchRun(b)
	measure(b, g.Bytes, func() error { _, err := readCRC(g.Files); return err })
}

// BenchmarkInspect is tfevents.Inspect (tbhost inspect) on the run's dir.
func BenchmarkInspect(b *testing.B) {
	g := loadBenchRun(b)
	dir := filepath.Dir(filepath.Dir(g.Files[0].Path))
	measure(b, g.Bytes, func() error { _, err := tfevents.Inspect(dir); return err })
}

// BenchmarkIngestInProcess is the suite's in-process ingest: Server.Append
// of every chunk, then the checkpoint.
func BenchmarkIngestInProcess(b *testing.B) {
	g := loadBenchRun(b)
	measure(b, g.Bytes, func() error { _, err := ingestInProcess(context.Background(), g.Files, DefaultChunk); return err })
}
