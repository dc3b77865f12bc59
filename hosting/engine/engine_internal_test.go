package engine

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// decodeDigest reads what proto.Unmarshal reads, the sampler state aside.
func TestDecodeDigest(t *testing.T) {
	want := &hostingpb.Digest{Run: "train/ü", Sampler: []byte("state bytes"), UpdatedUnixNano: 42,
		Files:   map[string]*hostingpb.FileState{"events.out.tfevents.1": {Size: 100, Parsed: 90, Pending: []byte("tail"), Warnings: []string{"w"}}},
		Tags:    map[string]*hostingpb.TagMeta{"loss": {DisplayName: "Loss"}},
		Hparams: map[string][]byte{"_hparams_/experiment": {1, 2, 3}}}
	raw, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	d, state, err := decodeDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(state) != "state bytes" || d.Sampler != nil {
		t.Errorf("state %q, digest's own %q", state, d.Sampler)
	}
	d.Sampler = state
	if !proto.Equal(d, want) {
		t.Errorf("decoded %v, want %v", d, want)
	}
	for _, n := range []int{1, len(raw) - 1} { // inside the first and the last field
		if _, _, err := decodeDigest(raw[:n]); err == nil {
			t.Errorf("a digest cut to %d of %d bytes decoded without error", n, len(raw))
		}
	}
}

// A snapshot handed to readers stays as it was when appends follow: the
// writer copies the state it shares before changing it.
func TestSnapshotOutlivesAppends(t *testing.T) {
	ctx := context.Background()
	srv, id := newTestEngine(t)
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	for step := range int64(3000) {
		if err := w.WriteScalar("loss", step, float64(step), float64(step%7)); err != nil {
			t.Fatal(err)
		}
	}
	data := buf.Bytes()
	half := len(data) / 2
	if _, err := srv.Append(ctx, id, "train", "f", 0, data[:half]); err != nil {
		t.Fatal(err)
	}
	key := digestKey(id, "train")
	answer := func(r *Run) string {
		q, ok := r.s.Query("loss", 0, 0, 100)
		if !ok {
			t.Fatal("no series")
		}
		return fmt.Sprint(q) + fmt.Sprint(r.d.Files["f"].Size)
	}
	first, err := srv.loadRun(ctx, key, false)
	if err != nil {
		t.Fatal(err)
	}
	before := answer(first)
	if _, err := srv.Append(ctx, id, "train", "f", int64(half), data[half:]); err != nil {
		t.Fatal(err)
	}
	if got := answer(first); got != before {
		t.Error("an append changed a snapshot given out before it")
	}
	second, err := srv.loadRun(ctx, key, false)
	if err != nil {
		t.Fatal(err)
	}
	if answer(second) == before {
		t.Error("the snapshot after the append does not show it")
	}
}

// A reader that finds the writer held by another reader or a checkpoint
// gets the run as of its last answered append: a run missing from one
// answer stays missing from a page with no reason to ask again. An append
// in progress (maybe waiting on a slow store write) is never waited for:
// the run's first checkpoint publishes it.
func TestSnapshotHoldsAnsweredAppends(t *testing.T) {
	tests := []struct {
		name      string
		appending bool // the holder is an append in progress
		appends   int  // answered appends before the read
		wait      bool // the reader waits for the holder
		wantCount int64
	}{
		// The first append's checkpoint publishes the run: current, it is
		// not waited for.
		{"another reader, after the run's first append", false, 1, false, 5},
		{"another reader, after later appends", false, 2, true, 10},
		{"an append in progress, after the run's first checkpoint", true, 1, false, 5},
		{"an append in progress, after a snapshot", true, 2, false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv, id := newTestEngine(t)
			key := digestKey(id, "train")
			var off int64
			for i := range tt.appends {
				var data []byte
				for s := range 5 {
					data = tfevents.AppendRecord(data, tfevents.AppendScalarEvent(nil, "loss", int64(5*i+s), 1, 0.5))
				}
				if _, err := srv.Append(ctx, id, "train", "f", off, data); err != nil {
					t.Fatal(err)
				}
				off += int64(len(data))
				if i == 0 && tt.appends > 1 {
					if _, err := srv.loadRun(ctx, key, false); err != nil { // a snapshot after the first
						t.Fatal(err)
					}
				}
			}
			w := srv.writerOf(key)
			w.mu.Lock()
			w.appending.Store(tt.appending)
			got := make(chan *Run, 1)
			go func() {
				r, err := srv.loadRun(ctx, key, false)
				if err != nil {
					t.Error(err)
				}
				got <- r
			}()
			var r *Run
			select {
			case r = <-got:
				if tt.wait {
					t.Errorf("the read did not wait for the holder: generation %d, %d tags", r.gen, len(r.s.Tags()))
				}
			case <-time.After(200 * time.Millisecond):
				if !tt.wait {
					t.Error("the read waits for an append in progress")
				}
			}
			w.appending.Store(false)
			w.mu.Unlock()
			if r == nil {
				r = <-got
			}
			tags := r.s.Tags()
			if r.gen == 0 || len(tags) != 1 || tags[0].Count != tt.wantCount {
				t.Errorf("read generation %d, tags %+v; want the run with %d values of loss", r.gen, tags, tt.wantCount)
			}
		})
	}
}

// Board ids work as command-line arguments: none starts with "-" (or "_").
func TestBoardIDs(t *testing.T) {
	for range 5000 { // a leading '-' or '_' would come once in 32 draws
		id, err := newBoardID()
		if err != nil {
			t.Fatal(err)
		}
		if checkID(id) != nil || id[0] == '-' || id[0] == '_' {
			t.Fatalf("board id %q", id)
		}
	}
}

// newTestEngine returns an engine over a memory store with one board.
func newTestEngine(t *testing.T) (*Engine, string) {
	t.Helper()
	e, err := New(Config{Store: store.NewMem(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.CreateBoard(context.Background(), BoardSpec{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e, b.ID
}
