package hosting_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// failingReads fails, once armed, the reads of the raw parts of files
// whose key holds part.
type failingReads struct {
	store.Store
	part  string
	armed atomic.Bool
}

var errRead = errors.New("injected read failure")

func (f *failingReads) fails(key string) bool {
	return f.armed.Load() && strings.Contains(key, "/raw/") && strings.Contains(key, f.part)
}

func (f *failingReads) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if f.fails(key) {
		return nil, 0, fmt.Errorf("get %s: %w", key, errRead)
	}
	return f.Store.Get(ctx, key)
}

func (f *failingReads) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if f.fails(key) {
		return nil, fmt.Errorf("open %s: %w", key, errRead)
	}
	return f.Store.Open(ctx, key, off)
}

// lockedBuffer is a log sink for a server's handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// getAll requests path and reads the whole answer, returning the read error
// instead of failing.
func getAll(t *testing.T, a api, path string) (int, []byte, error) {
	t.Helper()
	resp, err := http.Get(a.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// An export that fails to read a file after its answer has begun breaks
// off (the client reads an unexpected EOF, not a shorter file); one that
// fails before any byte is sent is an error status. Either is logged
// with the run and the file.
func TestExportFailuresReachTheClient(t *testing.T) {
	scalars := func(from int64) []byte {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		for step := from; step < from+4000; step++ {
			if err := w.WriteScalar("loss", step, 1.7e9+float64(step), float64(step%97)/7); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	const first, second = "events.out.tfevents.1.a", "events.out.tfevents.2.b"
	files := map[string][]byte{first: scalars(0), second: scalars(4000)}
	for _, tt := range []struct {
		name, failing, path string
		aborted             bool // else an error status
	}{
		{"raw, the first file", first, "/export/raw.tar.gz", true},
		{"raw, the second file", second, "/export/raw.tar.gz", true},
		{"csv, the first file", first, "/export/scalars?run=run&tag=loss", false},
		{"csv, the second file", second, "/export/scalars?run=run&tag=loss", true},
		{"json, the second file", second, "/export/scalars?run=run&tag=loss&format=json", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &failingReads{Store: store.NewMem(), part: "/" + tt.failing + "/"}
			var logs lockedBuffer
			srv, a := startWith(t, hosting.Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			bd := a.create("export")
			for _, name := range []string{first, second} {
				if err := put(t, a, bd, "run", name, files[name], 1<<14); err != nil {
					t.Fatal(err)
				}
			}
			if err := srv.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			path := "/api/boards/" + bd.ID + tt.path
			if status, _, err := getAll(t, a, path); status != http.StatusOK || err != nil {
				t.Fatalf("before the failure: status %d, %v", status, err)
			}
			st.armed.Store(true)
			status, data, err := getAll(t, a, path)
			switch {
			case tt.aborted && (status != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF)):
				t.Errorf("status %d, %d bytes, read error %v; want 200 broken off (unexpected EOF)", status, len(data), err)
			case !tt.aborted && (status != http.StatusInternalServerError || err != nil):
				t.Errorf("status %d, %d bytes, read error %v; want 500", status, len(data), err)
			}
			if l := logs.String(); !strings.Contains(l, "run=run") || !strings.Contains(l, "file="+tt.failing) || !strings.Contains(l, errRead.Error()) {
				t.Errorf("the log does not name the file and the error:\n%s", l)
			}
		})
	}
}
