package client

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// requestCounter counts a handler's requests by kind ("batch", "put:<run>").
type requestCounter struct {
	h  http.Handler
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/batch"):
		c.n["batch"]++
	case r.Method == http.MethodPut:
		c.n["put:"+r.URL.Query().Get("run")]++
	}
	c.mu.Unlock()
	c.h.ServeHTTP(w, r)
}

func (c *requestCounter) count(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// sweepDir writes a log dir of runs small runs of a few scalars each and
// one run "big" of big bytes, and returns it with its files by "run/file".
func sweepDir(t *testing.T, runs, big int) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{}
	write := func(run string, steps int) {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		if err := w.WriteFileVersion(1.7e9); err != nil {
			t.Fatal(err)
		}
		for s := range steps {
			if err := w.WriteScalar("loss", int64(s), 1.7e9+float64(s), 1/float64(s+1)); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(dir, filepath.FromSlash(run), "events.out.tfevents.1.host")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files[run+"/events.out.tfevents.1.host"] = buf.Bytes()
	}
	for i := range runs {
		write(fmt.Sprintf("lr=%d/seed=%d", i/10, i%10), 1+i%4)
	}
	if big > 0 {
		write("big", big)
	}
	return dir, files
}

// startBatchServer serves a real tbhost server over a memory store,
// counting requests, and returns a client and a board on it.
func startBatchServer(t *testing.T, block bool) (*Client, *Created, *requestCounter) {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv.Handler()
	if block {
		// A server older than batches: no such route.
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/batch") {
				http.Error(w, `{"error":"no such page"}`, http.StatusNotFound)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	rc := &requestCounter{h: h, n: map[string]int{}}
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	c := New(ts.URL, fastRetry)
	b, err := c.CreateBoard(context.Background(), NewBoard{Name: "sweep"})
	if err != nil {
		t.Fatal(err)
	}
	return c, b, rc
}

// rawFiles returns a board's raw export by path.
func rawFiles(t *testing.T, c *Client, id string) map[string][]byte {
	t.Helper()
	rc, err := c.ExportRaw(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = data
	}
}

func sameRaw(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("the board holds %d files, want %d", len(got), len(want))
	}
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Errorf("%s: the board holds %d bytes that differ from the %d sent", name, len(got[name]), len(w))
		}
	}
}

// TestUploaderBatchesSmallRuns uploads a sweep: the small runs go in a few
// batch requests (bounded by the chunk size), the big run file by file,
// the board holds every byte, progress ends complete, and a second pass
// sends nothing.
func TestUploaderBatchesSmallRuns(t *testing.T) {
	dir, files := sweepDir(t, 60, 200)
	c, b, rc := startBatchServer(t, false)
	var last Progress
	var mu sync.Mutex
	u := &Uploader{Client: c, Board: b.ID, Token: b.Token, Dir: dir, ChunkSize: 2048, Progress: func(p Progress) {
		mu.Lock()
		last = p
		mu.Unlock()
	}}
	s, err := u.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var small int64
	for name, data := range files {
		if !strings.HasPrefix(name, "big/") {
			small += int64(len(data))
		}
	}
	batches, puts := rc.count("batch"), rc.count("put:big")
	if want := int(small/2048) + 2; batches == 0 || batches > want {
		t.Errorf("%d batch requests for %d bytes of small runs in 2 KiB batches, want 1 to %d", batches, small, want)
	}
	if puts < int(int64(len(files["big/events.out.tfevents.1.host"]))/2048) {
		t.Errorf("the big run went in %d PUTs of at most 2 KiB", puts)
	}
	for name := range files {
		if run := strings.TrimSuffix(name, "/events.out.tfevents.1.host"); run != "big" && rc.count("put:"+run) > 0 {
			t.Errorf("small run %s went by PUT", run)
		}
	}
	sameRaw(t, rawFiles(t, c, b.ID), files)
	if !last.Done || last.FilesDone != last.FilesTotal || last.BytesDone != last.BytesTotal || last.FilesTotal != len(files) {
		t.Errorf("last progress %+v, want done with every file and byte", last)
	}
	if s.Sent != last.BytesTotal || s.FilesSent != len(files) {
		t.Errorf("summary %+v", s)
	}
	before := rc.count("batch")
	if s, err := u.Sync(context.Background()); err != nil || s.Sent != 0 || rc.count("batch") != before {
		t.Errorf("second pass: %v, sent %v, %d batches more", err, s, rc.count("batch")-before)
	}
}

