package hosting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// Several servers on one store: the documented way to run replicas. These
// tests run each case on the three stores.

// replica starts a server over st with cfg (its Store set to st), whose
// warnings and errors go to t's log (unless cfg has a Logger).
func replica(t *testing.T, st store.Store, cfg hosting.Config) (*hosting.Server, api) {
	t.Helper()
	cfg.Store = st
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	return startWith(t, cfg)
}

// testLogger returns a logger of warnings and errors to t's log, which
// drops what background work logs once t is done.
func testLogger(t *testing.T) *slog.Logger {
	tw := &testWriter{t: t}
	t.Cleanup(func() { // (after the servers started later are closed)
		tw.mu.Lock()
		tw.done = true
		tw.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// until waits for cond, which a background process makes true (a
// checkpoint timer, a cache expiry); it fails t with what last said no.
func until(t *testing.T, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// boardView is what GET /api/boards/:id says, as its owner sees it.
type boardView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Private     bool   `json:"private"`
	ViewKey     string `json:"view_key"`
}

// TestRacingBoardEdits: for 40 boards, one server makes the board private
// while another, at the same moment, changes its description (with the
// board cached from before). Both edits land on every board, the view
// key the first handed out is the one that opens the board, and no board
// made private is readable without it.
func TestRacingBoardEdits(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			_, a := replica(t, st, hosting.Config{})
			_, b := replica(t, st, hosting.Config{})
			const n = 40
			boards := make([]created, n)
			for i := range boards {
				boards[i] = a.create(fmt.Sprintf("board %d", i))
				b.json("GET", "/api/boards/"+boards[i].ID, "", nil, http.StatusOK, nil) // cached by b
			}
			keys := make([]string, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			edit := func(srv api, i int, body string, into *string) {
				defer wg.Done()
				<-start
				status, data := srv.do("PATCH", "/api/boards/"+boards[i].ID, boards[i].Token, strings.NewReader(body))
				if status != http.StatusOK {
					errs <- fmt.Errorf("board %d: PATCH %s: %d %s", i, body, status, data)
					return
				}
				if into != nil {
					var v boardView
					if err := json.Unmarshal(data, &v); err != nil {
						errs <- err
						return
					}
					*into = v.ViewKey
				}
			}
			for i := range boards {
				wg.Add(2)
				go edit(a, i, `{"private": true}`, &keys[i])
				go edit(b, i, fmt.Sprintf(`{"description": "note %d"}`, i), nil)
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			_, c := replica(t, st, hosting.Config{}) // a fresh server: the store's truth
			var lost, exposed, locked int
			for i, bd := range boards {
				var v boardView
				c.json("GET", "/api/boards/"+bd.ID, bd.Token, nil, http.StatusOK, &v)
				if !v.Private || v.Description != fmt.Sprintf("note %d", i) {
					lost++
				}
				if status, _ := c.do("GET", "/api/boards/"+bd.ID+"/tags", "", nil); status != http.StatusUnauthorized {
					exposed++
				}
				if status, _ := c.do("GET", "/api/boards/"+bd.ID+"/tags?key="+keys[i], "", nil); status != http.StatusOK {
					locked++
				}
			}
			if lost+exposed+locked > 0 {
				t.Errorf("of %d boards: %d lost an edit, %d made private are readable without a key, %d do not open with the key handed out", n, lost, exposed, locked)
			}
		})
	}
}

// runFiles writes two event files of one run: a's tags and b's are
// distinct, so the run's sampled state does not depend on which file a
// server parses first.
func runFiles(t *testing.T) (a, b []byte) {
	t.Helper()
	write := func(tag string, from int64) []byte {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		if err := w.WriteFileVersion(1.7e9); err != nil {
			t.Fatal(err)
		}
		for step := from; step < from+3000; step++ {
			if err := w.WriteScalar(tag, step, 1.7e9+float64(step), float64(step%97)/7); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	return write("loss", 0), write("accuracy", 3000)
}

// put sends data as file of run, from offset 0, in chunks, through srv.
func put(t *testing.T, srv api, bd created, run, file string, data []byte, chunk int) error {
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		path := fmt.Sprintf("/api/boards/%s/files?run=%s&file=%s&offset=%d", bd.ID, run, file, off)
		if status, body := srv.do("PUT", path, bd.Token, bytes.NewReader(data[off:end])); status != http.StatusOK {
			return fmt.Errorf("PUT %s: %d %s", path, status, body)
		}
	}
	return nil
}

// TestReplicasShareARun sends the files of one run through two servers,
// at once and one after another (the later-named file first), with
// checkpoints and restarts between. Both servers, within the documented
// convergence time, and a fresh server after them serve the whole run:
// what one server shows that took the files in order.
func TestReplicasShareARun(t *testing.T) {
	fa, fb := runFiles(t)
	const nameA, nameB = "events.out.tfevents.1.a", "events.out.tfevents.2.b"
	oracle := startServer(t, store.NewMem())
	ob := oracle.create("oracle")
	if err := put(t, oracle, ob, "run", nameA, fa, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := put(t, oracle, ob, "run", nameB, fb, 1<<20); err != nil {
		t.Fatal(err)
	}
	want := oracle.tags(ob.ID)
	wantRaw := map[string][]byte{"run/" + nameA: fa, "run/" + nameB: fb}

	scenarios := []struct {
		name string
		send func(t *testing.T, a, b api, bd created)
	}{
		{"at once", func(t *testing.T, a, b api, bd created) {
			errs := make(chan error, 2)
			go func() { errs <- put(t, a, bd, "run", nameA, fa, 4096) }()
			go func() { errs <- put(t, b, bd, "run", nameB, fb, 4096) }()
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"one after another, later file first", func(t *testing.T, a, b api, bd created) {
			if err := put(t, b, bd, "run", nameB, fb, 8192); err != nil {
				t.Fatal(err)
			}
			if err := put(t, a, bd, "run", nameA, fa, 8192); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, sc := range stores {
		for _, tt := range scenarios {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				st := sc.new(t)
				cfg := hosting.Config{CacheTTL: 100 * time.Millisecond, FlushInterval: 50 * time.Millisecond}
				sa, a := replica(t, st, cfg)
				sb, b := replica(t, st, cfg)
				bd := a.create("shared")
				tt.send(t, a, b, bd)
				for _, srv := range []*hosting.Server{sa, sb} {
					if err := srv.Flush(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				for name, srv := range map[string]api{"server A": a, "server B": b} {
					until(t, 10*time.Second, func() (bool, string) {
						got := srv.tags(bd.ID)
						return reflect.DeepEqual(got, want), fmt.Sprintf("%s serves %v, want %v", name, got, want)
					})
				}
				_, c := replica(t, st, cfg) // after a restart of both
				if got := c.tags(bd.ID); !reflect.DeepEqual(got, want) {
					t.Errorf("a fresh server serves %v, want %v", got, want)
				}
				sameFiles(t, c.rawExport(bd.ID), wantRaw)
				var files struct{ Files []hosting.FileInfo }
				c.json("GET", "/api/boards/"+bd.ID+"/files", bd.Token, nil, http.StatusOK, &files)
				if len(files.Files) != 2 || files.Files[0].Size != int64(len(fa)) || files.Files[1].Size != int64(len(fb)) {
					t.Errorf("resume offsets %+v, want %d and %d", files.Files, len(fa), len(fb))
				}
			})
		}
	}
}

// hangStore holds the raw writes (Put, PutIf) of one board, once armed,
// until released.
type hangStore struct {
	store.Store
	prefix  string
	armed   atomic.Bool
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func newHangStore(st store.Store, board string) *hangStore {
	h := &hangStore{Store: st, prefix: "boards/" + board + "/raw/", release: make(chan struct{}), entered: make(chan struct{})}
	h.armed.Store(true)
	return h
}

func (h *hangStore) Put(ctx context.Context, key string, data []byte) error {
	if h.armed.Load() && strings.HasPrefix(key, h.prefix) {
		h.once.Do(func() { close(h.entered) })
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.Store.Put(ctx, key, data)
}

func (h *hangStore) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	if h.armed.Load() && strings.HasPrefix(key, h.prefix) {
		h.once.Do(func() { close(h.entered) })
		select {
		case <-h.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return h.Store.PutIf(ctx, key, data, gen)
}

// within runs f and fails t if it has not returned after d: a guard
// against a deadlock, not a measure of speed.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish in %v: held up by another board's store write", what, d)
	}
}

// TestSlowStoreHoldsOneBoard: a store write that hangs for one board holds
// up neither uploads to another board nor readers of the board's live
// run, who get the run as of its last answered append.
func TestSlowStoreHoldsOneBoard(t *testing.T) {
	mem := store.NewMem()
	_, setup := replica(t, mem, hosting.Config{})
	slow, other := setup.create("slow"), setup.create("other")
	hang := newHangStore(mem, slow.ID)
	hang.armed.Store(false) // the first append goes through
	_, s := replica(t, hang, hosting.Config{CacheTTL: -1})
	fa, fb := runFiles(t)
	if err := put(t, s, slow, "live", "f", fa[:len(fa)/2], 1<<20); err != nil {
		t.Fatal(err)
	}
	hang.armed.Store(true) // from here on, the slow board's raw writes hang

	stuck := make(chan error, 1)
	go func() {
		path := fmt.Sprintf("/api/boards/%s/files?run=live&file=f&offset=%d", slow.ID, len(fa)/2)
		status, body := s.do("PUT", path, slow.Token, bytes.NewReader(fa[len(fa)/2:]))
		if status != http.StatusOK {
			stuck <- fmt.Errorf("the held append: %d %s", status, body)
			return
		}
		stuck <- nil
	}()
	<-hang.entered

	within(t, 30*time.Second, "an upload to another board", func() {
		for i := range 3 {
			if err := put(t, s, other, fmt.Sprintf("run%d", i), "f", fb, 4096); err != nil {
				t.Error(err)
			}
		}
	})
	within(t, 30*time.Second, "a read of the live run", func() {
		tags := s.tags(slow.ID)
		if tags["live"]["loss"].Count == 0 {
			t.Errorf("the live run reads as %v, want its first half", tags)
		}
	})
	close(hang.release)
	if err := <-stuck; err != nil {
		t.Fatal(err)
	}
	if got := s.tags(slow.ID)["live"]["loss"].Count; got != 3000 {
		t.Errorf("after the held write, the run has %d values, want 3000", got)
	}
}

// TestDeleteRacesAppend: an append under way when its board is deleted
// leaves nothing behind, on the server that deletes (which waits for it)
// and on another server sharing the store (whose late writes the delete's
// final sweep removes).
func TestDeleteRacesAppend(t *testing.T) {
	fa, _ := runFiles(t)
	leftover := func(st store.Store, id string) []string {
		objs, err := st.List(context.Background(), "boards/"+id+"/", "")
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		return keys
	}
	appendHeld := func(srv api, bd created, hang *hangStore) chan int {
		done := make(chan int, 1)
		go func() {
			path := fmt.Sprintf("/api/boards/%s/files?run=r&file=f&offset=0", bd.ID)
			status, _ := srv.do("PUT", path, bd.Token, bytes.NewReader(fa))
			done <- status
		}()
		<-hang.entered
		return done
	}
	t.Run("one server", func(t *testing.T) {
		mem := store.NewMem()
		_, setup := replica(t, mem, hosting.Config{})
		bd := setup.create("doomed")
		hang := newHangStore(mem, bd.ID)
		_, s := replica(t, hang, hosting.Config{CacheTTL: -1})
		appended := appendHeld(s, bd, hang)
		deleted := make(chan int, 1)
		go func() {
			status, _ := s.do("DELETE", "/api/boards/"+bd.ID, bd.Token, nil)
			deleted <- status
		}()
		until(t, 10*time.Second, func() (bool, string) { // the tombstone is written
			data, _, err := mem.Get(context.Background(), "boards/"+bd.ID+"/board.json")
			return err == nil && bytes.Contains(data, []byte(`"deleted"`)), "no tombstone"
		})
		close(hang.release)
		<-appended
		if status := <-deleted; status != http.StatusNoContent {
			t.Fatalf("DELETE: %d", status)
		}
		if keys := leftover(mem, bd.ID); len(keys) > 0 {
			t.Errorf("the delete left %s", strings.Join(keys, ", "))
		}
		if status, _ := s.do("GET", "/api/boards/"+bd.ID, "", nil); status != http.StatusNotFound {
			t.Errorf("GET after delete: %d", status)
		}
	})
	t.Run("two servers", func(t *testing.T) {
		mem := store.NewMem()
		cfg := hosting.Config{CacheTTL: 50 * time.Millisecond, DeleteGrace: 300 * time.Millisecond}
		_, a := replica(t, mem, cfg)
		bd := a.create("doomed")
		hang := newHangStore(mem, bd.ID)
		_, b := replica(t, hang, cfg)
		appended := appendHeld(b, bd, hang)
		a.json("DELETE", "/api/boards/"+bd.ID, bd.Token, nil, http.StatusNoContent, nil)
		close(hang.release) // b's append lands after the delete
		<-appended
		until(t, 10*time.Second, func() (bool, string) {
			keys := leftover(mem, bd.ID)
			return len(keys) == 0, "left behind: " + strings.Join(keys, ", ")
		})
		until(t, 10*time.Second, func() (bool, string) {
			status, _ := b.do("PUT", fmt.Sprintf("/api/boards/%s/files?run=r&file=g&offset=0", bd.ID), bd.Token, bytes.NewReader(fa))
			return status == http.StatusNotFound, fmt.Sprintf("an append after the delete answers %d", status)
		})
		if keys := leftover(mem, bd.ID); len(keys) > 0 {
			t.Errorf("left behind: %s", strings.Join(keys, ", "))
		}
	})
}
