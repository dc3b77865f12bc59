package hosting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/engine"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
)

// errRandom is what randomStore's failing operations return.
var errRandom = errors.New("random store failure")

// randomStore wraps a Store: each operation may stall for up to stall
// and then fail with probability failRate. A failing write fails before
// or (half the time) after reaching the store, as when the answer to a
// write is lost. It is safe for concurrent use.
type randomStore struct {
	store.Store
	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64
	stall    time.Duration
	failed   atomic.Int64
}

func newRandomStore(s store.Store, seed uint64, failRate float64, stall time.Duration) *randomStore {
	return &randomStore{Store: s, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), failRate: failRate, stall: stall}
}

// roll stalls and decides whether the operation fails, and if so whether
// after the write.
func (s *randomStore) roll(ctx context.Context) (fail, after bool, err error) {
	s.mu.Lock()
	rate, stall := s.failRate, time.Duration(0)
	if s.stall > 0 {
		stall = time.Duration(s.rng.Int64N(int64(s.stall)))
	}
	fail = s.rng.Float64() < rate
	after = s.rng.IntN(2) == 0
	s.mu.Unlock()
	if stall > 0 {
		t := time.NewTimer(stall)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false, false, ctx.Err()
		}
	}
	if fail {
		s.failed.Add(1)
	}
	return fail, after, nil
}

// setFailRate changes the failure probability (0 turns faults off).
func (s *randomStore) setFailRate(r float64, stall time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate, s.stall = r, stall
}

func (s *randomStore) write(ctx context.Context, key string, w func() error) error {
	fail, after, err := s.roll(ctx)
	switch {
	case err != nil:
		return err
	case !fail:
		return w()
	case after:
		if err := w(); err != nil {
			return err
		}
	}
	return fmt.Errorf("write %s: %w", key, errRandom)
}

func (s *randomStore) Put(ctx context.Context, key string, data []byte) error {
	return s.write(ctx, key, func() error { return s.Store.Put(ctx, key, data) })
}

func (s *randomStore) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	var g int64
	err := s.write(ctx, key, func() error {
		var err error
		g, err = s.Store.PutIf(ctx, key, data, gen)
		return err
	})
	return g, err
}

func (s *randomStore) Delete(ctx context.Context, key string) error {
	return s.write(ctx, key, func() error { return s.Store.Delete(ctx, key) })
}

func (s *randomStore) read(ctx context.Context, key string) error {
	fail, _, err := s.roll(ctx)
	if err != nil {
		return err
	}
	if fail {
		return fmt.Errorf("read %s: %w", key, errRandom)
	}
	return nil
}

func (s *randomStore) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if err := s.read(ctx, key); err != nil {
		return nil, 0, err
	}
	return s.Store.Get(ctx, key)
}

func (s *randomStore) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if err := s.read(ctx, key); err != nil {
		return nil, err
	}
	return s.Store.Open(ctx, key, off)
}

func (s *randomStore) List(ctx context.Context, prefix, start string) ([]store.ObjectInfo, error) {
	if err := s.read(ctx, prefix); err != nil {
		return nil, err
	}
	return s.Store.List(ctx, prefix, start)
}

// retryStats counts what a retrying upload met.
type retryStats struct {
	retries, connErrors, serverErrors atomic.Int64
}

// uploadResume uploads f in chunk-byte PUTs like a resuming client: after
// a connection error or a 5xx it asks GET /files for the offset the server
// holds and resends from there; a 409 gap resends from the offset it
// names. It gives up after maxTries failed requests.
func (c *loadClient) uploadResume(f loadFile, chunk, maxTries int, st *retryStats) error {
	off := 0
	// A retrying client's pause, growing with the failures (not a wait
	// for something to happen: the next request finds out).
	backoff := func(n int) { time.Sleep(time.Duration(min(n, 20)) * time.Millisecond) }
	for tries := 0; off < len(f.data); {
		end := min(off+chunk, len(f.data))
		status, body, err := c.do("PUT", filePath(f.board.ID, f.run, f.file, int64(off)), f.board.Token, f.data[off:end])
		if err == nil && status == http.StatusOK {
			var res engine.AppendResult
			if err := json.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("PUT answer %s: %w", body, err)
			}
			// The server may hold more than this request brought (a resend
			// after an answer was lost): go on from what it holds.
			if res.Size < int64(end) {
				return fmt.Errorf("PUT %s/%s at %d: the server holds %d bytes, want at least %d", f.run, f.file, off, res.Size, end)
			}
			off = int(res.Size)
			continue
		}
		tries++
		st.retries.Add(1)
		if tries > maxTries {
			return fmt.Errorf("PUT %s/%s: gave up at offset %d after %d failed requests (last: %d %v %s)", f.run, f.file, off, tries, status, err, body)
		}
		switch {
		case err != nil:
			st.connErrors.Add(1)
		case status >= 500:
			st.serverErrors.Add(1)
		case status == http.StatusConflict:
			var gap struct{ Offset *int64 }
			if json.Unmarshal(body, &gap) == nil && gap.Offset != nil {
				off = int(*gap.Offset)
				continue
			}
			// A conflict without an offset: another writer; resync below.
		default:
			return fmt.Errorf("PUT %s/%s at %d: status %d: %s", f.run, f.file, off, status, body)
		}
		backoff(tries)
		// Resync: ask the server where the file stands, retrying that too.
		for {
			size, err := c.heldBytes(f)
			if err == nil {
				off = int(size)
				break
			}
			tries++
			st.retries.Add(1)
			if tries > maxTries {
				return fmt.Errorf("GET files of %s: gave up after %d failed requests: %w", f.board.ID, tries, err)
			}
			backoff(tries)
		}
	}
	return nil
}

