package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
)

// weekAppends is a week of --watch: an append every watchEvery.
const weekAppends = int(7 * 24 * time.Hour / watchEvery) // 120,960

// liveStream writes the chunks of liveChunks one at a time, for runs too
// long to hold in memory.
type liveStream struct {
	buf  bytes.Buffer
	w    *tfevents.Writer
	next int // the next chunk
}

func newLiveStream(tb testing.TB) *liveStream {
	tb.Helper()
	s := &liveStream{}
	s.w = tfevents.NewWriter(&s.buf)
	if err := s.w.WriteFileVersion(1.7e9); err != nil {
		tb.Fatal(err)
	}
	return s
}

// chunk returns the next chunk, valid until the next call.
func (s *liveStream) chunk(tb testing.TB) []byte {
	tb.Helper()
	for step := s.next * liveSteps; step < (s.next+1)*liveSteps; step++ {
		for i := range liveTags {
			if err := s.w.WriteScalar(fmt.Sprintf("metrics/m%02d", i), int64(step), 1.7e9+float64(step), float64(step*i%97)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	s.next++
	out := bytes.Clone(s.buf.Bytes())
	s.buf.Reset()
	return out
}

// weekResult is what a simulated stretch of --watch left.
type weekResult struct {
	appends      int
	bytes        int64
	objects      int           // stored objects of the file at the end
	exportReads  int64         // objects an export opened
	replayReads  int64         // raw objects a cold load read
	took         time.Duration // sending, checkpoints and compactions
	exportDigest [32]byte
	sentDigest   [32]byte
}

// simulateWatch sends appends chunks to a file on st, one every
// watchEvery of a fake clock, with checkpoints as the engine makes them
// (cfg.FlushInterval, default 5 s), and waits for the compactions; then
// it exports the file and loads its run cold, counting the raw objects
// each reads.
func simulateWatch(tb testing.TB, st store.Store, cfg Config, appends int) weekResult {
	tb.Helper()
	ctx := context.Background()
	clock := newFakeClock()
	cfg.Store, cfg.Now = st, clock.Now
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "week"})
	if err != nil {
		tb.Fatal(err)
	}
	res := weekResult{appends: appends}
	sent := sha256.New()
	stream := newLiveStream(tb)
	start := time.Now()
	for i := range appends {
		c := stream.chunk(tb)
		if _, err := e.Append(ctx, b.ID, liveRun, liveName, res.bytes, c); err != nil {
			tb.Fatalf("append %d: %v", i, err)
		}
		sent.Write(c)
		res.bytes += int64(len(c))
		clock.Advance(watchEvery)
	}
	if err := e.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	e.waitCompactions()
	res.took = time.Since(start)
	sent.Sum(res.sentDigest[:0])
	res.objects = objectsOf(tb, st, b.ID)

	cs := &countingReads{Store: st}
	cold, err := New(Config{Store: cs, CompactParts: -1})
	if err != nil {
		tb.Fatal(err)
	}
	exported := sha256.New()
	if err := cold.CopyRaw(ctx, exported, b.ID, liveRun, liveName, res.bytes); err != nil {
		tb.Fatal(err)
	}
	exported.Sum(res.exportDigest[:0])
	res.exportReads = cs.raw.Swap(0)
	r, err := cold.FindRun(ctx, b.ID, liveRun)
	if err != nil {
		tb.Fatal(err)
	}
	res.replayReads = cs.raw.Load()
	fs := r.Digest().Files[liveName]
	if want := 1 + int64(appends*liveSteps*liveTags); fs.GetSize() != res.bytes || fs.GetRecords() != want {
		tb.Fatalf("a cold load holds %d bytes and %d records; want %d and %d", fs.GetSize(), fs.GetRecords(), res.bytes, want)
	}
	for _, ti := range r.Samples().Tags() {
		if ti.Count != int64(appends*liveSteps) {
			tb.Fatalf("a cold load counts %d values of %s; want %d", ti.Count, ti.Tag, appends*liveSteps)
		}
	}
	return res
}

// check fails tb unless the export is byte-identical, the file holds at
// most max objects, the export read no more than those, and the cold load
// read no raw object (the last checkpoint counts every byte).
func (r weekResult) check(tb testing.TB, max int) {
	tb.Helper()
	if r.exportDigest != r.sentDigest {
		tb.Errorf("the export differs from the %d bytes sent", r.bytes)
	}
	if r.objects > max {
		tb.Errorf("%d appends left %d objects; want at most %d", r.appends, r.objects, max)
	}
	if r.exportReads > int64(r.objects) {
		tb.Errorf("the export read %d objects of the %d stored", r.exportReads, r.objects)
	}
	if r.replayReads != 0 {
		tb.Errorf("a cold load after the last checkpoint read %d raw objects", r.replayReads)
	}
}

// A week of --watch ends with at most 64 objects for the file. The test
// sends a fraction of the week with segments as much smaller, so that the
// file ends in as many segments as a week's (BenchmarkWatchWeek sends the
// whole week).
func TestCompactWatchWeek(t *testing.T) {
	scale := 40
	if testing.Short() {
		scale = 160
	}
	for _, sc := range compactStores() {
		t.Run(sc.name, func(t *testing.T) {
			r := simulateWatch(t, sc.new(t), Config{SegmentBytes: defaultSegmentBytes / int64(scale)}, weekAppends/scale)
			r.check(t, 64)
			t.Logf("%s store: %d appends (%.1f MiB) left %d objects (export read %d) in %v", sc.name, r.appends, float64(r.bytes)/(1<<20), r.objects, r.exportReads, r.took.Round(time.Millisecond))
		})
	}
}

// BenchmarkWatchWeek sends a week of --watch (120,960 appends of about
// 3.6 KiB, an append every 5 s of a fake clock) to a memory store, with
// compaction and without, and reports the file's objects at the end and
// the objects an export reads. On fake-gcs-server (which copies a whole
// segment per compose) it sends a tenth of the week with segments a tenth
// as big. Run it once: go test -run '^$' -bench WatchWeek -benchtime 1x.
func BenchmarkWatchWeek(b *testing.B) {
	cases := []struct {
		name    string
		store   func(testing.TB) store.Store
		cfg     Config
		appends int
	}{
		{"mem", func(testing.TB) store.Store { return store.NewMem() }, Config{}, weekAppends},
		{"mem-uncompacted", func(testing.TB) store.Store { return store.NewMem() }, Config{CompactParts: -1}, weekAppends},
		{"gcs-tenth", func(tb testing.TB) store.Store { return storetest.StrictFakeGCSStore(tb) }, Config{SegmentBytes: defaultSegmentBytes / 10}, weekAppends / 10},
		{"gcs-tenth-uncompacted", func(tb testing.TB) store.Store { return storetest.StrictFakeGCSStore(tb) }, Config{CompactParts: -1}, weekAppends / 10},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				r := simulateWatch(b, bc.store(b), bc.cfg, bc.appends)
				if bc.cfg.CompactParts >= 0 {
					r.check(b, 64)
				} else if r.exportDigest != r.sentDigest {
					b.Error("the export differs from the bytes sent")
				}
				b.ReportMetric(float64(r.appends), "appends")
				b.ReportMetric(float64(r.objects), "objects/file")
				b.ReportMetric(float64(r.exportReads), "export-reads")
				b.ReportMetric(r.took.Seconds(), "s/run")
			}
		})
	}
}
