package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
)

func TestPlanCompaction(t *testing.T) {
	// p makes a part at off of n bytes; its key names its offset.
	p := func(off, n int64) storedPart { return storedPart{key: fmt.Sprint(off), off: off, len: n} }
	keys := func(parts []storedPart) string {
		var b strings.Builder
		for i, q := range parts {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(q.key)
		}
		return b.String()
	}
	tests := []struct {
		name      string
		parts     []storedPart
		counted   int64
		segment   int64
		groups    []string
		redundant string
	}{
		{"abutting parts merge", []storedPart{p(0, 10), p(10, 5), p(15, 5)}, 20, 100, []string{"0 10 15"}, ""},
		{"only below the checkpoint", []storedPart{p(0, 10), p(10, 5), p(15, 5), p(20, 5)}, 20, 100, []string{"0 10 15"}, ""},
		{"a part across the checkpoint stays", []storedPart{p(0, 10), p(10, 5), p(15, 5)}, 18, 100, []string{"0 10"}, ""},
		{"one part is no group", []storedPart{p(0, 10), p(10, 5)}, 12, 100, nil, ""},
		{"segments are bounded", []storedPart{p(0, 10), p(10, 10), p(20, 10), p(30, 10), p(40, 10)}, 50, 20, []string{"0 10", "20 30"}, ""},
		{"a big part is a segment of its own", []storedPart{p(0, 50), p(50, 10), p(60, 10)}, 70, 20, []string{"50 60"}, ""},
		{"a gap starts a group", []storedPart{p(0, 10), p(10, 10), p(30, 10), p(40, 10)}, 50, 100, []string{"0 10", "30 40"}, ""},
		{"an overlap starts a group", []storedPart{p(0, 10), p(10, 10), p(15, 10), p(25, 10)}, 35, 100, []string{"0 10", "15 25"}, ""},
		{
			"sources beside their segment are redundant",
			[]storedPart{p(0, 30), p(10, 10), p(20, 10), p(30, 10), p(40, 10)}, 50, 100,
			[]string{"0 30 40"}, "10 20",
		},
		{
			"a torn append's partial source starts a group",
			[]storedPart{p(0, 25), p(10, 10), p(20, 10), p(30, 10)}, 40, 100,
			[]string{"20 30"}, "10",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			groups, redundant := planCompaction(tc.parts, tc.counted, tc.segment)
			var got []string
			for _, g := range groups {
				got = append(got, keys(g))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.groups) || keys(redundant) != tc.redundant {
				t.Errorf("groups %q, redundant %q; want %q, %q", got, keys(redundant), tc.groups, tc.redundant)
			}
		})
	}
}

// fakeClock is a clock for Config.Now that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The live file of these tests.
const (
	liveRun   = "train"
	liveName  = "events.out.tfevents.1700000000.host"
	liveTags  = 16 // scalars per step
	liveSteps = 4  // steps per append: about 3.6 KiB
	// watchEvery is how often --watch sends a live file's new bytes.
	watchEvery = 5 * time.Second
)

// liveChunks returns what a live run's event file gains in each of n
// intervals: liveSteps steps of liveTags scalars each (the first also
// holds the file version record).
func liveChunks(t testing.TB, n int) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	if err := w.WriteFileVersion(1.7e9); err != nil {
		t.Fatal(err)
	}
	chunks := make([][]byte, n)
	for c := range n {
		for step := c * liveSteps; step < (c+1)*liveSteps; step++ {
			for i := range liveTags {
				if err := w.WriteScalar(fmt.Sprintf("metrics/m%02d", i), int64(step), 1.7e9+float64(step), float64(step*i%97)); err != nil {
					t.Fatal(err)
				}
			}
		}
		chunks[c] = bytes.Clone(buf.Bytes())
		buf.Reset()
	}
	return chunks
}

// liveFile is a live run's file being sent to an engine.
type liveFile struct {
	t      testing.TB
	e      *Engine
	st     store.Store
	clock  *fakeClock
	id     string
	data   []byte // sent so far
	chunks [][]byte
	next   int // the next chunk to send
}

