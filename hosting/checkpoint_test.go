package hosting_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

func total(files map[string][]byte) int64 {
	var n int64
	for _, b := range files {
		n += int64(len(b))
	}
	return n
}

// startWith starts a server with cfg over st and returns it with its API.
func startWith(t *testing.T, cfg hosting.Config) (*hosting.Server, api) {
	t.Helper()
	srv, err := hosting.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, startServerWith(t, srv)
}

// TestCheckpointLagIsReplayed uploads through a server whose checkpoints
// are not due, then reads the board from a second server on the same
// store, as after a crash of the first: the second replays the raw parts
// past the checkpoints and shows the board a clean upload shows, and
// takes further appends at the offsets the first had reached.
func TestCheckpointLagIsReplayed(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		dirs := map[string]string{
			"runs":                 runsDir(c),
			"tf2":                  tf2Dir(c),
			"run of several files": severalFiles(t, c),
		}
		for name, dir := range dirs {
			t.Run(name, func(t *testing.T) {
				ref := startServer(t, store.NewMem())
				rb := ref.create("reference")
				want := ref.upload(rb, dir, 1500)
				wantTags := ref.tags(rb.ID)

				store := store.NewMem()
				_, first := startWith(t, hosting.Config{Store: store, FlushInterval: time.Hour})
				b := first.create("crashes")
				sent := first.upload(b, dir, 1500)
				if got, all := storetest.Checkpointed(t, store, b.ID), total(sent); got >= all {
					t.Fatalf("the checkpoints hold %d of %d bytes: nothing is left to replay, the test tests nothing", got, all)
				}
				if got := first.tags(b.ID); !equalJSON(got, wantTags) {
					t.Errorf("the uploading server's tags differ from the reference")
				}

				second := startServer(t, store)
				if got := second.tags(b.ID); !equalJSON(got, wantTags) {
					t.Errorf("after replay, tags differ from the reference:\n got %v\nwant %v", got, wantTags)
				}
				sameFiles(t, second.rawExport(b.ID), want)
				var files struct{ Files []hosting.FileInfo }
				second.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, 200, &files)
				for _, f := range files.Files {
					if int64(len(sent[pathJoin(f.Run, f.File)])) != f.Size {
						t.Errorf("%s/%s: the second server holds %d bytes, %d were sent", f.Run, f.File, f.Size, len(sent[pathJoin(f.Run, f.File)]))
					}
				}
			})
		}
	})
}

// severalFiles returns a log dir whose one run holds several event files:
// the three largest whole files under runsDir(c) (neither truncated nor
// corrupt, and without a SessionLog START, which would preempt the values
// of the files before it), one renamed with a name too long to keep whole
// in a store key.
func severalFiles(t *testing.T, c *tfeventstest.Corpus) string {
	t.Helper()
	type candidate struct {
		path string
		size int64
	}
	var files []candidate
	for _, f := range c.Files {
		p := c.Path(f)
		if f.Truncated || f.Corrupt || len(f.Tags) == 0 || !strings.HasPrefix(p, runsDir(c)) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !holdsStart(data) {
			files = append(files, candidate{p, int64(len(data))})
		}
	}
	if len(files) < 3 {
		t.Fatalf("the corpus has %d whole event files with tags under %s, want 3", len(files), runsDir(c))
	}
	// The largest last: a new file is checkpointed at once, so its later
	// appends are the lag a replay must take.
	slices.SortStableFunc(files, func(a, b candidate) int { return cmp.Compare(a.size, b.size) })
	files = files[len(files)-3:]
	dir := t.TempDir()
	run := filepath.Join(dir, "merged")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	// In upload (name) order; the second has a name too long for a store
	// key segment (its key holds a hash).
	names := []string{"events.out.tfevents.1616760637.a.1",
		"events.out.tfevents.1616760638." + strings.Repeat("long-host-name.", 10) + "2",
		"events.out.tfevents.1616760639.c.3"}
	for i, name := range names {
		data, err := os.ReadFile(files[i].path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(run, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFlushWritesCheckpoints: after Flush, the stored digests count every
// uploaded byte, and a second server reads them without replaying.
func TestFlushWritesCheckpoints(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		store := store.NewMem()
		srv, a := startWith(t, hosting.Config{Store: store, FlushInterval: time.Hour})
		b := a.create("flushed")
		sent := a.upload(b, runsDir(c), 1000)
		wantTags := a.tags(b.ID)
		if err := srv.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, all := storetest.Checkpointed(t, store, b.ID), total(sent); got != all {
			t.Errorf("after Flush the checkpoints hold %d of %d bytes", got, all)
		}
		// The server stays usable after Flush.
		if got := a.tags(b.ID); !equalJSON(got, wantTags) {
			t.Errorf("tags changed across Flush")
		}
		cs := &countingStore{Store: store}
		if got := startServer(t, cs).tags(b.ID); !equalJSON(got, wantTags) {
			t.Errorf("a second server's tags differ")
		}
		if n := cs.raw.Load(); n != 0 {
			t.Errorf("a second server read %d raw parts: it replayed what the checkpoints hold", n)
		}
	})
}

// TestCheckpointTimer: an idle writer's checkpoint is written within
// FlushInterval, without another append.
func TestCheckpointTimer(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		st := storetest.NewFaulty(store.NewMem(), 0)
		_, a := startWith(t, hosting.Config{Store: st, FlushInterval: 20 * time.Millisecond})
		b := a.create("timed")
		all := total(a.upload(b, runsDir(c), 1000))
		st.Await(t, 20*time.Second, "the checkpoints to count every uploaded byte", func() bool {
			return storetest.Checkpointed(t, st, b.ID) == all
		})
	})
}

