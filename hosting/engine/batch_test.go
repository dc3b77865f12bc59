package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tbhost/hosting/store"
	"tbhost/tfevents"
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

// A batch whose object cannot be stored applies nothing; a checkpoint
// that cannot be written fails its run's pieces, and the run is then as
// the store has it.
func TestBatchStoreFailures(t *testing.T) {
	ctx := context.Background()
	e, id := newTestEngine(t)
	data := scalarFile(t, "loss", 10)
	pieces := []Piece{{Run: "r", File: "f", Pos: 0, Len: int64(len(data))}}
	e.store = failingPuts{e.store, "batch/"}
	if _, err := e.AppendBatch(ctx, id, data, pieces); err == nil {
		t.Fatal("a batch whose object was not stored succeeded")
	}
	e.store = failingPuts{e.store.(failingPuts).Store, "digest/"}
	res, err := e.AppendBatch(ctx, id, data, pieces)
	if err != nil || res[0].Err == nil {
		t.Fatalf("a batch whose checkpoint was not written: %v %+v", err, res)
	}
	e.store = e.store.(failingPuts).Store
	r, err := e.loadRun(ctx, digestKey(id, "r"), false)
	if err != nil || r.gen != 0 || r.size != 0 {
		t.Errorf("after a failed checkpoint the run is %+v (%v), want none", r, err)
	}
	res, err = e.AppendBatch(ctx, id, data, pieces)
	if err != nil || res[0].Err != nil || res[0].Size != int64(len(data)) {
		t.Fatalf("the batch again: %v %+v", err, res)
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
