package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tbhost/tfevents"
)

// fastRetry keeps the tests quick: the backoff is real but tiny.
var fastRetry = WithRetry(RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond})

// fakeServer implements the upload half of the API in memory, holding each
// file's bytes exactly as a real server would.
type fakeServer struct {
	mu    sync.Mutex
	token string
	files map[string][]byte // "run\x00file" → bytes
	// claim, when set, overrides the size Files reports (a server that
	// lost bytes after reporting them).
	claim     map[string]int64
	puts      int
	onPut     func(n int) // called after each accepted PUT with its body size
	failFirst int         // answer 503 to this many PUTs first
	// notes, if set, gives the warnings of a file after a PUT.
	notes func(run, file string, size int) []string
}

func newFakeServer(token string) *fakeServer {
	return &fakeServer{token: token, files: map[string][]byte{}, claim: map[string]int64{}}
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeErr := func(status int, msg string, off *int64) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		body := map[string]any{"error": msg}
		if off != nil {
			body["offset"] = *off
		}
		json.NewEncoder(w).Encode(body)
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeErr(http.StatusForbidden, "the write token is not the one for this board", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/boards/b1/files":
		type rf struct {
			Run  string `json:"run"`
			File string `json:"file"`
			Size int64  `json:"size"`
		}
		out := []rf{}
		for k, v := range f.files {
			run, file, _ := strings.Cut(k, "\x00")
			size := int64(len(v))
			if c, ok := f.claim[k]; ok {
				size = c
			}
			out = append(out, rf{run, file, size})
		}
		json.NewEncoder(w).Encode(map[string]any{"files": out})
	case r.Method == http.MethodPut && r.URL.Path == "/api/boards/b1/files":
		if f.failFirst > 0 {
			f.failFirst--
			io.Copy(io.Discard, r.Body)
			writeErr(http.StatusServiceUnavailable, "busy", nil)
			return
		}
		q := r.URL.Query()
		k := q.Get("run") + "\x00" + q.Get("file")
		off, err := strconv.ParseInt(q.Get("offset"), 10, 64)
		if err != nil {
			writeErr(http.StatusBadRequest, "bad offset", nil)
			return
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		have := f.files[k]
		if off > int64(len(have)) {
			n := int64(len(have))
			writeErr(http.StatusConflict, "upload gap", &n)
			return
		}
		if skip := int64(len(have)) - off; skip < int64(len(data)) {
			have = append(have, data[skip:]...)
		}
		f.files[k] = have
		delete(f.claim, k)
		f.puts++
		if f.onPut != nil {
			f.onPut(len(data))
		}
		run, file, _ := strings.Cut(k, "\x00")
		notes := []string{}
		if f.notes != nil {
			notes = f.notes(run, file, len(have))
		}
		json.NewEncoder(w).Encode(map[string]any{"run": run, "file": file, "size": len(have), "warnings": notes})
	default:
		writeErr(http.StatusNotFound, "no such route", nil)
	}
}

func (f *fakeServer) file(run, file string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.files[run+"\x00"+file]...)
}

// logDir writes files (slash path → content) below a new temporary dir.
func logDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int // status per request, the last one repeats
		wantCalls int
		wantErr   int // status of the final error, 0 for success
	}{
		{"503 then success", []int{503, 503, 200}, 3, 0},
		{"502 then success", []int{502, 200}, 2, 0},
		{"429 then success", []int{429, 200}, 2, 0},
		{"always 503 gives up", []int{503}, 4, 503},
		{"404 stops at once", []int{404}, 1, 404},
		{"401 stops at once", []int{401}, 1, 401},
		{"400 stops at once", []int{400}, 1, 400},
		{"501 is not retried", []int{501}, 1, 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := min(calls, len(tt.answers)-1)
				calls++
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, string(b))
				mu.Unlock()
				status := tt.answers[i]
				if status != 200 {
					w.WriteHeader(status)
					json.NewEncoder(w).Encode(map[string]string{"error": "status " + strconv.Itoa(status)})
					return
				}
				json.NewEncoder(w).Encode(map[string]any{"run": "r", "file": "f", "size": 5})
			}))
			defer srv.Close()
			c := New(srv.URL, fastRetry)
			res, err := c.Append(context.Background(), "b1", "tok", "r", "f", 0, strings.NewReader("hello"), 5)
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			for i, b := range bodies {
				if b != "hello" {
					t.Errorf("request %d body = %q, want the same bytes on every try", i, b)
				}
			}
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if res.Size != 5 {
					t.Errorf("size = %d, want 5", res.Size)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.wantErr {
				t.Errorf("status = %d, want %d", ae.Status, tt.wantErr)
			}
			if want := "status " + strconv.Itoa(tt.wantErr); ae.Message != want {
				t.Errorf("message = %q, want %q", ae.Message, want)
			}
		})
	}
}

