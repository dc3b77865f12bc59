package hosting_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/engine"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// scalarRun returns an event file of steps × tags scalar events, one
// value per event as PyTorch writes them.
func scalarRun(tb testing.TB, tags, steps int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	names := make([]string, tags)
	for t := range names {
		names[t] = fmt.Sprintf("train/metric_%02d", t)
	}
	for s := range steps {
		for t, name := range names {
			if err := w.WriteScalar(name, int64(s), 1.7e9+float64(s), math.Sin(float64(s+t))); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// BenchmarkAppend measures ingest (store raw bytes, parse, sample, write
// the digest) in 8 MiB appends; BenchmarkAppendBaseline reads and
// CRC-checks the same bytes.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	data := scalarRun(b, 20, 100000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
		if err != nil {
			b.Fatal(err)
		}
		// Appends go to existing boards only.
		board, _, err := srv.Engine().CreateBoard(ctx, engine.BoardSpec{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += 8 << 20 {
			end := min(off+8<<20, len(data))
			if _, err := srv.Append(ctx, board.ID, "run", "events.out.tfevents.1", int64(off), data[off:end]); err != nil {
				b.Fatal(err)
			}
		}
		if err := srv.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendBaseline(b *testing.B) {
	data := scalarRun(b, 20, 100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := tfevents.NewReader(bytes.NewReader(data), tfevents.Options{})
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