// TestUploaderWithoutBatches uploads to a server that answers 404 to
// batches: everything goes by PUT, and later passes do not ask again.
func TestUploaderWithoutBatches(t *testing.T) {
	dir, files := sweepDir(t, 12, 0)
	c, b, rc := startBatchServer(t, true)
	u := &Uploader{Client: c, Board: b.ID, Token: b.Token, Dir: dir}
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameRaw(t, rawFiles(t, c, b.ID), files)
	if n := rc.count("batch"); n != 1 {
		t.Errorf("%d batch requests, want the 1 that found no route", n)
	}
	more := filepath.Join(dir, "late", "events.out.tfevents.2.host")
	if err := os.MkdirAll(filepath.Dir(more), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(more, files["lr=0/seed=0/events.out.tfevents.1.host"], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(more+"b", files["lr=0/seed=1/events.out.tfevents.1.host"], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rc.count("batch"); n != 1 {
		t.Errorf("%d batch requests after a second pass, want still 1", n)
	}
	if rc.count("put:late") != 2 {
		t.Errorf("the new run went in %d PUTs, want 2", rc.count("put:late"))
	}
}

// TestUploaderBatchPieceFails sends a batch one piece of which the server
// refuses with a gap (the uploader thought the server held bytes it does
// not): that run goes again by PUT from the offset the server gave, the
// others stay batched, and the board ends with every byte.
func TestUploaderBatchPieceFails(t *testing.T) {
	dir, files := sweepDir(t, 8, 0)
	c, b, rc := startBatchServer(t, false)
	u := &Uploader{Client: c, Board: b.ID, Token: b.Token, Dir: dir}
	u.remote = map[fileKey]int64{{"lr=0/seed=3", "events.out.tfevents.1.host"}: 5}
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameRaw(t, rawFiles(t, c, b.ID), files)
	if n := rc.count("put:lr=0/seed=3"); n != 1 {
		t.Errorf("the refused run went in %d PUTs, want 1", n)
	}
	if n := rc.count("put:lr=0/seed=4"); n != 0 {
		t.Errorf("a run in the same batch went in %d PUTs, want none", n)
	}
}

// TestAppendBatchCodingRefused sends a compressible batch to a server that
// says it takes zstd and gzip but answers 415 to zstd: the batch goes
// again in gzip, and then the client sends zstd no more.
func TestAppendBatchCodingRefused(t *testing.T) {
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	inner := srv.Handler()
	var mu sync.Mutex
	var seen []string // Content-Encoding of each batch
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Accept-Encoding", "zstd, gzip")
		if strings.HasSuffix(r.URL.Path, "/batch") {
			ce := r.Header.Get("Content-Encoding")
			mu.Lock()
			seen = append(seen, ce)
			mu.Unlock()
			if ce == "zstd" {
				w.Header().Set("Accept-Encoding", "gzip")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnsupportedMediaType)
				io.WriteString(w, `{"error":"unsupported Content-Encoding \"zstd\""}`)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c := New(ts.URL, fastRetry)
	ctx := context.Background()
	b, err := c.CreateBoard(ctx, NewBoard{Name: "codings"})
	if err != nil {
		t.Fatal(err)
	}
	_, files := sweepDir(t, 6, 0)
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var pieces []BatchPiece
	for _, name := range names {
		run, file := path.Split(name)
		pieces = append(pieces, BatchPiece{Run: strings.TrimSuffix(run, "/"), File: file, Data: files[name]})
	}
	for i := range 2 {
		batch := pieces[i*3 : i*3+3]
		if n := len(encodeBatch(nil, batch)); n < minCompress {
			t.Fatalf("batch %d: %d bytes, too few to compress", i, n)
		}
		res, err := c.AppendBatch(ctx, b.ID, b.Token, batch)
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoding != "gzip" || res.Wire <= 0 {
			t.Errorf("batch %d went in %q (%d bytes), want gzip", i, res.Encoding, res.Wire)
		}
		for j, p := range res.Pieces {
			if p.Status != 0 {
				t.Errorf("batch %d piece %d: %d %s", i, j, p.Status, p.Error)
			}
		}
	}
	if fmt.Sprint(seen) != "[zstd gzip gzip]" {
		t.Errorf("batch bodies went in %q, want zstd (refused), then gzip twice", seen)
	}
	sameRaw(t, rawFiles(t, c, b.ID), files)
}