// TestDeleteWhileWriting: deleting a board whose checkpoint is pending
// leaves nothing behind once the grace has passed and the final sweep is
// done; the timers of the dropped writers (10 ms) write nothing back.
func TestDeleteWhileWriting(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		st := storetest.NewFaulty(store.NewMem(), 0)
		srv, a := startWith(t, hosting.Config{Store: st, FlushInterval: 10 * time.Millisecond, DeleteGrace: 20 * time.Millisecond})
		b := a.create("doomed")
		a.upload(b, tf2Dir(c), 700)
		a.json("DELETE", "/api/boards/"+b.ID, b.Token, nil, 204, nil)
		a.json("GET", "/api/boards/"+b.ID, "", nil, 404, nil)
		var keys []string
		left := func() bool {
			if err := srv.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			objs, err := st.List(context.Background(), "boards/"+b.ID+"/", "")
			if err != nil {
				t.Fatal(err)
			}
			keys = keys[:0]
			for _, o := range objs {
				keys = append(keys, o.Key)
			}
			return len(keys) == 0
		}
		st.Await(t, 10*time.Second, "the deleted board's objects to go", left)
	})
}

// TestTwoServersOneRun uploads each file through two servers on one store
// in turn, a chunk each, as a load balancer without affinity would: every
// chunk lands (each server catches up on the other's appends by replaying
// them), and after both write their checkpoints the board is the one a
// single server makes.
func TestTwoServersOneRun(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		dir := severalFiles(t, c)
		ref := startServer(t, store.NewMem())
		rb := ref.create("reference")
		want := ref.upload(rb, dir, 1200)
		wantTags := ref.tags(rb.ID)

		store := store.NewMem()
		sa, a := startWith(t, hosting.Config{Store: store})
		sb, b := startWith(t, hosting.Config{Store: store})
		board := a.create("shared")
		servers := []api{a, b}
		runs, err := tfevents.WalkLogDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		turn := 0
		for _, r := range runs {
			for _, f := range r.Files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for off := 0; off < len(data); off += 1200 {
					end := min(off+1200, len(data))
					servers[turn%2].json("PUT", filePath(board.ID, r.Name, filepath.Base(f), int64(off)), board.Token, bytes.NewReader(data[off:end]), 200, nil)
					turn++
				}
			}
		}
		for _, s := range []*hosting.Server{sa, sb} {
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got, all := storetest.Checkpointed(t, store, board.ID), total(want); got != all {
			t.Errorf("the checkpoints hold %d of %d bytes", got, all)
		}
		third := startServer(t, store)
		if got := third.tags(board.ID); !equalJSON(got, wantTags) {
			t.Errorf("tags differ from a single server's:\n got %v\nwant %v", got, wantTags)
		}
		sameFiles(t, third.rawExport(board.ID), want)
	})
}

// TestWritersStayWithinCacheBytes uploads many runs through a server whose
// memory budget holds one run's state: the writers of the runs uploaded
// before are checkpointed and retired, and nothing is lost.
func TestWritersStayWithinCacheBytes(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		dir := runsDir(c)
		ref := startServer(t, store.NewMem())
		rb := ref.create("reference")
		ref.upload(rb, dir, 900)
		wantTags := ref.tags(rb.ID)
		if len(wantTags) < 3 {
			t.Fatalf("the log dir has %d runs: too few to test", len(wantTags))
		}

		store := store.NewMem()
		srv, a := startWith(t, hosting.Config{Store: store, CacheBytes: 1 << 10, FlushInterval: time.Hour})
		b := a.create("tight")
		sent := a.upload(b, dir, 900)
		if st := srv.WriterStats(); st.Writers != 1 {
			t.Errorf("%d writers (%d bytes) after uploading %d runs within a 1 KiB budget; want only the last", st.Writers, st.Bytes, len(wantTags))
		}
		if got := a.tags(b.ID); !equalJSON(got, wantTags) {
			t.Errorf("tags differ from the reference")
		}
		// Every run but the last is checkpointed in full.
		digests := storetest.Digests(t, store, b.ID)
		full := 0
		for _, d := range digests {
			whole := true
			for name, f := range d.Files {
				whole = whole && f.Size == int64(len(sent[pathJoin(d.Run, name)]))
			}
			if whole {
				full++
			}
		}
		if full < len(digests)-1 {
			t.Errorf("%d of %d runs are checkpointed in full; want all but the one being written", full, len(digests))
		}
		if got := startServer(t, store).tags(b.ID); !equalJSON(got, wantTags) {
			t.Errorf("a second server's tags differ from the reference")
		}
	})
}

