package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"

	"google.golang.org/protobuf/proto"
)

// scalarFile returns an event file of n scalars of tag.
func scalarFile(t *testing.T, tag string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	for step := range int64(n) {
		if err := w.WriteScalar(tag, step, float64(step), float64(step%5)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestMergeParts: a file's own parts and its extents interleave in offset
// order, and of two at one offset the longer comes last, so trimming at
// the next offset keeps it.
func TestMergeParts(t *testing.T) {
	own := []rawPart{{key: "p0", off: 0, len: 10}, {key: "p30", off: 30, len: 5}}
	ext := []rawPart{{key: "b1", off: 10, len: 20, inBatch: true}, {key: "b2", off: 30, len: 8, inBatch: true}}
	got := mergeParts(own, ext)
	want := []string{"p0", "b1", "p30", "b2"}
	if len(got) != len(want) {
		t.Fatalf("merged %v", got)
	}
	for i, k := range want {
		if got[i].key != k {
			t.Errorf("part %d is %s, want %s (%v)", i, got[i].key, k, got)
		}
	}
	if got := mergeParts(own, nil); len(got) != 2 {
		t.Errorf("no extents: %v", got)
	}
}

// A run whose file came in a batch is parsed again from the start when a
// file that sorts before it turns up in the store (another server's
// append its checkpoint lost): the batch's bytes are still found, through
// the extents the rebuild keeps, and the export of the file is whole.
func TestReplayRebuildKeepsExtents(t *testing.T) {
	ctx := context.Background()
	e, id := newTestEngine(t)
	b := scalarFile(t, "b", 50)
	a := scalarFile(t, "a", 30)
	object := append([]byte("header"), b...)
	res, err := e.AppendBatch(ctx, id, object, []Piece{{Run: "train", File: "f2", Offset: 0, Pos: 6, Len: int64(len(b))}})
	if err != nil || res[0].Err != nil || res[0].Size != int64(len(b)) {
		t.Fatalf("batch: %v %+v", err, res)
	}
	if err := e.store.Put(ctx, rawPartKey(id, "train", "f1", 0), a); err != nil {
		t.Fatal(err)
	}
	cold, err := New(Config{Store: e.store, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cold.FindRun(ctx, id, "train")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.d.Files["f1"].GetSize(); got != int64(len(a)) {
		t.Errorf("f1: %d bytes counted, want %d", got, len(a))
	}
	if got := r.d.Files["f2"].GetSize(); got != int64(len(b)) {
		t.Errorf("f2: %d bytes counted, want %d", got, len(b))
	}
	counts := map[string]int64{}
	for _, ti := range r.s.Tags() {
		counts[ti.Tag] = ti.Count
	}
	if counts["a"] != 30 || counts["b"] != 50 || len(counts) != 2 {
		t.Errorf("values per tag %v, want a: 30, b: 50", counts)
	}
	var out bytes.Buffer
	if err := cold.CopyRaw(ctx, &out, id, "train", "f2", int64(len(b))); err != nil || !bytes.Equal(out.Bytes(), b) {
		t.Errorf("export of f2: %v, %d bytes, equal %v", err, out.Len(), bytes.Equal(out.Bytes(), b))
	}
}

// A batch whose object or pending marker cannot be stored applies
// nothing. One whose checkpoints cannot be written is answered all the
// same: its marker stands for them, on this engine and on a new one, and
// once the store takes writes again the next listing writes them and
// deletes the marker.
func TestBatchStoreFailures(t *testing.T) {
	ctx := context.Background()
	e, id := newTestEngine(t)
	mem := e.store
	data := scalarFile(t, "loss", 10)
	pieces := []Piece{{Run: "r", File: "f", Pos: 0, Len: int64(len(data))}}
	for _, part := range []string{"batch/", "pending/"} {
		e.store = failingPuts{mem, part}
		if _, err := e.AppendBatch(ctx, id, data, pieces); err == nil {
			t.Fatalf("a batch whose %s object was not stored succeeded", part)
		}
		for _, eng := range []*Engine{e, newEngineOn(t, mem)} {
			if _, err := eng.FindRun(ctx, id, "r"); kind.Of(err) != kind.NotFound {
				t.Errorf("after a failed %s write the run is there (%v)", part, err)
			}
		}
	}
	e.store = failingPuts{mem, "digest/"}
	res, err := e.AppendBatch(ctx, id, data, pieces)
	if err != nil || res[0].Err != nil || res[0].Size != int64(len(data)) {
		t.Fatalf("a batch whose checkpoint was not written: %v %+v", err, res)
	}
	if err := e.SettleBoard(ctx, id); err == nil {
		t.Error("settled a batch whose checkpoint could not be written")
	}
	for _, eng := range []*Engine{e, newEngineOn(t, mem)} {
		runs, err := eng.Runs(ctx, id)
		if err != nil || len(runs) != 1 || runs[0].d.Files["f"].GetSize() != int64(len(data)) || tagCount(runs[0], "loss") != 10 {
			t.Errorf("the run of a batch not checkpointed: %v, %d runs", err, len(runs))
		}
	}
	e.store = mem
	if _, err := e.Runs(ctx, id); err != nil { // a listing settles what is idle
		t.Fatal(err)
	}
	if err := e.SettleBoard(ctx, id); err != nil {
		t.Fatal(err)
	}
	if left := objectsUnder(t, mem, pendingPrefix(id)); len(left) != 0 {
		t.Errorf("markers left: %v", left)
	}
	if _, _, err := mem.Get(ctx, digestKey(id, "r")); err != nil {
		t.Errorf("no checkpoint after the store came back: %v", err)
	}
}

// newEngineOn returns a new engine (a new server) on st.
func newEngineOn(t *testing.T, st store.Store) *Engine {
	t.Helper()
	e, err := New(Config{Store: st, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// objectsUnder lists the keys below prefix.
func objectsUnder(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	objs, err := st.List(context.Background(), prefix, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// tagCount returns the values a run counted for tag.
func tagCount(r *Run, tag string) int64 {
	for _, ti := range r.s.Tags() {
		if ti.Tag == tag {
			return ti.Count
		}
	}
	return 0
}

// filePiece is bytes of a file of a run, from off.
type filePiece struct {
	run, file string
	off       int64
	data      []byte
}

// logDirPieces cuts every file of a log dir into pieces of at most chunk
// bytes (records cut in two included), in upload order.
func logDirPieces(t testing.TB, dir string, chunk int) []filePiece {
	t.Helper()
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []filePiece
	for _, r := range runs {
		for _, f := range r.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; ; off += chunk {
				end := min(off+chunk, len(data))
				out = append(out, filePiece{r.Name, filepath.Base(f), int64(off), data[off:end]})
				if end == len(data) {
					break
				}
			}
		}
	}
	return out
}

// sweepPieces returns a sweep of n runs of one small file each (a file
// version and three scalars), written by the project's Writer.
func sweepPieces(t testing.TB, n int) []filePiece {
	t.Helper()
	out := make([]filePiece, 0, n)
	for i := range n {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		err := w.WriteFileVersion(1.7e9)
		for s := range 3 {
			if err == nil {
				err = w.WriteScalar("loss", int64(s), 1.7e9+float64(s), 1/float64(s+1+i%7))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filePiece{fmt.Sprintf("lr=%d/seed=%d", i/100, i%100), "events.out.tfevents.1700000000.host", 0, buf.Bytes()})
	}
	return out
}

// encodeBatch lays pieces out in one object, as a batch request's body.
func encodeBatch(fps []filePiece) ([]byte, []Piece) {
	object := []byte("TBB1")
	pieces := make([]Piece, len(fps))
	for i, p := range fps {
		object = append(object, byte(i)) // some framing between pieces
		pieces[i] = Piece{Run: p.run, File: p.file, Offset: p.off, Pos: int64(len(object)), Len: int64(len(p.data))}
		object = append(object, p.data...)
	}
	return object, pieces
}

// uploadBatches sends fps in batches of per pieces, resending from the
// offsets the engine reports after a failure, as the client does. It
// gives up (false) after tries failures in a row.
func uploadBatches(t testing.TB, e *Engine, id string, fps []filePiece, per, tries int) bool {
	t.Helper()
	ctx := context.Background()
	held := map[[2]string]int64{}
	have := map[[2]string]bool{}
	for i := 0; i < len(fps); i += per {
		batch := fps[i:min(i+per, len(fps))]
		for try := 0; ; try++ {
			if try == tries {
				return false
			}
			var send []filePiece
			for _, p := range batch {
				k := [2]string{p.run, p.file}
				if end := p.off + int64(len(p.data)); end > held[k] || end == 0 && !have[k] {
					send = append(send, p)
				}
			}
			object, pieces := encodeBatch(send)
			res, err := e.AppendBatch(ctx, id, object, pieces)
			ok := err == nil
			for _, r := range res {
				ok = ok && r.Err == nil
			}
			if ok {
				for _, p := range send {
					k := [2]string{p.run, p.file}
					held[k], have[k] = p.off+int64(len(p.data)), true
				}
				break
			}
			runs, err := e.Runs(ctx, id)
			if err != nil {
				continue
			}
			clear(held)
			clear(have)
			for _, r := range runs {
				for name, fs := range r.d.Files {
					held[[2]string{r.d.Run, name}], have[[2]string{r.d.Run, name}] = fs.Size, true
				}
			}
		}
	}
	return true
}

// runState is a run's state in comparable form: its digest (extents
// without their batch names, which are random; with full, without
// extents, last parts and times, which depend on how the bytes came) and
// its sampler state.
type runState struct {
	digest  []byte
	sampler []byte
}

// boardStates returns the states of the runs of a board as engine e has
// them, by run name.
func boardStates(t testing.TB, e *Engine, id string, full bool) map[string]runState {
	t.Helper()
	runs, err := e.Runs(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]runState{}
	for _, r := range runs {
		out[r.d.Run] = stateOf(t, r, full)
	}
	return out
}

func stateOf(t testing.TB, r *Run, full bool) runState {
	t.Helper()
	d := proto.CloneOf(r.d)
	d.Sampler = nil
	for _, fs := range d.Files {
		if !full {
			fs.Extents, fs.LastPart = nil, nil
			continue
		}
		for _, e := range fs.Extents {
			e.Batch = ""
		}
	}
	if !full {
		d.UpdatedUnixNano = 0
	}
	db, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := r.s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return runState{db, sb}
}

// sameStates reports the runs whose states differ.
func sameStates(t testing.TB, what string, got, want map[string]runState) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d runs, want %d", what, len(got), len(want))
	}
	bad := 0
	for run, w := range want {
		g, ok := got[run]
		switch {
		case !ok:
			t.Errorf("%s: run %q missing", what, run)
		case !bytes.Equal(g.digest, w.digest):
			t.Errorf("%s: run %q: file states and tags differ", what, run)
		case !bytes.Equal(g.sampler, w.sampler):
			t.Errorf("%s: run %q: sampler states differ", what, run)
		default:
			continue
		}
		if bad++; bad == 5 {
			t.Fatalf("%s: more runs differ", what)
		}
	}
}

// fixedClock is a clock standing still, so that two uploads record the
// same times.
func fixedClock() time.Time { return time.Unix(1_700_000_000, 0) }

// newBatchEngine returns an engine on st with a clock standing still,
// on a store it alone writes; with settle false its background
// checkpoints wait until the returned release is called.
func newBatchEngine(t testing.TB, st store.Store, syncSettle, settle bool) (*Engine, func()) {
	t.Helper()
	e, err := New(Config{Store: st, FlushInterval: time.Hour, CacheTTL: -1, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	e.batches.syncSettle = syncSettle
	release := func() {}
	if !settle {
		hold := make(chan struct{})
		e.batches.hold = hold
		var once sync.Once
		release = func() { once.Do(func() { close(hold) }) }
		t.Cleanup(release)
	}
	return e, release
}

// TestPendingStateEqualsCheckpointed: a batch's runs read the same
// (sampler state, tags, file states and extents) whether their
// checkpoints were written before the answer (syncSettle, the path
// before pending markers), are still pending (the answering engine's
// writers, and a new engine that replays the markers), or were written
// in the background (a new engine reading the digests), on the generated
// corpus and on a sweep of 10,000 runs.
func TestPendingStateEqualsCheckpointed(t *testing.T) {
	for _, tc := range []struct {
		name string
		fps  func(testing.TB) []filePiece
		per  int
	}{
		{"generated", func(t testing.TB) []filePiece { return logDirPieces(t, tfeventstest.Generate(t).LogDir, 4096) }, 7},
		{"sweep", func(t testing.TB) []filePiece { return sweepPieces(t, sweepRuns()) }, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fps := tc.fps(t)
			upload := func(syncSettle, settle bool) (*Engine, store.Store, string, func()) {
				st := store.NewMem()
				e, release := newBatchEngine(t, st, syncSettle, settle)
				b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "batch"})
				if err != nil {
					t.Fatal(err)
				}
				if !uploadBatches(t, e, b.ID, fps, tc.per, 1) {
					t.Fatal("a batch failed")
				}
				return e, st, b.ID, release
			}
			se, sst, sid, _ := upload(true, true)
			if left := objectsUnder(t, sst, pendingPrefix(sid)); len(left) != 0 {
				t.Fatalf("checkpoints before the answer left markers: %v", left)
			}
			want := boardStates(t, se, sid, true)
			if len(want) == 0 {
				t.Fatal("no runs")
			}
			cold, _ := newBatchEngine(t, sst, false, true)
			sameStates(t, "checkpointed before the answer, read by a new engine", boardStates(t, cold, sid, true), want)

			ae, ast, aid, release := upload(false, false)
			if objectsUnder(t, ast, digestPrefix(aid)) != nil {
				t.Fatal("checkpoints were written before their settle was released")
			}
			sameStates(t, "pending, on the engine that answered", boardStates(t, ae, aid, true), want)
			replayer, _ := newBatchEngine(t, ast, false, false)
			sameStates(t, "pending, replayed by a new engine", boardStates(t, replayer, aid, true), want)

			release()
			if err := ae.SettleBoard(ctx, aid); err != nil {
				t.Fatal(err)
			}
			if left := objectsUnder(t, ast, pendingPrefix(aid)); len(left) != 0 {
				t.Errorf("markers left after the checkpoints: %d", len(left))
			}
			if got, want := len(objectsUnder(t, ast, digestPrefix(aid))), len(want); got != want {
				t.Errorf("%d checkpoints, want %d", got, want)
			}
			after, _ := newBatchEngine(t, ast, false, true)
			sameStates(t, "checkpointed in the background, read by a new engine", boardStates(t, after, aid, true), want)
		})
	}
}

// TestMarkerGoneAfterCheckpoints: the background checkpoints of a batch
// delete its marker (waited for on the store's writes, not a clock), and
// a run then reads from its digest alone.
func TestMarkerGoneAfterCheckpoints(t *testing.T) {
	ctx := context.Background()
	f := storetest.NewFaulty(store.NewMem(), 0)
	e, err := New(Config{Store: f, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "settle"})
	if err != nil {
		t.Fatal(err)
	}
	fps := sweepPieces(t, 50)
	if !uploadBatches(t, e, b.ID, fps, 50, 1) {
		t.Fatal("the batch failed")
	}
	f.Await(t, 30*time.Second, "the marker's delete", func() bool {
		return len(objectsUnder(t, f, pendingPrefix(b.ID))) == 0
	})
	if got := len(objectsUnder(t, f, digestPrefix(b.ID))); got != 50 {
		t.Errorf("%d checkpoints, want 50", got)
	}
	cold := newEngineOn(t, f)
	runs, err := cold.Runs(ctx, b.ID)
	if err != nil || len(runs) != 50 {
		t.Fatalf("%d runs (%v)", len(runs), err)
	}
	for _, r := range runs {
		if r.gen == 0 || r.replayed != 0 || tagCount(r, "loss") != 3 {
			t.Errorf("run %s: generation %d, %d bytes replayed, %d values", r.d.Run, r.gen, r.replayed, tagCount(r, "loss"))
		}
	}
}

// TestBatchCrashes: a server that dies at each store write in turn of a
// batched upload and its background checkpoints (every write from the
// n-th on fails) leaves a store from which a new server resumes the
// upload and ends with the board of a clean upload; its listing finishes
// the checkpoints the dead one left pending, and a third server reads
// the same board from the digests alone.
func TestBatchCrashes(t *testing.T) {
	ctx := context.Background()
	fps := logDirPieces(t, filepath.Join(tfeventstest.Generate(t).LogDir, "tf2"), 4096)
	fps = append(fps, sweepPieces(t, 20)...)
	const per = 6
	clean, _ := newBatchEngine(t, store.NewMem(), false, true)
	cb, _, err := clean.CreateBoard(ctx, BoardSpec{Name: "clean"})
	if err != nil {
		t.Fatal(err)
	}
	if !uploadBatches(t, clean, cb.ID, fps, per, 1) {
		t.Fatal("the clean upload failed")
	}
	want := boardStates(t, clean, cb.ID, false)
	counter := storetest.NewFaulty(store.NewMem(), 0)
	ce, _ := newBatchEngine(t, counter, false, true)
	kb, _, err := ce.CreateBoard(ctx, BoardSpec{Name: "count"})
	if err != nil {
		t.Fatal(err)
	}
	uploadBatches(t, ce, kb.ID, fps, per, 1)
	if err := ce.SettleBoard(ctx, kb.ID); err != nil {
		t.Fatal(err)
	}
	writes := counter.Writes()
	for n := 2; n <= writes; n++ { // (write 1 makes the board)
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			mem := store.NewMem()
			f := storetest.NewFaulty(mem, n)
			f.SetFailAt(n, true)
			dead, _ := newBatchEngine(t, f, false, true)
			b, _, err := dead.CreateBoard(ctx, BoardSpec{Name: "crash"})
			if err != nil {
				t.Fatal(err)
			}
			uploadBatches(t, dead, b.ID, fps, per, 1)
			dead.SettleBoard(ctx, b.ID) // its store writes fail from the n-th on

			next, _ := newBatchEngine(t, mem, false, true)
			if !uploadBatches(t, next, b.ID, fps, per, 3) {
				t.Fatal("the resumed upload failed")
			}
			sameStates(t, "resumed", boardStates(t, next, b.ID, false), want)
			if err := next.SettleBoard(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			if left := objectsUnder(t, mem, pendingPrefix(b.ID)); len(left) != 0 {
				t.Errorf("markers left: %v", left)
			}
			third, _ := newBatchEngine(t, mem, false, true)
			got := boardStates(t, third, b.ID, false)
			sameStates(t, "read from the digests", got, want)
			for _, r := range mustRuns(t, third, b.ID) {
				if r.gen == 0 {
					t.Errorf("run %s has no checkpoint", r.d.Run)
				}
			}
		})
	}
}

func mustRuns(t *testing.T, e *Engine, id string) []*Run {
	t.Helper()
	runs, err := e.Runs(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// Two servers on one run: while one's batch checkpoint is pending, the
// other appends a file of the run by PUT and checkpoints (replaying the
// batch's marker); the first one's checkpoint then loses the race, merges
// the stored state, and deletes the marker: the digest counts both files.
func TestPendingCheckpointMerges(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMem()
	a, release := newBatchEngine(t, mem, false, false)
	b, _, err := a.CreateBoard(ctx, BoardSpec{Name: "two"})
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := scalarFile(t, "a", 30), scalarFile(t, "b", 20)
	object, pieces := encodeBatch([]filePiece{{"train", "f1", 0, f1}})
	if res, err := a.AppendBatch(ctx, b.ID, object, pieces); err != nil || res[0].Err != nil {
		t.Fatalf("batch: %v %+v", err, res)
	}
	other, _ := newBatchEngine(t, mem, false, true)
	if _, err := other.Append(ctx, b.ID, "train", "f2", 0, f2); err != nil {
		t.Fatal(err)
	}
	release()
	if err := a.SettleBoard(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if left := objectsUnder(t, mem, pendingPrefix(b.ID)); len(left) != 0 {
		t.Errorf("markers left: %v", left)
	}
	r, err := newEngineOn(t, mem).FindRun(ctx, b.ID, "train")
	if err != nil {
		t.Fatal(err)
	}
	if r.replayed != 0 || r.d.Files["f1"].GetSize() != int64(len(f1)) || r.d.Files["f2"].GetSize() != int64(len(f2)) || tagCount(r, "a") != 30 || tagCount(r, "b") != 20 {
		t.Errorf("the digest counts %v, %d bytes past it; values a %d, b %d", r.d.Files, r.replayed, tagCount(r, "a"), tagCount(r, "b"))
	}
}

// Deleting a board whose batch checkpoints are pending removes its
// markers with everything else, and the checkpoints that were to follow
// write nothing.
func TestDeletePendingBoard(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMem()
	e, release := newBatchEngine(t, mem, false, false)
	b, sec, err := e.CreateBoard(ctx, BoardSpec{Name: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if !uploadBatches(t, e, b.ID, sweepPieces(t, 10), 10, 1) {
		t.Fatal("the batch failed")
	}
	if len(objectsUnder(t, mem, pendingPrefix(b.ID))) != 1 {
		t.Fatal("no marker")
	}
	if err := e.DeleteBoard(ctx, b.ID, sec.Token); err != nil {
		t.Fatal(err)
	}
	release()
	if err := e.SettleBoard(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if left := objectsUnder(t, mem, boardPrefix(b.ID)); len(left) != 0 {
		t.Errorf("objects left after the delete: %v", left)
	}
}

// failingPuts fails the writes of keys containing part.
type failingPuts struct {
	store.Store
	part string
}

func (f failingPuts) Put(ctx context.Context, key string, data []byte) error {
	if strings.Contains(key, f.part) {
		return errors.New("injected")
	}
	return f.Store.Put(ctx, key, data)
}

func (f failingPuts) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	if strings.Contains(key, f.part) {
		return 0, errors.New("injected")
	}
	return f.Store.PutIf(ctx, key, data, gen)
}

// sweepRuns is the size of the sweep tests: 10,000 runs, or 500 under the
// race detector (make test runs them in full without it).
func sweepRuns() int {
	if raceEnabled {
		return 500
	}
	return 10_000
}

// digestFaults fails, while on, the writes of run digests.
type digestFaults struct {
	store.Store
	on atomic.Bool
}

func (f *digestFaults) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	if f.on.Load() && strings.Contains(key, "/digest/") {
		return 0, errors.New("injected digest write failure")
	}
	return f.Store.PutIf(ctx, key, data, gen)
}

// TestFlushSettlesPendingBatches: a graceful shutdown (Flush) writes the
// checkpoints of this server's pending batches whose settle failed, and
// deletes their markers, so that no listing is left to do it; a new
// server reads the board from the digests alone.
func TestFlushSettlesPendingBatches(t *testing.T) {
	ctx := context.Background()
	const runs = 30
	f := &digestFaults{Store: store.NewMem()}
	e, _ := newBatchEngine(t, f, true, true) // settled before the answer: failed here
	b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "flush"})
	if err != nil {
		t.Fatal(err)
	}
	f.on.Store(true)
	if !uploadBatches(t, e, b.ID, sweepPieces(t, runs), 10, 1) {
		t.Fatal("a batch failed")
	}
	f.on.Store(false)
	if got := len(objectsUnder(t, f, pendingPrefix(b.ID))); got != 3 {
		t.Fatalf("%d markers before the flush; want the 3 whose checkpoints failed", got)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if left := objectsUnder(t, f, pendingPrefix(b.ID)); len(left) != 0 {
		t.Errorf("markers left after the flush: %v", left)
	}
	if got := len(objectsUnder(t, f, digestPrefix(b.ID))); got != runs {
		t.Errorf("%d checkpoints, want %d", got, runs)
	}
	if st := e.WriterStats(); st.Writers != 0 {
		t.Errorf("%d writers left after the flush", st.Writers)
	}
	cold := newEngineOn(t, f)
	rs, err := cold.Runs(ctx, b.ID)
	if err != nil || len(rs) != runs {
		t.Fatalf("%d runs (%v)", len(rs), err)
	}
	for _, r := range rs {
		if r.gen == 0 || r.replayed != 0 || tagCount(r, "loss") != 3 {
			t.Errorf("run %s: generation %d, %d bytes replayed, %d values", r.d.Run, r.gen, r.replayed, tagCount(r, "loss"))
		}
	}
}

// TestFlushDropsWhatItCannotCheckpoint: a writer whose checkpoint fails
// at shutdown is dropped, not cached: its state counts bytes no stored
// checkpoint holds, so a later read replays them from the store instead.
func TestFlushDropsWhatItCannotCheckpoint(t *testing.T) {
	ctx := context.Background()
	f := &digestFaults{Store: store.NewMem()}
	e := newEngineOn(t, f)
	b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "flush fails"})
	if err != nil {
		t.Fatal(err)
	}
	data := scalarFile(t, "loss", 40)
	half := len(data) / 2
	if _, err := e.Append(ctx, b.ID, "r", "f", 0, data[:half]); err != nil {
		t.Fatal(err) // the run's first checkpoint is written
	}
	f.on.Store(true)
	if _, err := e.Append(ctx, b.ID, "r", "f", int64(half), data[half:]); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err == nil {
		t.Fatal("Flush reported no error with every checkpoint failing")
	}
	f.on.Store(false)
	key := digestKey(b.ID, "r")
	if w := e.writerOf(key); w != nil {
		t.Error("the writer is still there")
	}
	if _, ok := e.cache.run(key, e.now()); ok {
		t.Error("the cache holds a state no checkpoint holds, under the stored generation")
	}
	r, err := e.loadRun(ctx, key, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.replayed != int64(len(data)-half) || tagCount(r, "loss") != 40 {
		t.Errorf("read after the failed flush: %d bytes replayed (want %d), %d values (want 40)", r.replayed, len(data)-half, tagCount(r, "loss"))
	}
}