func TestAppendNonSeekableBodyIsSentOnce(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	c := New(srv.URL, fastRetry)
	body := io.MultiReader(strings.NewReader("abc")) // not an io.Seeker
	_, err := c.Append(context.Background(), "b1", "tok", "r", "f", 0, body, 3)
	if StatusOf(err) != 503 {
		t.Fatalf("err = %v, want a 503 APIError", err)
	}
	if calls != 1 {
		t.Errorf("calls = %d, want 1: a body that cannot be replayed must not be retried", calls)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	retries := 0
	c := New(url, fastRetry, WithRetryNotify(func(error, int, time.Duration) { retries++ }))
	_, err := c.Board(context.Background(), "b1")
	if !IsUnreachable(err) {
		t.Fatalf("err = %v (%T), want *UnreachableError", err, err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the server %s", err, url)
	}
	if retries != 3 {
		t.Errorf("retries = %d, want 3 (4 attempts)", retries)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	// A long backoff: the only way out is the cancellation.
	c := New(srv.URL, WithRetry(RetryPolicy{Attempts: 100, Base: time.Hour, Max: time.Hour}),
		WithRetryNotify(func(error, int, time.Duration) { cancel() }))
	_, err := c.Board(ctx, "b1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestAPIErrorDecoding(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantMsg    string
		wantOffset int64 // -1: none
	}{
		{"json error", 404, `{"error":"board x not found"}`, "board x not found", -1},
		{"gap with offset", 409, `{"error":"upload gap","offset":1234}`, "upload gap", 1234},
		{"plain text", 400, "bad thing\n", "bad thing", -1},
		{"html page", 502, "<html><body>Bad Gateway</body></html>", "", -1},
		{"empty", 403, "", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := New(srv.URL, WithRetry(RetryPolicy{Attempts: 1}))
			_, err := c.Board(context.Background(), "x")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tt.status || ae.Message != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", ae.Status, ae.Message, tt.status, tt.wantMsg)
			}
			if tt.wantOffset < 0 && ae.Offset != nil {
				t.Errorf("offset = %d, want none", *ae.Offset)
			}
			if tt.wantOffset >= 0 && (ae.Offset == nil || *ae.Offset != tt.wantOffset) {
				t.Errorf("offset = %v, want %d", ae.Offset, tt.wantOffset)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.status)) {
				t.Errorf("error %q does not carry the status", err)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(201)
			io.WriteString(w, `{"id":"abc","url":"/experiment/abc/","token":"t0k"}`)
		case http.MethodDelete:
			w.WriteHeader(204)
		default:
			io.WriteString(w, `{"id":"abc","name":"n","runs":3,"size":10,"created":"2024-01-02T03:04:05Z","url":"/experiment/abc/"}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL+"/prefix/", WithViewKey("vk"), WithUploadToken("up"))

	created, err := c.CreateBoard(ctx, NewBoard{Name: "n", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/prefix/api/boards" || got.Header.Get("Authorization") != "Bearer up" {
		t.Errorf("create: %s %q auth %q", got.Method, got.URL.Path, got.Header.Get("Authorization"))
	}
	if string(body) != `{"name":"n","description":"","private":true}` {
		t.Errorf("create body = %s", body)
	}
	if created.URL != srv.URL+"/prefix/experiment/abc/" || created.Token != "t0k" {
		t.Errorf("created = %+v", created)
	}

	b, err := c.Board(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("X-Tbhost-Key") != "vk" {
		t.Errorf("read without the view key header")
	}
	if b.Runs != 3 || b.Size != 10 || b.Created.Year() != 2024 {
		t.Errorf("board = %+v", b)
	}

	name := "new"
	if _, err := c.UpdateBoard(ctx, "abc", "tok", BoardPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPatch || got.Header.Get("Authorization") != "Bearer tok" || string(body) != `{"name":"new"}` {
		t.Errorf("update: %s auth %q body %s", got.Method, got.Header.Get("Authorization"), body)
	}

	if err := c.DeleteBoard(ctx, "abc", "tok"); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodDelete || got.URL.Path != "/prefix/api/boards/abc" {
		t.Errorf("delete: %s %s", got.Method, got.URL.Path)
	}

	if _, err := c.Append(ctx, "abc", "tok", "a b/c", "events.tfevents.1", 42, strings.NewReader("xyz"), 3); err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if got.Method != http.MethodPut || q.Get("run") != "a b/c" || q.Get("file") != "events.tfevents.1" || q.Get("offset") != "42" || string(body) != "xyz" || got.ContentLength != 3 {
		t.Errorf("append: %s %s body %q len %d", got.Method, got.URL, body, got.ContentLength)
	}
}

func TestUploaderSync(t *testing.T) {
	files := map[string]string{
		"events.out.tfevents.1":           strings.Repeat("root-", 20),
		"train/events.out.tfevents.2":     strings.Repeat("train-", 37),
		"eval/sub/events.out.tfevents.3":  "x",
		"eval/sub/notes.txt":              "not an event file",
		"empty/events.out.tfevents.0.bak": "",
	}
	tests := []struct {
		name      string
		chunk     int64
		preload   map[string]string // run\x00file → bytes the server holds
		claim     map[string]int64  // sizes the server claims (a stale answer)
		failFirst int
	}{
		{name: "fresh, one request per file", chunk: 0},
		{name: "fresh, small chunks", chunk: 7},
		{name: "resume from what the server holds", chunk: 16, preload: map[string]string{"train\x00events.out.tfevents.2": strings.Repeat("train-", 10)}},
		{name: "409 continues from the server's offset", chunk: 16,
			preload: map[string]string{"train\x00events.out.tfevents.2": strings.Repeat("train-", 5)},
			claim:   map[string]int64{"train\x00events.out.tfevents.2": 150}},
		{name: "503s are retried", chunk: 50, failFirst: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := logDir(t, files)
			fs := newFakeServer("tok")
			for k, v := range tt.preload {
				fs.files[k] = []byte(v)
			}
			for k, v := range tt.claim {
				fs.claim[k] = v
			}
			fs.failFirst = tt.failFirst
			srv := httptest.NewServer(fs)
			defer srv.Close()
			var last Progress
			u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: tt.chunk,
				Progress: func(p Progress) { last = p }}
			s, err := u.Sync(context.Background())
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			for name, content := range files {
				run, file := filepath.ToSlash(filepath.Dir(name)), filepath.Base(name)
				if !strings.Contains(file, "tfevents") {
					if got := fs.file(run, file); got != nil {
						t.Errorf("%s was uploaded but is not an event file", name)
					}
					continue
				}
				if got := string(fs.file(run, file)); got != content {
					t.Errorf("%s: server holds %q, want %q", name, got, content)
				}
			}
			if s.Runs != 4 || s.Files != 4 {
				t.Errorf("summary runs=%d files=%d, want 4 and 4", s.Runs, s.Files)
			}
			if !last.Done || last.BytesDone != last.BytesTotal {
				t.Errorf("last progress = %+v, want done with every byte", last)
			}
			// A second pass has nothing to send.
			puts := fs.puts
			s, err = u.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if s.Sent != 0 || fs.puts != puts {
				t.Errorf("second pass sent %d bytes in %d requests, want nothing", s.Sent, fs.puts-puts)
			}
		})
	}
}

func TestUploaderStopsOn4xx(t *testing.T) {
	dir := logDir(t, map[string]string{"events.out.tfevents.1": "abc"})
	fs := newFakeServer("right")
	srv := httptest.NewServer(fs)
	defer srv.Close()
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "wrong", Dir: dir}
	_, err := u.Sync(context.Background())
	if StatusOf(err) != http.StatusForbidden {
		t.Fatalf("err = %v, want 403", err)
	}
	if !strings.Contains(err.Error(), "write token") {
		t.Errorf("error %q lost the server's message", err)
	}
	if Transient(err) {
		t.Errorf("a 403 must not count as transient")
	}
}

func TestUploaderResumeAfterInterruption(t *testing.T) {
	content := strings.Repeat("0123456789", 100)
	dir := logDir(t, map[string]string{"run/events.out.tfevents.1": content, "run/events.out.tfevents.2": content[:333]})
	fs := newFakeServer("tok")
	srv := httptest.NewServer(fs)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	fs.onPut = func(n int) {
		sent += n
		if sent >= 400 {
			cancel()
		}
	}
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 64}
	if _, err := u.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Sync: err = %v, want context.Canceled", err)
	}
	if got := len(fs.file("run", "events.out.tfevents.1")); got == 0 || got >= len(content) {
		t.Fatalf("after the interruption the server holds %d bytes; the test wants a partial upload", got)
	}
	fs.onPut = nil
	puts := fs.puts
	// A new Uploader, as a new process would have.
	u = &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 64}
	s, err := u.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fs.file("run", "events.out.tfevents.1")); got != content {
		t.Errorf("file 1 differs after resume (%d bytes, want %d)", len(got), len(content))
	}
	if got := string(fs.file("run", "events.out.tfevents.2")); got != content[:333] {
		t.Errorf("file 2 differs after resume")
	}
	if s.Resumed == 0 || s.Sent+s.Resumed != int64(len(content)+333) {
		t.Errorf("resumed %d + sent %d, want a resume adding up to %d", s.Resumed, s.Sent, len(content)+333)
	}
	if want := (1333 - int(s.Resumed) + 63) / 64; fs.puts-puts > want+1 {
		t.Errorf("resume took %d requests; only the missing bytes should go (about %d)", fs.puts-puts, want)
	}
}

func TestWatchSendsNewBytesAndFiles(t *testing.T) {
	dir := logDir(t, map[string]string{"a/events.out.tfevents.1": "first"})
	fs := newFakeServer("tok")
	srv := httptest.NewServer(fs)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, Interval: time.Millisecond}
	pass := 0
	var failures []string
	err := u.Watch(ctx, func(s *Summary, err error) {
		pass++
		if err != nil {
			failures = append(failures, err.Error())
		}
		switch pass {
		case 1:
			if got := string(fs.file("a", "events.out.tfevents.1")); got != "first" {
				failures = append(failures, "pass 1: server holds "+got)
			}
			// Training goes on: the file grows and a new run appears.
			f, err := os.OpenFile(filepath.Join(dir, "a", "events.out.tfevents.1"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				cancel()
				return
			}
			f.WriteString("+second")
			f.Close()
			os.MkdirAll(filepath.Join(dir, "b"), 0o755)
			os.WriteFile(filepath.Join(dir, "b", "events.out.tfevents.2"), []byte("new run"), 0o644)
		case 2:
			if got := string(fs.file("a", "events.out.tfevents.1")); got != "first+second" {
				failures = append(failures, "pass 2: file a holds "+got)
			}
			if got := string(fs.file("b", "events.out.tfevents.2")); got != "new run" {
				failures = append(failures, "pass 2: file b holds "+got)
			}
			if s.Sent != int64(len("+second")+len("new run")) {
				failures = append(failures, "pass 2 sent "+strconv.FormatInt(s.Sent, 10)+" bytes")
			}
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if pass != 2 {
		t.Errorf("Watch made %d passes after the cancellation, want 2", pass)
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func TestWatchKeepsGoingWhenTheServerIsDown(t *testing.T) {
	dir := logDir(t, map[string]string{"events.out.tfevents.1": "abc"})
	fs := newFakeServer("tok")
	var mu sync.Mutex
	down := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := down
		mu.Unlock()
		if d {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := &Uploader{Client: New(srv.URL, WithRetry(RetryPolicy{Attempts: 1})), Board: "b1", Token: "tok", Dir: dir, Interval: time.Millisecond}
	var errs []error
	err := u.Watch(ctx, func(s *Summary, err error) {
		errs = append(errs, err)
		if err != nil {
			mu.Lock()
			down = false // the server comes back
			mu.Unlock()
			return
		}
		cancel()
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if len(errs) != 2 || StatusOf(errs[0]) != http.StatusBadGateway || errs[1] != nil {
		t.Errorf("passes: %v, want a 502 then success", errs)
	}
	if got := string(fs.file(".", "events.out.tfevents.1")); got != "abc" {
		t.Errorf("server holds %q", got)
	}
}

func TestConfigFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf", "tbhost")
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatalf("loading a missing file: %v", err)
	}
	if len(c.Boards) != 0 {
		t.Fatalf("boards = %v", c.Boards)
	}
	c.Put(BoardEntry{ID: "a", Server: "http://h:1/", Token: "ta", LogDir: "/logs/x"})
	c.Put(BoardEntry{ID: "b", Server: "http://h:1", Token: "tb"})
	c.Put(BoardEntry{ID: "a", Server: "http://h:1", Token: "ta2", LogDir: "/logs/x"}) // replaces
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, ConfigFile), 0o600},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			st, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != tt.mode {
				t.Errorf("mode = %v, want %v", st.Mode(), tt.mode)
			}
		})
	}
	c2, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Boards) != 2 {
		t.Fatalf("boards = %+v, want 2", c2.Boards)
	}
	if e := c2.Board("http://h:1", "a"); e == nil || e.Token != "ta2" {
		t.Errorf("board a = %+v", e)
	}
	if e := c2.ForLogDir("http://h:1/", "/logs/x"); e == nil || e.ID != "a" {
		t.Errorf("for log dir = %+v", e)
	}
	if e := c2.ForLogDir("http://other", "/logs/x"); e != nil {
		t.Errorf("another server's board matched: %+v", e)
	}
	if !c2.Remove("", "a") || c2.Remove("", "a") {
		t.Errorf("Remove: want true then false")
	}
	if err := c2.Save(); err != nil {
		t.Fatal(err)
	}
	c3, _ := LoadConfig(dir)
	if len(c3.Boards) != 1 || c3.Boards[0].ID != "b" {
		t.Errorf("after remove: %+v", c3.Boards)
	}
	// A token file with wider permissions is tightened on save.
	os.Chmod(filepath.Join(dir, ConfigFile), 0o644)
	os.Chmod(dir, 0o755)
	if err := c3.Save(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, ConfigFile)); st.Mode() != 0o600 {
		t.Errorf("mode after save = %v", st.Mode())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode after save = %v", st.Mode())
	}
	// A damaged file is an error that names it.
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{nope"), 0o600)
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("damaged file: err = %v", err)
	}
}

func TestConfigDir(t *testing.T) {
	got, err := ConfigDir(func(k string) string {
		if k == ConfigDirEnv {
			return "/x/y"
		}
		return ""
	})
	if err != nil || got != "/x/y" {
		t.Errorf("ConfigDir = %q, %v", got, err)
	}
}

func TestProgressPrinter(t *testing.T) {
	steps := []Progress{
		{FilesTotal: 2, BytesTotal: 2048, ETA: -1},
		{Run: "train", File: "events.out.tfevents.1", FilesTotal: 2, BytesDone: 1024, BytesTotal: 2048, Rate: 1024, ETA: time.Second},
		{FilesDone: 2, FilesTotal: 2, BytesDone: 2048, BytesTotal: 2048, Rate: 2048, Elapsed: time.Second, Done: true},
	}
	tests := []struct {
		tty      bool
		want     []string
		wantNot  string
		maxLines int
	}{
		{tty: true, want: []string{"\r\x1b[K", "train/events.out.tfevents.1", "sent 2.0 KiB in 2 files"}, maxLines: 1},
		{tty: false, want: []string{"sending 2.0 KiB in 2 files\n", "sent 2.0 KiB in 2 files in 1.0s (2.0 KiB/s)\n"}, wantNot: "\r"},
	}
	for _, tt := range tests {
		t.Run("tty="+strconv.FormatBool(tt.tty), func(t *testing.T) {
			var buf bytes.Buffer
			pp := NewProgressPrinter(&buf, tt.tty)
			pp.Every, pp.Redraw = 0, 0
			for _, p := range steps {
				pp.Update(p)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			if tt.wantNot != "" && strings.Contains(out, tt.wantNot) {
				t.Errorf("output %q has %q", out, tt.wantNot)
			}
			if tt.maxLines > 0 && strings.Count(out, "\n") > tt.maxLines {
				t.Errorf("output %q has more than %d lines", out, tt.maxLines)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatBytes(tt.n); got != tt.want {
				t.Errorf("FormatBytes(%d) = %q", tt.n, got)
			}
		})
	}
}

func TestWalkLogDir(t *testing.T) {
	dir := logDir(t, map[string]string{
		"events.out.tfevents.1":         "a",
		"run 1/events.out.tfevents.2":   "b",
		"run 1/other.txt":               "c",
		"a/b=1,c/events.out.tfevents.3": "d",
		"a/events.tfevents.4.v2":        "e",
	})
	got, err := WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Run+"|"+f.File)
	}
	want := []string{".|events.out.tfevents.1", "a|events.tfevents.4.v2", "a/b=1,c|events.out.tfevents.3", "run 1|events.out.tfevents.2"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", names, want)
	}
	for _, tt := range []struct{ name, dir string }{
		{"missing", filepath.Join(dir, "nope")},
		{"a file", filepath.Join(dir, "events.out.tfevents.1")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := WalkLogDir(tt.dir); err == nil {
				t.Errorf("WalkLogDir(%s): no error", tt.dir)
			}
		})
	}
}

func TestServerNotes(t *testing.T) {
	dir := logDir(t, map[string]string{"r/events.out.tfevents.1": strings.Repeat("x", 100)})
	fs := newFakeServer("tok")
	// Cumulative notes, one per request, as a server that notes every
	// request ending inside a record would send.
	fs.notes = func(run, file string, size int) []string {
		var out []string
		for i := 10; i <= size; i += 10 {
			out = append(out, "note at "+strconv.Itoa(i))
		}
		return out
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	var logged []string
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 10,
		Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}
	s, err := u.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"r/events.out.tfevents.1: note at 10", "r/events.out.tfevents.1: note at 20", "r/events.out.tfevents.1: note at 30", "r/events.out.tfevents.1: 7 more notes from the server"}
	if strings.Join(logged, "\n") != strings.Join(want, "\n") || len(s.Warnings) != len(want) {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
	}
	// The file grows: only the new note shows.
	f, _ := os.OpenFile(filepath.Join(dir, "r", "events.out.tfevents.1"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(strings.Repeat("y", 10))
	f.Close()
	logged = nil
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || logged[0] != "r/events.out.tfevents.1: note at 110" {
		t.Errorf("second pass logged %q", logged)
	}
}

func TestRecordBoundary(t *testing.T) {
	rec := func(n int) []byte { return tfevents.AppendRecord(nil, bytes.Repeat([]byte{'e'}, n)) }
	r10, r50 := rec(10), rec(50)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"whole records", cat(r10, r50), len(r10) + len(r50)},
		{"ends inside a record", cat(r10, r50[:30]), len(r10)},
		{"ends inside a header", cat(r10, r50, r10[:5]), len(r10) + len(r50)},
		{"one record larger than the piece", r50[:40], 40},
		{"not records", bytes.Repeat([]byte{0xff}, 64), 64},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recordBoundary(tt.b); got != tt.want {
				t.Errorf("recordBoundary = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestChunksEndAtRecords(t *testing.T) {
	var file []byte
	for i := 0; i < 40; i++ {
		file = tfevents.AppendRecord(file, bytes.Repeat([]byte{byte('a' + i%26)}, 10+i))
	}
	file = append(file, tfevents.AppendRecord(nil, []byte("a truncated tail"))[:9]...)
	dir := logDir(t, map[string]string{"events.out.tfevents.1": string(file)})
	fs := newFakeServer("tok")
	var ends []int
	fs.notes = func(run, f string, size int) []string {
		ends = append(ends, size)
		return nil
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 200}
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fs.file(".", "events.out.tfevents.1"); !bytes.Equal(got, file) {
		t.Fatalf("server holds %d bytes, want the %d of the file", len(got), len(file))
	}
	for _, end := range ends[:len(ends)-1] {
		if recordBoundary(file[:end]) != end {
			t.Errorf("a piece ended at %d, inside a record", end)
		}
	}
	if len(ends) < 5 {
		t.Errorf("%d requests; want the file in pieces", len(ends))
	}
}

func TestHoldTail(t *testing.T) {
	var whole []byte
	for i := 0; i < 3; i++ {
		whole = tfevents.AppendRecord(whole, []byte("record "+strconv.Itoa(i)))
	}
	last := tfevents.AppendRecord(nil, []byte("the record being written"))
	tests := []struct {
		name     string
		tail     []byte
		age      time.Duration // how long ago the file was modified
		wantHeld bool
	}{
		{"fresh file with half a record", last[:20], 0, true},
		{"fresh file with half a header", last[:5], 0, true},
		{"fresh file of whole records", nil, 0, false},
		{"stale file with half a record", last[:20], 2 * time.Hour, false},
		{"fresh file of other bytes", []byte("not a record at all, just bytes"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := append(append([]byte(nil), whole...), tt.tail...)
			dir := logDir(t, map[string]string{"events.out.tfevents.1": string(content)})
			p := filepath.Join(dir, "events.out.tfevents.1")
			mod := time.Now().Add(-tt.age)
			if err := os.Chtimes(p, mod, mod); err != nil {
				t.Fatal(err)
			}
			fs := newFakeServer("tok")
			srv := httptest.NewServer(fs)
			defer srv.Close()
			u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, HoldTail: time.Hour}
			if _, err := u.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := content
			if tt.wantHeld {
				want = whole
			}
			if got := fs.file(".", "events.out.tfevents.1"); !bytes.Equal(got, want) {
				t.Fatalf("server holds %d bytes, want %d", len(got), len(want))
			}
			if !tt.wantHeld {
				return
			}
			// The writer finishes the record: the next pass sends it.
			content = append(append([]byte(nil), whole...), last...)
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := u.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := fs.file(".", "events.out.tfevents.1"); !bytes.Equal(got, content) {
				t.Errorf("after the record was completed the server holds %d bytes, want %d", len(got), len(content))
			}
		})
	}
}

func TestConfigConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	base, _ := LoadConfig(dir)
	base.Put(BoardEntry{ID: "old", Server: "http://s", Token: "t-old"})
	base.Put(BoardEntry{ID: "gone", Server: "http://s", Token: "t-gone"})
	if err := base.Save(); err != nil {
		t.Fatal(err)
	}
	// Two tbhost processes load the file, then each saves its change.
	a, _ := LoadConfig(dir)
	b, _ := LoadConfig(dir)
	a.Put(BoardEntry{ID: "from-a", Server: "http://s", Token: "t-a"})
	b.Put(BoardEntry{ID: "from-b", Server: "http://s", Token: "t-b"})
	b.Remove("http://s", "gone")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, c := range []*Config{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Save()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := LoadConfig(dir)
	var ids []string
	for _, e := range got.Boards {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "from-a,from-b,old" {
		t.Errorf("boards after two concurrent saves: %v, want from-a, from-b, old", ids)
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile+".lock")); err == nil {
		t.Errorf("the lock file was left behind")
	}
}

// TestUploaderSendsRunsInParallel: runs go out at once (Parallel at the
// most), while each run's files go one request at a time, in order.
func TestUploaderSendsRunsInParallel(t *testing.T) {
	files := map[string]string{}
	for r := range 6 {
		for f := range 2 {
			files[fmt.Sprintf("run%d/events.out.tfevents.%d", r, f)] = strings.Repeat(fmt.Sprintf("r%df%d-", r, f), 12)
		}
	}
	dir := logDir(t, files)
	fs := newFakeServer("tok")
	const parallel = 3
	var mu sync.Mutex
	inflight := map[string]int{} // run → PUTs in flight
	total, most := 0, 0
	lastFile := map[string]string{}
	// The first PUTs wait until parallel of them are in flight at once,
	// which an uploader that sends runs in parallel reaches.
	allIn := make(chan struct{})
	var allInOnce sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			fs.ServeHTTP(w, r)
			return
		}
		run, file := r.URL.Query().Get("run"), r.URL.Query().Get("file")
		mu.Lock()
		inflight[run]++
		total++
		most = max(most, total)
		if inflight[run] > 1 {
			t.Errorf("run %s: %d requests at once", run, inflight[run])
		}
		if file < lastFile[run] {
			t.Errorf("run %s: %s sent after %s", run, file, lastFile[run])
		}
		lastFile[run] = file
		if total == parallel {
			allInOnce.Do(func() { close(allIn) })
		}
		mu.Unlock()
		select {
		case <-allIn:
		case <-time.After(time.Minute): // a failure, not a pace: the uploader never got to parallel requests
			t.Errorf("run %s: never %d requests in flight at once", run, parallel)
			allInOnce.Do(func() { close(allIn) })
		}
		fs.ServeHTTP(w, r)
		mu.Lock()
		inflight[run]--
		total--
		mu.Unlock()
	}))
	defer srv.Close()
	u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 16, Parallel: parallel}
	if _, err := u.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		run, file := filepath.ToSlash(filepath.Dir(name)), filepath.Base(name)
		if got := string(fs.file(run, file)); got != content {
			t.Errorf("%s: server holds %q, want %q", name, got, content)
		}
	}
	if most != parallel {
		t.Errorf("at most %d requests were in flight at once; want %d (Parallel)", most, parallel)
	}
}