// heldBytes asks GET /api/boards/<id>/files how many bytes of f the server holds.
func (c *loadClient) heldBytes(f loadFile) (int64, error) {
	status, body, err := c.do("GET", "/api/boards/"+f.board.ID+"/files", f.board.Token, nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET files: status %d: %s", status, body)
	}
	var files struct{ Files []hosting.FileInfo }
	if err := json.Unmarshal(body, &files); err != nil {
		return 0, err
	}
	for _, fi := range files.Files {
		if fi.Run == f.run && fi.File == f.file {
			return fi.Size, nil
		}
	}
	return 0, nil
}

// faultFiles makes boards × runs files; board ids and tokens are filled in
// by assign.
func faultFiles(t *testing.T, boards, runs, steps int) [][]loadFile {
	out := make([][]loadFile, boards)
	for i := range out {
		for r := range runs {
			out[i] = append(out[i], loadFile{run: fmt.Sprintf("run%d", r), file: fmt.Sprintf("events.out.tfevents.%d.fault", 2000+i), data: genEvents(t, 100+i*runs+r, steps)})
		}
	}
	return out
}

// reference uploads the boards' files to a fault-free server and returns,
// per board index, its tags answer and its files.
func reference(t *testing.T, boards [][]loadFile, chunk int) (tags [][]byte, files []map[string][]byte) {
	a := startServer(t, store.NewMem())
	lc := newLoadClient(func() string { return a.base })
	defer lc.client.CloseIdleConnections()
	for i, fs := range boards {
		b := a.create(fmt.Sprintf("reference %d", i))
		want := map[string][]byte{}
		for _, f := range fs {
			f.board = b
			if err := lc.uploadPlain(f, chunk); err != nil {
				t.Fatal(err)
			}
			want[f.run+"/"+f.file] = f.data
		}
		tags = append(tags, tagsBody(t, a, b.ID))
		files = append(files, want)
	}
	return tags, files
}

// tagsBody returns the body of GET /api/boards/<id>/tags.
func tagsBody(t *testing.T, a api, id string) []byte {
	t.Helper()
	status, body := a.do("GET", "/api/boards/"+id+"/tags", "", nil)
	if status != http.StatusOK {
		t.Fatalf("tags of %s: status %d: %s", id, status, body)
	}
	return body
}

