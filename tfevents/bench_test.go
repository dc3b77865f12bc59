package tfevents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"tbhost/tfevents/tfeventspb"
)

// genScalars returns an event file of steps × tags scalar events, one value
// per Event: TF1 simple_value, or TF2 rank-0 FLOAT tensors (with metadata on
// every value, as TF2 writes them).
func genScalars(steps, tags int, tf2 bool) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteFileVersion(1.7e9)
	names := make([]string, tags)
	for i := range names {
		names[i] = fmt.Sprintf("train/metric_%02d", i)
	}
	for s := 0; s < steps; s++ {
		wall := 1.7e9 + float64(s)*0.01
		for i, tag := range names {
			v := math.Sin(float64(s*tags + i))
			if tf2 {
				w.WriteTensorScalar(tag, int64(s), wall, v)
			} else {
				w.WriteScalar(tag, int64(s), wall, v)
			}
		}
	}
	return buf.Bytes()
}

var benchData struct {
	once       sync.Once
	tf1, tf2   []byte
	fixtures   [][]byte // the real corpus when present, else the generated one
	corpus     string
	fixtureLen int64
}

func loadBenchData(b *testing.B) {
	benchData.once.Do(func() {
		benchData.tf1 = genScalars(200_000, 10, false)
		benchData.tf2 = genScalars(200_000, 10, true)
		benchData.fixtures, benchData.corpus = Corpora.Bench(b)
		for _, f := range benchData.fixtures {
			benchData.fixtureLen += int64(len(f))
		}
	})
}

// processCPU returns the CPU time (user + system) the process has used:
// every goroutine's, GC included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimer reports the CPU-time throughput of a benchmark ("cpu-MB/s"),
// which the other engineers' load on the machine disturbs less than the
// wall-clock MB/s. Call it after b.ResetTimer; defer the returned func.
func cpuTimer(b *testing.B, bytes int64) func() {
	start := processCPU()
	return func() {
		if cpu := processCPU() - start; cpu > 0 {
			b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
		}
	}
}

// benchFrame is the baseline: framing and both CRCs, nothing decoded.
func benchFrame(b *testing.B, files ...[]byte) {
	var n int64
	for _, f := range files {
		n += int64(len(f))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuTimer(b, n)()
	for b.Loop() {
		for _, f := range files {
			r := NewReader(bytes.NewReader(f), Options{})
			for {
				_, err := r.Next()
				if err == io.EOF || (err != nil && !errors.Is(err, ErrBadRecord)) {
					break
				}
			}
		}
	}
}

// benchScan is the full decode: every Value, normalised.
func benchScan(b *testing.B, files ...[]byte) {
	var n, events int64
	for _, f := range files {
		n += int64(len(f))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	var sum float64
	b.ResetTimer()
	defer cpuTimer(b, n)()
	for b.Loop() {
		events = 0
		for _, f := range files {
			s := NewScanner(bytes.NewReader(f), Options{})
			for s.Scan() {
				sum += s.Value().Scalar
				events++
			}
			s.Close()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*events), "ns/value")
	_ = sum
}

// benchGenerated decodes with protobuf-go generated code, for comparison.
func benchGenerated(b *testing.B, files ...[]byte) {
	var n int64
	for _, f := range files {
		n += int64(len(f))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	var sum float64
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			r := NewReader(bytes.NewReader(f), Options{})
			for {
				p, err := r.Next()
				if err == io.EOF || (err != nil && !errors.Is(err, ErrBadRecord)) {
					break
				}
				var ev tfeventspb.Event
				if proto.Unmarshal(p, &ev) != nil {
					continue
				}
				for _, v := range ev.GetSummary().GetValue() {
					sum += float64(v.GetSimpleValue())
					if t := v.GetTensor(); t != nil && len(t.TensorContent) == 4 {
						sum += float64(math.Float32frombits(binary.LittleEndian.Uint32(t.TensorContent)))
					}
				}
			}
		}
	}
	_ = sum
}

func BenchmarkScalarsTF1Frame(b *testing.B)     { loadBenchData(b); benchFrame(b, benchData.tf1) }
func BenchmarkScalarsTF1Decode(b *testing.B)    { loadBenchData(b); benchScan(b, benchData.tf1) }
func BenchmarkScalarsTF1Generated(b *testing.B) { loadBenchData(b); benchGenerated(b, benchData.tf1) }
func BenchmarkScalarsTF2Frame(b *testing.B)     { loadBenchData(b); benchFrame(b, benchData.tf2) }
func BenchmarkScalarsTF2Decode(b *testing.B)    { loadBenchData(b); benchScan(b, benchData.tf2) }
func BenchmarkScalarsTF2Generated(b *testing.B) { loadBenchData(b); benchGenerated(b, benchData.tf2) }

// The Fixtures benchmarks read the real corpus, or the generated one when
// it is absent (they log which).
func BenchmarkFixturesFrame(b *testing.B) {
	loadFixtureBench(b)
	benchFrame(b, benchData.fixtures...)
}

func BenchmarkFixturesDecode(b *testing.B) {
	loadFixtureBench(b)
	benchScan(b, benchData.fixtures...)
}

func BenchmarkFixturesGenerated(b *testing.B) {
	loadFixtureBench(b)
	benchGenerated(b, benchData.fixtures...)
}

func loadFixtureBench(b *testing.B) {
	loadBenchData(b)
	b.Logf("%s corpus: %d files, %d bytes", benchData.corpus, len(benchData.fixtures), benchData.fixtureLen)
}

// benchPayloads decodes the records of a generated scalar file (10 tags,
// cycled) without framing: the Decoder's cost alone, per value.
func benchPayloads(b *testing.B, tf2 bool) {
	r := NewReader(bytes.NewReader(genScalars(20, 10, tf2)), Options{})
	r.Next() // file_version
	var ps [][]byte
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		ps = append(ps, bytes.Clone(p))
	}
	d := NewDecoder(nil)
	var sum float64
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		vals, _ := d.Decode(ps[i])
		sum += vals[0].Scalar
		if i++; i == len(ps) {
			i = 0
		}
	}
	_ = sum
}

func BenchmarkDecodeTF1(b *testing.B) { benchPayloads(b, false) }
func BenchmarkDecodeTF2(b *testing.B) { benchPayloads(b, true) }