// countingStore counts the objects its List calls return, and the raw
// parts it is asked to read.
type countingStore struct {
	store.Store
	listed atomic.Int64
	raw    atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, int64, error) {
	c.countRaw(key)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	c.countRaw(key)
	return c.Store.Open(ctx, key, off)
}

func (c *countingStore) countRaw(key string) {
	if strings.Contains(key, "/raw/") {
		c.raw.Add(1)
	}
}

func (c *countingStore) List(ctx context.Context, prefix, start string) ([]store.ObjectInfo, error) {
	objs, err := c.Store.List(ctx, prefix, start)
	c.listed.Add(int64(len(objs)))
	return objs, err
}

// TestReplayListsOnlyTheLag: a run uploaded in many small appends (as
// --watch does for days) holds many raw parts; loading it lists only the
// parts past its checkpoint, not all of them.
func TestReplayListsOnlyTheLag(t *testing.T) {
	data := scalarRun(t, 3, 2000)
	store := store.NewMem()
	srv, a := startWith(t, hosting.Config{Store: store, FlushInterval: time.Hour})
	b := a.create("watched")
	const chunk = 500
	put := func(from, to int) {
		for off := from; off < to; off += chunk {
			end := min(off+chunk, len(data))
			a.json("PUT", filePath(b.ID, "train", "events.out.tfevents.1", int64(off)), b.Token, bytes.NewReader(data[off:end]), 200, nil)
		}
	}
	half := len(data) / 2 / chunk * chunk
	put(0, half)
	if err := srv.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	put(half, half+3*chunk) // three appends past the checkpoint
	wantTags := a.tags(b.ID)

	cs := &countingStore{Store: store}
	second := startServer(t, cs)
	if got := second.tags(b.ID); !equalJSON(got, wantTags) {
		t.Errorf("tags after replay differ")
	}
	if parts := half / chunk; cs.listed.Load() > 8 {
		t.Errorf("loading the run listed %d objects; the run has %d parts before its checkpoint and 3 after", cs.listed.Load(), parts)
	}
}

// TestReplayOverlappingParts: a retry through a server that had not seen
// a part stores that part again, longer (its piece started at the same
// offset and went further), after the checkpoint counted the shorter one.
// A server loading the run replays the longer part's tail and the parts
// after it: no byte the store holds is left out of the board.
func TestReplayOverlappingParts(t *testing.T) {
	ctx := context.Background()
	var data []byte
	var ends []int64 // end of each record
	for step := range int64(300) {
		data = tfevents.AppendRecord(data, tfevents.AppendScalarEvent(nil, "loss", step, 1.7e9+float64(step), float64(step)))
		ends = append(ends, int64(len(data)))
	}
	c1, c2, c3 := ends[99], ends[199], ends[249]

	store := store.NewMem()
	srv, first := startWith(t, hosting.Config{Store: store, FlushInterval: time.Hour})
	b := first.create("overlap")
	first.json("PUT", filePath(b.ID, "train", "events.out.tfevents.1.x", 0), b.Token, bytes.NewReader(data[:c1]), 200, nil)
	first.json("PUT", filePath(b.ID, "train", "events.out.tfevents.1.x", c1), b.Token, bytes.NewReader(data[c1:c2]), 200, nil)
	if err := srv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Checkpointed(t, store, b.ID); got != c2 {
		t.Fatalf("the checkpoint counts %d bytes, want %d", got, c2)
	}
	// The part at c1 again, longer, and a part after it, as a server that
	// had not seen the part stores them.
	objs, err := store.List(ctx, "boards/"+b.ID+"/raw/", "")
	if err != nil {
		t.Fatal(err)
	}
	var part string
	for _, o := range objs {
		if strings.HasSuffix(o.Key, fmt.Sprintf("/%020d", c1)) {
			part = o.Key
		}
	}
	if part == "" {
		t.Fatalf("no raw part at offset %d in %v", c1, objs)
	}
	next := strings.TrimSuffix(part, fmt.Sprintf("%020d", c1)) + fmt.Sprintf("%020d", c3)
	if err := store.Put(ctx, part, data[c1:c3]); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, next, data[c3:]); err != nil {
		t.Fatal(err)
	}

	second := startServer(t, store)
	var files struct{ Files []hosting.FileInfo }
	second.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, 200, &files)
	if len(files.Files) != 1 || files.Files[0].Size != int64(len(data)) {
		t.Errorf("files %+v, want one of %d bytes", files.Files, len(data))
	}
	if got := second.tags(b.ID)["train"]["loss"].Count; got != 300 {
		t.Errorf("loss has %d values, want 300", got)
	}
	sameFiles(t, second.rawExport(b.ID), map[string][]byte{"train/events.out.tfevents.1.x": data})
}