// startUploads creates a board per entry of in (retrying) and uploads its
// files concurrently, each resuming after failures; wait waits for the
// uploads and reports their errors.
func startUploads(t *testing.T, lc *loadClient, in [][]loadFile, name string, chunk int) (ids []string, st *retryStats, wait func()) {
	t.Helper()
	st = &retryStats{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, fs := range in {
		b := createRetry(t, lc, fmt.Sprintf("%s %d", name, i))
		ids = append(ids, b.ID)
		for _, f := range fs {
			f.board = b
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := lc.uploadResume(f, chunk, 500, st); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	return ids, st, func() {
		t.Helper()
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
	}
}

// createRetry creates a board, retrying server errors (the random store
// fails one operation in seven: 50 tries in a row do not all fail).
func createRetry(t *testing.T, lc *loadClient, name string) created {
	t.Helper()
	for tries := 0; tries < 50; tries++ {
		status, body, err := lc.do("POST", "/api/boards", "", []byte(fmt.Sprintf(`{"name":%q}`, name)))
		if err == nil && status == http.StatusCreated {
			var b created
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		if err == nil && status < 500 {
			t.Fatalf("create board: status %d: %s", status, body)
		}
	}
	t.Fatal("create board: still failing after 50 tries")
	return created{}
}

// checkBoards compares each board's tags answer and raw export with the
// fault-free reference.
func checkBoards(t *testing.T, a api, ids []string, wantTags [][]byte, wantFiles []map[string][]byte) {
	t.Helper()
	for i, id := range ids {
		if got := tagsBody(t, a, id); !bytes.Equal(got, wantTags[i]) {
			t.Errorf("board %d: tags differ from the fault-free upload:\n got %s\nwant %s", i, got, wantTags[i])
		}
		sameFiles(t, a.rawExport(id), wantFiles[i])
	}
}

// TestFaultRandomStore uploads boards through a server whose store fails
// and stalls at random (reads and writes, failing writes before or after
// they land): every upload completes by resuming from the offset the
// server reports, and each board ends up identical to a fault-free one.
func TestFaultRandomStore(t *testing.T) {
	const (
		boards, runs, steps = 4, 2, 250
		chunk               = 3000
	)
	in := faultFiles(t, boards, runs, steps)
	wantTags, wantFiles := reference(t, in, chunk)

	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rs := newRandomStore(store.NewMem(), seed, 0.15, 2*time.Millisecond)
			a := startServer(t, rs)
			lc := newLoadClient(func() string { return a.base })
			defer lc.client.CloseIdleConnections()
			ids, st, wait := startUploads(t, lc, in, "faulty", chunk)
			wait()
			if rs.failed.Load() == 0 {
				t.Error("the store failed no operation: the test tested nothing")
			}
			t.Logf("store failures %d; client retries %d (connection errors %d, 5xx %d)", rs.failed.Load(), st.retries.Load(), st.connErrors.Load(), st.serverErrors.Load())
			rs.setFailRate(0, 0)
			// A new server on the store reads every digest from it.
			checkBoards(t, startServer(t, rs), ids, wantTags, wantFiles)
		})
	}
}

// TestFaultServerKilledMidUpload kills a server (closing every client
// connection, then the server) while uploads are in flight and its store
// writes are stalled, and starts a new server on the same store: every
// upload completes against the new server by resuming from the offset it
// reports, and the boards are identical to fault-free ones.
func TestFaultServerKilledMidUpload(t *testing.T) {
	const (
		boards, runs, steps = 4, 2, 400
		chunk               = 2048
	)
	in := faultFiles(t, boards, runs, steps)
	wantTags, wantFiles := reference(t, in, chunk)

	store := store.NewMem()
	slow := storetest.NewFaulty(store, 0)
	slow.SetStall(3 * time.Millisecond) // keep requests in flight inside store writes
	first, err := hosting.NewServer(hosting.Config{Store: slow})
	if err != nil {
		t.Fatal(err)
	}
	old := httptest.NewServer(first.Handler())
	defer old.Close()
	var base atomic.Value
	base.Store(old.URL)
	lc := newLoadClient(func() string { return base.Load().(string) })
	defer lc.client.CloseIdleConnections()

	ids, st, wait := startUploads(t, lc, in, "killed", chunk)

	// Kill the server once some of every upload is in, while the rest is
	// in flight.
	slow.Await(t, 20*time.Second, "the uploads' first store writes", func() bool { return slow.Writes() >= 2*boards*runs })
	writesBefore := slow.Writes()
	old.CloseClientConnections() // in-flight requests lose their connections
	old.Listener.Close()         // new ones are refused
	second, err := hosting.NewServer(hosting.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	restarted := httptest.NewServer(second.Handler())
	defer restarted.Close()
	base.Store(restarted.URL)
	old.Close() // waits for the old server's handlers to end

	wait()
	t.Logf("killed after %d store writes; client retries %d (connection errors %d, 5xx %d)", writesBefore, st.retries.Load(), st.connErrors.Load(), st.serverErrors.Load())
	if st.connErrors.Load() == 0 {
		t.Error("no upload saw the server die: the test tested nothing")
	}
	var total int
	for _, fs := range in {
		for _, f := range fs {
			total += len(f.data)
		}
	}
	if writesBefore >= 2*(total/chunk+len(in)*runs) {
		t.Errorf("the server was killed after %d writes, when the uploads were already over", writesBefore)
	}
	checkBoards(t, api{t: t, base: restarted.URL}, ids, wantTags, wantFiles)
}