// newLiveFile makes an engine over st with a board, to send chunks to.
func newLiveFile(t testing.TB, st store.Store, cfg Config, chunks [][]byte) *liveFile {
	t.Helper()
	clock := newFakeClock()
	cfg.Store, cfg.Now = st, clock.Now
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.CreateBoard(context.Background(), BoardSpec{Name: "live"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Flush(context.Background()); e.waitCompactions() })
	return &liveFile{t: t, e: e, st: st, clock: clock, id: b.ID, chunks: chunks}
}

// send appends the next n chunks, one every watchEvery of the clock.
func (f *liveFile) send(n int) {
	f.t.Helper()
	for range n {
		c := f.chunks[f.next]
		if _, err := f.e.Append(context.Background(), f.id, liveRun, liveName, int64(len(f.data)), c); err != nil {
			f.t.Fatalf("append %d: %v", f.next, err)
		}
		f.data = append(f.data, c...)
		f.next++
		f.clock.Advance(watchEvery)
	}
}

// checkpoint writes the run's checkpoint and waits for the compactions
// it starts.
func (f *liveFile) checkpoint() {
	f.t.Helper()
	if err := f.e.Flush(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.e.waitCompactions()
}

// objects counts the stored objects of the file.
func objectsOf(t testing.TB, st store.Store, id string) int {
	t.Helper()
	objs, err := st.List(context.Background(), rawFilePrefix(id, liveRun, liveName), "")
	if err != nil {
		t.Fatal(err)
	}
	return len(objs)
}

// checkFile checks what an engine new to st makes of the file: its
// export is want byte for byte, its size is len(want), and every step of
// every tag is counted once.
func checkFile(t testing.TB, st store.Store, id string, want []byte) {
	t.Helper()
	e, err := New(Config{Store: st, CompactParts: -1})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := e.CopyRaw(context.Background(), &got, id, liveRun, liveName, int64(len(want))); err != nil {
		t.Fatalf("export: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("export differs: %d bytes, want %d", got.Len(), len(want))
	}
	r, err := e.FindRun(context.Background(), id, liveRun)
	if err != nil {
		t.Fatal(err)
	}
	fs := r.Digest().Files[liveName]
	steps := int64(countSteps(t, want))
	if fs.GetSize() != int64(len(want)) || fs.GetRecords() != 1+steps*liveTags {
		t.Fatalf("a cold load holds %d bytes and %d records; want %d and %d", fs.GetSize(), fs.GetRecords(), len(want), 1+steps*liveTags)
	}
	for _, ti := range r.Samples().Tags() {
		if ti.Count != steps {
			t.Fatalf("a cold load counts %d values of %s; want %d", ti.Count, ti.Tag, steps)
		}
	}
}

// countSteps counts the steps of liveChunks in data.
func countSteps(t testing.TB, data []byte) int {
	t.Helper()
	sc := tfevents.NewScanner(bytes.NewReader(data), tfevents.Options{})
	defer sc.Close()
	n := 0
	for sc.Scan() {
		if v := sc.Value(); v.Tag == "metrics/m00" {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// compactStores are the stores compaction is tested on.
func compactStores() []struct {
	name string
	new  func(t testing.TB) store.Store
} {
	return []struct {
		name string
		new  func(t testing.TB) store.Store
	}{
		{"mem", func(testing.TB) store.Store { return store.NewMem() }},
		{"dir", func(t testing.TB) store.Store {
			s, err := store.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"gcs", func(t testing.TB) store.Store { return storetest.StrictFakeGCSStore(t) }},
	}
}

// A file sent live is merged into segments as checkpoints count its parts,
// leaving a handful of objects that read as the parts did; a cold load
// reads only the parts past the checkpoint.
func TestCompactLiveFile(t *testing.T) {
	const appends = 400
	chunks := liveChunks(t, appends+3)
	for _, sc := range compactStores() {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			const segment = 256 << 10 // about 70 appends
			f := newLiveFile(t, st, Config{SegmentBytes: segment}, chunks)
			f.send(appends)
			f.checkpoint()
			segments := (len(f.data) + segment - 1) / segment
			if n := objectsOf(t, st, f.id); n > segments+defaultCompactParts {
				t.Errorf("%d appends left %d objects; want at most %d segments and %d parts", appends, n, segments, defaultCompactParts)
			}
			checkFile(t, st, f.id, f.data)

			// Appends the checkpoint lacks: a cold load reads those only.
			f.send(3)
			lag := 0
			for end, i := int64(len(f.data)), f.next-1; end > storedSize(t, st, f.id); i-- {
				end -= int64(len(chunks[i]))
				lag++
			}
			cs := &countingReads{Store: st}
			e, err := New(Config{Store: cs, CompactParts: -1})
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.FindRun(context.Background(), f.id, liveRun)
			if err != nil {
				t.Fatal(err)
			}
			if size := r.Digest().Files[liveName].GetSize(); size != int64(len(f.data)) {
				t.Errorf("a cold load holds %d bytes; want %d", size, len(f.data))
			}
			if got := cs.raw.Load(); got != int64(lag) {
				t.Errorf("a cold load read %d raw objects; want the %d past the checkpoint", got, lag)
			}
			checkFile(t, st, f.id, f.data)
		})
	}
}

// storedSize returns the size of the file its stored checkpoint counts.
func storedSize(t testing.TB, st store.Store, id string) int64 {
	t.Helper()
	raw, _, err := st.Get(context.Background(), digestKey(id, liveRun))
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := decodeDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Files[liveName].GetSize()
}

// countingReads counts the raw objects read.
type countingReads struct {
	store.Store
	raw atomic.Int64
}

func (c *countingReads) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if strings.Contains(key, "/raw/") {
		c.raw.Add(1)
	}
	return c.Store.Get(ctx, key)
}

func (c *countingReads) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if strings.Contains(key, "/raw/") {
		c.raw.Add(1)
	}
	return c.Store.Open(ctx, key, off)
}

// prepareParts sends parts appends to a memory store with compaction off,
// checkpoints them, and sends lag appends more that no checkpoint counts.
// It returns the file and the size its checkpoint counts.
func prepareParts(t *testing.T, st store.Store, chunks [][]byte, parts, lag int) (*liveFile, int64) {
	t.Helper()
	f := newLiveFile(t, st, Config{CompactParts: -1, FlushInterval: time.Hour}, chunks)
	f.send(parts)
	f.checkpoint()
	counted := int64(len(f.data))
	f.send(lag)
	return f, counted
}

// A compaction that stops at any of its writes, as a crash would stop it
// (the write fails and so does every later one), or whose write lands but
// reports an error, leaves a file that exports byte for byte, counts
// every value once, and tells its size; a compaction after it finishes the
// job.
func TestCompactCrashAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	const parts, lag = 70, 3
	chunks := liveChunks(t, parts+lag)
	// A compaction's writes: composes and deletes.
	mem := store.NewMem()
	f, counted := prepareParts(t, mem, chunks, parts, lag)
	count := storetest.NewFaulty(mem, 0)
	e, err := New(Config{Store: count, CompactParts: -1})
	if err != nil {
		t.Fatal(err)
	}
	full, err := e.compactFile(ctx, f.id, liveRun, liveName, counted)
	if err != nil {
		t.Fatal(err)
	}
	writes := count.Writes()
	if full.composes != 3 || full.deleted != parts-1 || writes != full.composes+full.deleted {
		t.Fatalf("a compaction of %d parts: %+v in %d writes; want 3 composes and %d deletes", parts, full, writes, parts-1)
	}
	checkFile(t, mem, f.id, f.data)

	for _, after := range []bool{false, true} {
		for n := 1; n <= writes; n++ {
			t.Run(fmt.Sprintf("after=%v/write=%d", after, n), func(t *testing.T) {
				mem := store.NewMem()
				f, counted := prepareParts(t, mem, chunks, parts, lag)
				faulty := storetest.NewFaulty(mem, n)
				faulty.SetFailAt(n, true)
				faulty.SetAfter(after)
				e, err := New(Config{Store: faulty, CompactParts: -1})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.compactFile(ctx, f.id, liveRun, liveName, counted); err == nil {
					t.Fatalf("the compaction went on past its failed write %d", n)
				}
				checkFile(t, mem, f.id, f.data)
				again, err := New(Config{Store: mem, CompactParts: -1})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := again.compactFile(ctx, f.id, liveRun, liveName, counted); err != nil {
					t.Fatalf("compaction after the crash: %v", err)
				}
				if got, want := objectsOf(t, mem, f.id), 1+lag; got != want {
					t.Errorf("after the crash and a compaction the file has %d objects; want %d", got, want)
				}
				checkFile(t, mem, f.id, f.data)
			})
		}
	}
}

// A crash in the middle of a directory store's in-place append leaves the
// segment longer than its generation says, ending inside a source: the
// file still reads as it did, and the next compaction merges on from it.
func TestCompactAfterTornAppend(t *testing.T) {
	ctx := context.Background()
	const parts = 40
	chunks := liveChunks(t, parts)
	root := t.TempDir()
	dir, err := store.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	f, counted := prepareParts(t, dir, chunks, parts, 0)
	// The first part gains the next five parts and half of the sixth.
	tail := bytes.Join(chunks[1:6], nil)
	tail = append(tail, chunks[6][:len(chunks[6])/2]...)
	head := filepath.Join(root, filepath.FromSlash(rawPartKey(f.id, liveRun, liveName, 0)))
	w, err := os.OpenFile(head, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(tail); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, dir, f.id, f.data)
	e, err := New(Config{Store: dir, CompactParts: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.compactFile(ctx, f.id, liveRun, liveName, counted)
	if err != nil {
		t.Fatal(err)
	}
	// Parts 1 to 5 are redundant; 6 to 39 merge into 6.
	if got := objectsOf(t, dir, f.id); got != 2 || st.deleted != 5+33 {
		t.Errorf("after a torn append and a compaction: %d objects, %+v; want 2 objects and 38 deletes", got, st)
	}
	checkFile(t, dir, f.id, f.data)
}

// Servers compacting one file at once, while another appends to it and
// checkpoints it, lose no byte: the file reads as sent throughout.
func TestCompactRace(t *testing.T) {
	ctx := context.Background()
	const appends, every = 300, 10
	chunks := liveChunks(t, appends)
	for _, sc := range []string{"mem", "gcs"} {
		t.Run(sc, func(t *testing.T) {
			var st store.Store = store.NewMem()
			if sc == "gcs" {
				st = storetest.StrictFakeGCSStore(t)
			}
			f := newLiveFile(t, st, Config{CompactParts: -1, FlushInterval: time.Hour, SegmentBytes: 64 << 10}, chunks)
			var counted atomic.Int64
			done := make(chan struct{})
			var wg sync.WaitGroup
			var conflicts atomic.Int64
			for range 3 {
				e, err := New(Config{Store: st, CompactParts: -1, SegmentBytes: 64 << 10})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						_, err := e.compactFile(ctx, f.id, liveRun, liveName, counted.Load())
						switch kind.Of(err) {
						case kind.Conflict, kind.NotFound:
							conflicts.Add(1)
						default:
							if err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			for sent := 0; sent < appends; sent += every {
				f.send(every)
				f.checkpoint()
				counted.Store(int64(len(f.data)))
			}
			close(done)
			wg.Wait()
			t.Logf("%d compactions stopped by another's writes", conflicts.Load())
			checkFile(t, st, f.id, f.data)
			if _, err := f.e.compactFile(ctx, f.id, liveRun, liveName, int64(len(f.data))); err != nil {
				t.Fatal(err)
			}
			if got, want := objectsOf(t, st, f.id), (len(f.data)+(64<<10)-1)/(64<<10)+1; got > want {
				t.Errorf("after the race and a compaction the file has %d objects; want at most %d", got, want)
			}
			checkFile(t, st, f.id, f.data)
		})
	}
}

// Compactions stopped at random writes, between rounds of appends and
// checkpoints, leave segments beside sources beside new parts in every
// mixture; the file reads as sent after each, and a last compaction leaves
// only segments and the parts past the checkpoint.
func TestCompactRepeatedCrashes(t *testing.T) {
	const rounds = 40
	chunks := liveChunks(t, rounds*40)
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { repeatCrashes(t, seed, rounds, chunks) })
	}
}

func repeatCrashes(t *testing.T, seed uint64, rounds int, chunks [][]byte) {
	ctx := context.Background()
	const segment = 48 << 10
	rng := rand.New(rand.NewPCG(seed, 1))
	mem := store.NewMem()
	f := newLiveFile(t, mem, Config{CompactParts: -1, FlushInterval: time.Hour}, chunks)
	for round := range rounds {
		f.send(1 + rng.IntN(39))
		f.checkpoint()
		counted := int64(len(f.data))
		f.send(rng.IntN(3)) // past the checkpoint
		faulty := storetest.NewFaulty(mem, 0)
		faulty.SetFailAt(1+rng.IntN(40), true)
		faulty.SetAfter(rng.IntN(2) == 0)
		e, err := New(Config{Store: faulty, CompactParts: -1, SegmentBytes: segment})
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.compactFile(ctx, f.id, liveRun, liveName, counted)
		if err != nil && !errors.Is(err, storetest.ErrInjected) {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: %d bytes, %+v, stopped: %v", round, len(f.data), st, err != nil)
		checkFile(t, mem, f.id, f.data)
	}
	f.checkpoint()
	e, err := New(Config{Store: mem, CompactParts: -1, SegmentBytes: segment})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.compactFile(ctx, f.id, liveRun, liveName, int64(len(f.data))); err != nil {
		t.Fatal(err)
	}
	checkFile(t, mem, f.id, f.data)
	if got, max := objectsOf(t, mem, f.id), 2*(len(f.data)/segment+1); got > max {
		t.Errorf("after the last compaction the file has %d objects; want at most %d", got, max)
	}
}

// A server whose writer predates another's compaction re-sends a part:
// at a segment's first offset (the segment's key) or at an offset inside
// one (a source merged into it). The segment keeps its bytes, the answer
// is the server's size, and the file exports as sent.
func TestStaleResendAfterCompaction(t *testing.T) {
	const k = 8 // parts per segment
	chunks := liveChunks(t, 3*k+4)
	offset := func(n int) int64 {
		var off int64
		for _, c := range chunks[:n] {
			off += int64(len(c))
		}
		return off
	}
	for _, sc := range compactStores() {
		for _, tt := range []struct {
			name  string
			at    int  // the part B's writer stops at
			batch bool // B is sent the part in a batch
		}{
			{"at a segment's key", k, false}, {"inside a segment", k + 2, false},
			{"batch/at a segment's key", k, true}, {"batch/inside a segment", k + 2, true},
		} {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				st := sc.new(t)
				a := newLiveFile(t, st, Config{CompactParts: 4, FlushInterval: time.Hour, SegmentBytes: offset(k)}, chunks)
				b, err := New(Config{Store: st, CacheTTL: time.Hour, FlushInterval: time.Hour, CompactParts: -1, Now: a.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Flush(context.Background()); b.waitCompactions() })

				// B's writer learns the file up to part tt.at, from a
				// re-sent part.
				a.send(tt.at)
				res, err := b.Append(ctx, a.id, liveRun, liveName, offset(tt.at-1), chunks[tt.at-1])
				if err != nil {
					t.Fatal(err)
				}
				if res.Size != offset(tt.at) {
					t.Fatalf("B answers size %d; want %d", res.Size, offset(tt.at))
				}
				// A sends the rest, checkpoints and compacts.
				a.send(len(chunks) - tt.at)
				a.checkpoint()
				seg, _, err := st.Get(ctx, rawPartKey(a.id, liveRun, liveName, offset(k)))
				if err != nil || int64(len(seg)) <= int64(len(chunks[k])) {
					t.Fatalf("no segment at part %d: %d bytes, %v", k, len(seg), err)
				}
				checkFile(t, st, a.id, a.data)

				// B, stale, is sent part tt.at again.
				if tt.batch {
					pieces := []Piece{{Run: liveRun, File: liveName, Offset: offset(tt.at), Len: int64(len(chunks[tt.at]))}}
					rs, err := b.AppendBatch(ctx, a.id, chunks[tt.at], pieces)
					if err != nil {
						t.Fatal(err)
					}
					if rs[0].Err != nil {
						t.Fatal(rs[0].Err)
					}
					res = rs[0].AppendResult
				} else if res, err = b.Append(ctx, a.id, liveRun, liveName, offset(tt.at), chunks[tt.at]); err != nil {
					t.Fatal(err)
				}
				if res.Size <= offset(tt.at) || res.Size > int64(len(a.data)) {
					t.Errorf("B answers size %d; want more than %d, at most %d", res.Size, offset(tt.at), len(a.data))
				}
				if tt.at == k && !tt.batch && res.Size != int64(len(a.data)) {
					t.Errorf("B answers size %d; want the stored %d", res.Size, len(a.data))
				}
				checkFile(t, st, a.id, a.data)
				if err := b.SettleBoard(ctx, a.id); err != nil {
					t.Fatal(err)
				}
				if err := b.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				r, err := b.FindRun(ctx, a.id, liveRun)
				if err != nil {
					t.Fatal(err)
				}
				if size := r.Digest().Files[liveName].GetSize(); size != int64(len(a.data)) {
					t.Errorf("after its checkpoint B holds %d bytes; want %d", size, len(a.data))
				}
				checkFile(t, st, a.id, a.data)
			})
		}
	}
}

// compactOnList compacts a file, as another server would, right after
// it answers the first listing of the file's parts from a start key (a
// replay's): every part is merged into the first, and the others are
// deleted, before the replay reads them.
type compactOnList struct {
	store.Store
	prefix string
	done   atomic.Bool
}

func (c *compactOnList) List(ctx context.Context, prefix, start string) ([]store.ObjectInfo, error) {
	objs, err := c.Store.List(ctx, prefix, start)
	if err != nil || prefix != c.prefix || start == "" || !c.done.CompareAndSwap(false, true) {
		return objs, err
	}
	all, err := c.Store.List(ctx, prefix, "")
	if err != nil {
		return nil, err
	}
	var seg []byte
	for _, o := range all {
		data, _, err := c.Store.Get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		seg = append(seg, data...)
	}
	if err := c.Store.Put(ctx, all[0].Key, seg); err != nil {
		return nil, err
	}
	for _, o := range all[1:] {
		if err := c.Store.Delete(ctx, o.Key); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// A replay whose listed parts another server's compaction deletes before
// they are read lists the file again and reads the segment that holds
// them, from the first byte it lacks.
func TestReplayMeetsACompaction(t *testing.T) {
	const parts = 20
	chunks := liveChunks(t, parts)
	for _, sc := range compactStores() {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			// The first append is checkpointed at once; the rest are not.
			f := newLiveFile(t, st, Config{CompactParts: -1, FlushInterval: time.Hour}, chunks)
			f.send(parts)
			if got := storedSize(t, st, f.id); got != int64(len(chunks[0])) {
				t.Fatalf("the checkpoint counts %d bytes; want the first part's %d", got, len(chunks[0]))
			}
			cs := &compactOnList{Store: st, prefix: rawFilePrefix(f.id, liveRun, liveName)}
			e, err := New(Config{Store: cs, CompactParts: -1})
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.FindRun(context.Background(), f.id, liveRun)
			if err != nil {
				t.Fatal(err)
			}
			if !cs.done.Load() {
				t.Fatal("the replay listed no parts")
			}
			fs := r.Digest().Files[liveName]
			if fs.GetSize() != int64(len(f.data)) || fs.GetRecords() != 1+parts*liveSteps*liveTags {
				t.Errorf("the replay holds %d bytes and %d records; want %d and %d", fs.GetSize(), fs.GetRecords(), len(f.data), 1+parts*liveSteps*liveTags)
			}
			if n := objectsOf(t, st, f.id); n != 1 {
				t.Errorf("%d objects after the compaction; want 1", n)
			}
			checkFile(t, st, f.id, f.data)
		})
	}
}
