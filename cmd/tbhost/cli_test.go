package main

// End-to-end tests of the client commands: a real hosting server (memory
// store) behind httptest, and the real CLI through Main.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/client"
	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// logDir gives a test a log dir from one of the corpora.
type logDir func(t *testing.T) string

// genDir is the folder sub ("" for the whole) of a generated corpus
// written for the test: every form of event file, truncated tails, bad
// records, names with spaces, "=", "," and a backslash.
func genDir(sub string) logDir {
	return func(t *testing.T) string {
		t.Helper()
		return filepath.Join(tfeventstest.Generate(t).LogDir, filepath.FromSlash(sub))
	}
}

// realDir is the project folder name of the real corpus; the test is skipped
// when the corpus is absent (and fails under CI=true).
func realDir(name string) logDir {
	return func(t *testing.T) string {
		t.Helper()
		return filepath.Join(tfeventstest.Real(t).LogDir, name)
	}
}

// corpora are, for tests that run once per corpus, a log dir of several
// runs from each: the whole generated corpus, and the real corpus' nine
// runs of janosh__tensorboard-reducer.
var corpora = []struct {
	name string
	dir  logDir
}{
	{"generated", genDir("")},
	{"real", realDir("janosh__tensorboard-reducer")},
}

// testServer is a real tbhost server on a memory store.
type testServer struct {
	*httptest.Server
	// wrap, if set, sees every request before the server does.
	wrap atomic.Pointer[func(w http.ResponseWriter, r *http.Request, next http.Handler)]
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{}
	h := srv.Handler()
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := ts.wrap.Load(); f != nil {
			(*f)(w, r, h)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// syncBuffer is a bytes.Buffer safe for a command running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// wrote, if set, is called after each write.
	wrote func()
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.b.Write(p)
	s.mu.Unlock()
	if s.wrote != nil {
		s.wrote()
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// machine is one user's machine: its own token file and environment.
type machine struct {
	t   *testing.T
	env map[string]string
}

func newMachine(t *testing.T) *machine {
	return &machine{t: t, env: map[string]string{"TBHOST_CONFIG_DIR": filepath.Join(t.TempDir(), "config")}}
}

type result struct {
	stdout, stderr string
	err            error
}

// lastLine is the last line of stdout.
func (r result) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

func (mc *machine) run(ctx context.Context, stdin string, args ...string) result {
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return mc.env[k] }}
	err := m.Run(ctx, args)
	return result{out.String(), errb.String(), err}
}

// must runs a command that must succeed.
func (mc *machine) must(args ...string) result {
	mc.t.Helper()
	r := mc.run(context.Background(), "", args...)
	if r.err != nil {
		mc.t.Fatalf("tbhost %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// boardID reads the id out of a board URL.
func boardID(t *testing.T, u string) string {
	t.Helper()
	_, id, _, err := client.ParseBoardRef(u)
	if err != nil {
		t.Fatalf("%q is not a board URL: %v", u, err)
	}
	return id
}

// localFiles reads the event files of a log dir as "<run>/<file>" → bytes.
// Empty files are left out: they hold nothing to upload, and a board only
// has the files it received bytes of.
func localFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := client.WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		out[path.Join(f.Run, f.File)] = b
	}
	return out
}

// rawExport downloads a board's raw export as "<run>/<file>" → bytes.
func rawExport(t *testing.T, server, id string) map[string][]byte {
	t.Helper()
	resp, err := http.Get(server + "/api/boards/" + id + "/export/raw.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("raw export: %d %s", resp.StatusCode, b)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("raw export: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[path.Clean(h.Name)] = b
	}
	return out
}

func sameFiles(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: nothing to compare", what)
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, name)
		case !bytes.Equal(g, w):
			t.Errorf("%s: %s differs: %d bytes, want %d", what, name, len(g), len(w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected file %s", what, name)
		}
	}
}

func getJSON(t *testing.T, u string, out any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

type boardInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Runs int    `json:"runs"`
	Size int64  `json:"size"`
}

// TestUploadCorpus uploads log dirs of both corpora with `tbhost upload`:
// the board holds every event file byte for byte, its runs and size are
// the log dir's, the token file remembers it privately, and a second run
// of the command finds nothing to send.
func TestUploadCorpus(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name string
		dir  logDir
		args []string
	}{
		{"generated: every form, defects and odd names", genDir(""), nil},
		{"generated tf2, named", genDir("tf2"), []string{"--name", "reducer", "--description", "two runs"}},
		{"generated in small chunks", genDir(""), []string{"--chunk-size", "1000", "--new"}},
		{"real go-tensorboard", realDir("orktes__go-tensorboard"), nil},
		{"real tensorboard-reducer, named", realDir("janosh__tensorboard-reducer"), []string{"--name", "reducer", "--description", "three runs"}},
		{"real in small chunks", realDir("janosh__tensorboard-reducer"), []string{"--chunk-size", "1000", "--new"}},
		{"real truncated tails and names with spaces", realDir("MorvanZhou__tutorials"), nil},
		{"real truncated tensorboardX", realDir("cht619__tensorboardX-mnist"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			dir := tt.dir(t)
			r := mc.must(append([]string{"upload", dir, "--server", ts.URL}, tt.args...)...)
			u := r.lastLine()
			if !strings.HasPrefix(u, ts.URL+"/") {
				t.Fatalf("last line of stdout %q is not a board URL on %s", u, ts.URL)
			}
			id := boardID(t, u)
			if !strings.Contains(r.stderr, "sent ") {
				t.Errorf("no progress on stderr:\n%s", r.stderr)
			}
			if strings.Contains(r.stdout, "token") {
				t.Errorf("stdout shows the token without --show-token: %q", r.stdout)
			}
			want := localFiles(t, dir)
			sameFiles(t, "raw export", rawExport(t, ts.URL, id), want)

			var b boardInfo
			if st := getJSON(t, ts.URL+"/api/boards/"+id, &b); st != 200 {
				t.Fatalf("GET board: %d", st)
			}
			runs := map[string]bool{}
			var size int64
			for name, data := range want {
				runs[path.Dir(name)] = true
				size += int64(len(data))
			}
			if b.Runs != len(runs) || b.Size != size {
				t.Errorf("board has %d runs, %d bytes; want %d, %d", b.Runs, b.Size, len(runs), size)
			}
			if tt.args != nil && tt.args[0] == "--name" && b.Name != "reducer" {
				t.Errorf("name = %q", b.Name)
			}

			// The token file remembers the board, privately.
			cfgDir := mc.env["TBHOST_CONFIG_DIR"]
			st, err := os.Stat(filepath.Join(cfgDir, "boards.json"))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
			}
			if st, _ := os.Stat(cfgDir); st.Mode().Perm() != 0o700 {
				t.Errorf("config dir mode %v, want 0700", st.Mode().Perm())
			}
			cfg, err := client.LoadConfig(cfgDir)
			if err != nil {
				t.Fatal(err)
			}
			if e := cfg.Board(ts.URL, id); e == nil || e.Token == "" {
				t.Errorf("token file lacks board %s: %+v", id, cfg.Boards)
			}

			// Again: nothing left to send, same board.
			r = mc.must("upload", dir, "--server", ts.URL)
			if got := boardID(t, r.lastLine()); got != id {
				t.Errorf("re-run went to board %s, want %s", got, id)
			}
			if !strings.Contains(r.stderr, "nothing to send") {
				t.Errorf("re-run stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestUploadJSON(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name      string
		args      []string
		wantToken bool
	}{
		{"json", []string{"--json"}, false},
		{"json with token", []string{"--json", "--show-token"}, true},
		{"private", []string{"--json", "--private"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			r := mc.must(append([]string{"upload", genDir("tf2")(t), "--server", ts.URL}, tt.args...)...)
			var out map[string]string
			if err := json.Unmarshal([]byte(r.lastLine()), &out); err != nil {
				t.Fatalf("stdout %q: %v", r.stdout, err)
			}
			if out["id"] == "" || !strings.HasPrefix(out["url"], ts.URL) {
				t.Errorf("json = %v", out)
			}
			if _, ok := out["token"]; ok != tt.wantToken {
				t.Errorf("token shown: %v, want %v", ok, tt.wantToken)
			}
			private := contains(tt.args, "--private")
			st := getJSON(t, ts.URL+"/api/boards/"+out["id"], nil)
			if private && st != http.StatusUnauthorized {
				t.Errorf("private board without key: %d, want 401", st)
			}
			// The printed URL opens the board (with its key when private).
			u, _ := url.Parse(out["url"])
			q := ""
			if k := u.Query().Get("key"); k != "" {
				q = "?key=" + url.QueryEscape(k)
			} else if private {
				t.Errorf("private board URL %q has no key", out["url"])
			}
			if st := getJSON(t, ts.URL+"/api/boards/"+out["id"]+q, nil); st != 200 {
				t.Errorf("board through its URL's key: %d", st)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestUploadResume interrupts an upload midway (the context ends after the
// server took some bytes), runs the command again, and checks that the
// board ends up exactly as after an uninterrupted upload. The uploads are
// not compressed, so that the bytes of the requests count the bytes of the
// files (compressed resumes are the client package's tests').
func TestUploadResume(t *testing.T) {
	for _, c := range corpora {
		t.Run(c.name, func(t *testing.T) { testUploadResume(t, c.dir(t)) })
	}
}

func testUploadResume(t *testing.T, dir string) {
	ts := startServer(t)
	want := localFiles(t, dir)
	var total int64
	for _, b := range want {
		total += int64(len(b))
	}
	const chunk = 2048
	tests := []struct {
		name    string
		cutoff  int64 // cancel once the server took this many bytes
		midBody bool  // cancel while a request is in flight instead of after it
	}{
		{"after a third", total / 3, false},
		{"after two thirds, mid-request", 2 * total / 3, true},
		{"after the first request", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var took atomic.Int64
			wrap := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if r.Method != http.MethodPut {
					next.ServeHTTP(w, r)
					return
				}
				if tt.midBody && took.Load()+r.ContentLength >= tt.cutoff {
					// The client gives up while the server holds the request;
					// the server goes on with it anyway.
					data, _ := io.ReadAll(r.Body)
					cancel()
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
					r.Body = io.NopCloser(bytes.NewReader(data))
					next.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				if rec.Code == 200 {
					took.Add(r.ContentLength)
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				if took.Load() >= tt.cutoff {
					cancel()
				}
			}
			ts.wrap.Store(&wrap)
			r := mc.run(ctx, "", "upload", dir, "--server", ts.URL, "--chunk-size", fmt.Sprint(chunk), "--compress=false")
			ts.wrap.Store(nil)
			if r.err == nil {
				t.Fatalf("interrupted upload succeeded")
			}
			if !strings.Contains(r.err.Error(), "run the same command again") {
				t.Errorf("interruption error %q does not say how to resume", r.err)
			}
			if strings.TrimSpace(r.stdout) != "" {
				t.Errorf("interrupted upload printed %q on stdout", r.stdout)
			}
			cfg, _ := client.LoadConfig(mc.env["TBHOST_CONFIG_DIR"])
			if len(cfg.Boards) != 1 {
				t.Fatalf("token file: %+v", cfg.Boards)
			}
			id := cfg.Boards[0].ID
			partial := rawExport(t, ts.URL, id)
			var have int64
			for _, b := range partial {
				have += int64(len(b))
			}
			if have == 0 || have >= total {
				t.Fatalf("after the interruption the board holds %d of %d bytes; want a partial upload", have, total)
			}

			// Run it again: it resumes the same board and sends the rest only.
			var sent atomic.Int64
			count := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if r.Method == http.MethodPut {
					sent.Add(r.ContentLength)
				}
				next.ServeHTTP(w, r)
			}
			ts.wrap.Store(&count)
			r = mc.must("upload", dir, "--server", ts.URL, "--chunk-size", fmt.Sprint(chunk), "--compress=false")
			ts.wrap.Store(nil)
			if got := boardID(t, r.lastLine()); got != id {
				t.Fatalf("resumed to board %s, want %s", got, id)
			}
			if !strings.Contains(r.stderr, "resuming board "+id) {
				t.Errorf("stderr does not say it resumes:\n%s", r.stderr)
			}
			if s := sent.Load(); s > total-have+chunk {
				t.Errorf("resume sent %d bytes; the board held %d of %d, so at most %d were missing", s, have, total, total-have)
			}
			sameFiles(t, "raw export after resume", rawExport(t, ts.URL, id), want)

			// Identical to an uninterrupted upload, parsed data included.
			fresh := boardID(t, mc.must("upload", dir, "--server", ts.URL, "--new").lastLine())
			for _, route := range []string{"", "/files", "/tags", "/runs"} {
				var a, b any
				getJSON(t, ts.URL+"/api/boards/"+id+route, &a)
				getJSON(t, ts.URL+"/api/boards/"+fresh+route, &b)
				if route == "" || route == "/runs" {
					a, b = dropVolatile(a), dropVolatile(b)
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("GET %s differs between the resumed and an uninterrupted upload:\n%v\n%v", route, a, b)
				}
			}
		})
	}
}

// dropVolatile removes the fields that differ between two boards of the
// same data (ids, times, names).
func dropVolatile(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, x := range m {
		switch k {
		case "id", "url", "created", "updated", "name", "live":
			continue
		}
		out[k] = x
	}
	return out
}

// TestUploadWatch runs upload --watch while this goroutine writes events to
// a growing file and adds a run; the new values must show up on the board.
func TestUploadWatch(t *testing.T) {
	ts := startServer(t)
	mc := newMachine(t)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "events.out.tfevents.100.host"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := tfevents.NewWriter(f)
	if err := w.WriteFileVersion(100); err != nil {
		t.Fatal(err)
	}
	write := func(w *tfevents.Writer, from, to int64) {
		t.Helper()
		for s := from; s < to; s++ {
			if err := w.WriteScalar("loss", s, 100+float64(s), float64(s)/2); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(w, 0, 10)

	// changed gets a token whenever the server has handled a write or
	// the command has printed: the only events that change what waitFor
	// waits for.
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default: // a token is waiting already
		}
	}
	notice := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(w, r)
		if r.Method != http.MethodGet {
			poke()
		}
	}
	ts.wrap.Store(&notice)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := syncBuffer{wrote: poke}, syncBuffer{}
	done := make(chan error, 1)
	go func() {
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return mc.env[k] }}
		done <- m.Run(ctx, []string{"upload", dir, "--server", ts.URL, "--watch", "--interval", "20ms"})
	}()

	// waitFor tests cond now and after each change, failing after a
	// generous deadline or when the command ends.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.NewTimer(30 * time.Second)
		defer deadline.Stop()
		for !cond() {
			select {
			case <-changed:
			case err := <-done:
				t.Fatalf("upload --watch ended while waiting for %s: %v\nstderr:\n%s", what, err, errb.String())
			case <-deadline.C:
				t.Fatalf("timed out waiting for %s\nstderr:\n%s", what, errb.String())
			}
		}
	}
	var id string
	waitFor("the board URL", func() bool {
		if s := strings.TrimSpace(out.String()); s != "" {
			id = boardID(t, s)
			return true
		}
		return false
	})
	lastStep := func(run, tag string) int64 {
		var s struct {
			Points [][3]float64 `json:"points"`
			Stats  struct {
				Count int64 `json:"count"`
			} `json:"stats"`
		}
		q := url.Values{"run": {run}, "tag": {tag}, "width": {"1000"}}
		if getJSON(t, ts.URL+"/api/boards/"+id+"/scalars?"+q.Encode(), &s) != 200 || len(s.Points) == 0 {
			return -1
		}
		return int64(s.Points[len(s.Points)-1][1])
	}
	waitFor("steps 0-9", func() bool { return lastStep(".", "loss") == 9 })

	// Training goes on: more events in the same file, and a new run.
	write(w, 10, 25)
	if err := os.Mkdir(filepath.Join(dir, "eval"), 0o755); err != nil {
		t.Fatal(err)
	}
	f2, err := os.Create(filepath.Join(dir, "eval", "events.out.tfevents.200.host"))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	w2 := tfevents.NewWriter(f2)
	w2.WriteFileVersion(200)
	for s := int64(0); s < 5; s++ {
		w2.WriteScalar("accuracy", s, 200+float64(s), 0.5+float64(s)/10)
	}
	waitFor("steps 10-24", func() bool { return lastStep(".", "loss") == 24 })
	waitFor("the new run", func() bool { return lastStep("eval", "accuracy") == 4 })

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("upload --watch after Ctrl-C: %v", err)
	}
	if !strings.Contains(errb.String(), "stopped watching") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	sameFiles(t, "raw export", rawExport(t, ts.URL, id), localFiles(t, dir))
}

// TestUploadToExistingBoard uploads a second log dir to a board with
// --board, then from other machines: with the token (TBHOST_TOKEN or
// --token) the upload lands; without it, with a wrong one or to an unknown
// board it fails with a message that says why, and nothing is remembered.
func TestUploadToExistingBoard(t *testing.T) {
	tests := []struct {
		name string
		a, b logDir
	}{
		{"generated", genDir("tf2"), genDir("pytorch")},
		{"real", realDir("orktes__go-tensorboard"), realDir("janosh__tensorboard-reducer")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testUploadToExistingBoard(t, tt.a(t), tt.b(t)) })
	}
}

func testUploadToExistingBoard(t *testing.T, a, b string) {
	ts := startServer(t)
	mc := newMachine(t)
	id := boardID(t, mc.must("upload", a, "--server", ts.URL).lastLine())

	r := mc.must("upload", b, "--server", ts.URL, "--board", id)
	if got := boardID(t, r.lastLine()); got != id {
		t.Fatalf("--board went to %s, want %s", got, id)
	}
	want := localFiles(t, a)
	for k, v := range localFiles(t, b) {
		want[k] = v
	}
	sameFiles(t, "raw export", rawExport(t, ts.URL, id), want)

	tok := func() string {
		cfg, _ := client.LoadConfig(mc.env["TBHOST_CONFIG_DIR"])
		return cfg.Board(ts.URL, id).Token
	}()
	// A log dir with bytes the board does not hold yet.
	extra := t.TempDir()
	var data []byte
	for _, d := range localFiles(t, a) {
		data = d
		break
	}
	if err := os.WriteFile(filepath.Join(extra, "events.out.tfevents.1.extra"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		dir     string
		wantErr string
	}{
		{"another machine without the token", nil, nil, a, "no write token for board " + id},
		{"another machine with TBHOST_TOKEN", map[string]string{"TBHOST_TOKEN": tok}, nil, a, ""},
		{"another machine with --token", nil, []string{"--token", tok}, a, ""},
		{"a wrong token", nil, []string{"--token", "nope"}, extra, "refused the write token"},
		{"an unknown board", nil, []string{"--token", tok, "--board", "doesnotexist"}, a, "board doesnotexist not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := newMachine(t)
			for k, v := range tt.env {
				other.env[k] = v
			}
			args := append([]string{"upload", tt.dir, "--server", ts.URL, "--board", id, "--retries", "1"}, tt.args...)
			r := other.run(context.Background(), "", args...)
			if tt.wantErr == "" {
				if r.err != nil {
					t.Fatalf("%v\n%s", r.err, r.stderr)
				}
				if got := boardID(t, r.lastLine()); got != id {
					t.Errorf("board %s, want %s", got, id)
				}
				// That machine now knows the board.
				if r := other.must("list", "--json"); !strings.Contains(r.stdout, id) {
					t.Errorf("list on the other machine: %s", r.stdout)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", r.err, tt.wantErr)
			}
			// A token that did not work is not remembered.
			if cfg, _ := client.LoadConfig(other.env["TBHOST_CONFIG_DIR"]); len(cfg.Boards) != 0 {
				t.Errorf("token file after a failed upload: %+v", cfg.Boards)
			}
		})
	}
	sameFiles(t, "raw export after the re-runs", rawExport(t, ts.URL, id), want)
}

func TestExportRoundTrip(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name    string
		dir     logDir
		byID    bool
		private bool
	}{
		{"generated by URL", genDir(""), false, false},
		{"generated by id", genDir("tf2"), true, false},
		{"generated names with spaces, commas, = and a backslash", genDir("sweep"), false, false},
		{"generated private board by its URL with the key", genDir("tf1"), false, true},
		{"real by URL", realDir("janosh__tensorboard-reducer"), false, false},
		{"real by id", realDir("orktes__go-tensorboard"), true, false},
		{"real names with spaces, commas and =", realDir("sbyebss__learn_tensorboardx"), false, false},
		{"real private board by its URL with the key", realDir("orktes__go-tensorboard"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			in := tt.dir(t)
			args := []string{"upload", in, "--server", ts.URL, "--new"}
			if tt.private {
				args = append(args, "--private")
			}
			u := mc.must(args...).lastLine()
			id := boardID(t, u)
			key := ""
			if tt.private {
				pu, _ := url.Parse(u)
				key = "?key=" + url.QueryEscape(pu.Query().Get("key"))
				// Without the key, another machine is told what to do.
				r := newMachine(t).run(context.Background(), "", "export", id, "--server", ts.URL, "--out", t.TempDir())
				if r.err == nil || !strings.Contains(r.err.Error(), "pass its view key with --key") {
					t.Errorf("export of a private board without its key: %v", r.err)
				}
			}
			out := filepath.Join(t.TempDir(), "out")
			ref := u
			if tt.byID {
				ref = id
			}
			// Another machine: it knows nothing but the URL (or the id and server).
			other := newMachine(t)
			r := other.must("export", ref, "--out", out, "--server", ts.URL)
			if abs, _ := filepath.Abs(out); r.lastLine() != abs {
				t.Errorf("stdout %q, want %q", r.stdout, abs)
			}
			want := localFiles(t, in)
			got := localFiles(t, out)
			sameFiles(t, "exported event files", got, want)

			// One CSV per scalar series, every value in it.
			var tags struct {
				Runs map[string]map[string]struct {
					Plugin string `json:"plugin"`
					Count  int    `json:"count"`
				} `json:"runs"`
			}
			getJSON(t, ts.URL+"/api/boards/"+id+"/tags"+key, &tags)
			n := 0
			for run, ts := range tags.Runs {
				used := map[string]bool{}
				var names []string
				for tag := range ts {
					names = append(names, tag)
				}
				sort.Strings(names)
				for _, tag := range names {
					info := ts[tag]
					if info.Plugin != "scalars" {
						continue
					}
					n++
					name := client.SafeFileName(tag) + ".csv"
					for i := 2; used[strings.ToLower(name)]; i++ {
						name = fmt.Sprintf("%s~%d.csv", client.SafeFileName(tag), i)
					}
					used[strings.ToLower(name)] = true
					p := filepath.Join(out, "csv", filepath.FromSlash(client.SafeRunPath(run)), name)
					data, err := os.ReadFile(p)
					if err != nil {
						t.Errorf("series %s/%s: %v", run, tag, err)
						continue
					}
					lines := strings.Count(strings.TrimRight(string(data), "\n"), "\n") + 1
					if lines != info.Count && lines != info.Count+1 {
						t.Errorf("%s: %d lines for %d values", p, lines, info.Count)
					}
				}
			}
			if n == 0 {
				t.Errorf("the log dir has no scalar series: the CSV half went untested")
			}
		})
	}
}

func TestClearErrors(t *testing.T) {
	ts := startServer(t)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("no events here"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := genDir("tf2")(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing log dir", []string{"upload", filepath.Join(empty, "nope"), "--server", ts.URL}, "does not exist"},
		{"log dir without event files", []string{"upload", empty, "--server", ts.URL}, "no event files in"},
		{"server down", []string{"upload", logs, "--server", downURL, "--retries", "2"},
			"cannot reach tbhost server at " + downURL + ": is `tbhost serve` running? set --server or TBHOST_SERVER"},
		{"not a tbhost server", []string{"upload", logs, "--server", ts.URL + "/nothing-here"}, "does not look like a tbhost server"},
		{"export of a board that does not exist", []string{"export", "nosuchboard", "--server", ts.URL, "--out", t.TempDir()}, "board nosuchboard not found on " + ts.URL},
		{"export from a server that is down", []string{"export", "abc", "--server", downURL, "--retries", "1", "--out", t.TempDir()}, "is `tbhost serve` running?"},
		{"update of an unknown board", []string{"update", "abc", "--name", "x", "--server", ts.URL}, "no write token for board abc"},
		{"delete with a token for an unknown board", []string{"delete", "abc", "--yes", "--token", "t", "--server", ts.URL}, "board abc not found on " + ts.URL},
		{"export of a bad URL", []string{"export", "http://x/y"}, "is not a board URL"},
		{"no arguments", []string{"upload"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			r := mc.run(context.Background(), "", tt.args...)
			msg := r.stderr
			if r.err != nil {
				msg = r.err.Error() + "\n" + r.stderr
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("got %q (err %v), want it to contain %q", msg, r.err, tt.want)
			}
		})
	}
}

func TestListUpdateDelete(t *testing.T) {
	ts := startServer(t)
	mc := newMachine(t)
	c := tfeventstest.Generate(t)
	a := boardID(t, mc.must("upload", filepath.Join(c.LogDir, "tf2"), "--server", ts.URL, "--name", "first").lastLine())
	b := boardID(t, mc.must("upload", c.LogDir, "--server", ts.URL, "--name", "second").lastLine())
	bRuns := map[string]bool{}
	for name := range localFiles(t, c.LogDir) {
		bRuns[path.Dir(name)] = true
	}

	list := func() map[string]listed {
		t.Helper()
		r := mc.must("list", "--json")
		var rows []listed
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("list --json: %v\n%s", err, r.stdout)
		}
		out := map[string]listed{}
		for _, row := range rows {
			out[row.ID] = row
		}
		return out
	}
	rows := list()
	if rows[a].Name != "first" || rows[b].Name != "second" || rows[b].Runs == nil || *rows[b].Runs != len(bRuns) || *rows[b].Size == 0 {
		t.Fatalf("list: %+v", rows)
	}
	table := mc.must("list").stdout
	for _, want := range []string{"ID", "RUNS", a, b, "first", "second", ts.URL + "/experiment/"} {
		if !strings.Contains(table, want) {
			t.Errorf("list lacks %q:\n%s", want, table)
		}
	}

	mc.must("update", a, "--name", "renamed", "--description", "better")
	var info struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	getJSON(t, ts.URL+"/api/boards/"+a, &info)
	if info.Name != "renamed" || info.Description != "better" {
		t.Errorf("after update: %+v", info)
	}
	if got := list()[a].Name; got != "renamed" {
		t.Errorf("list after update: name %q", got)
	}

	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantGone  bool
		wantInOut string
	}{
		{"answer no", "n\n", nil, false, "not deleted"},
		{"no answer", "", nil, false, "not deleted"},
		{"answer yes", "y\n", nil, true, "deleted board"},
		{"--yes", "", []string{"--yes"}, true, "deleted board"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := a
			if i >= 2 {
				id = []string{a, b}[i-2]
			}
			r := mc.run(context.Background(), tt.stdin, append([]string{"delete", id}, tt.args...)...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !strings.Contains(r.stderr, tt.wantInOut) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.wantInOut)
			}
			if !tt.wantGone && !strings.Contains(r.stderr, "cannot be undone") {
				t.Errorf("no question asked: %q", r.stderr)
			}
			st := getJSON(t, ts.URL+"/api/boards/"+id, nil)
			if gone := st == http.StatusNotFound; gone != tt.wantGone {
				t.Errorf("GET board after delete: %d", st)
			}
			if _, listed := list()[id]; listed == tt.wantGone {
				t.Errorf("list still shows %s: %v", id, listed)
			}
		})
	}

	// A server that is down: list shows what this machine knows.
	id := boardID(t, mc.must("upload", filepath.Join(c.LogDir, "tf1"), "--server", ts.URL, "--name", "kept").lastLine())
	ts.Close()
	r := mc.must("list")
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "kept") || !strings.Contains(r.stderr, "cannot reach tbhost server at "+ts.URL) {
		t.Errorf("list with the server down:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"upload", "list", "update", "delete", "export"} {
		t.Run(cmd, func(t *testing.T) {
			mc := newMachine(t)
			r := mc.run(context.Background(), "", cmd, "-h")
			if r.err != nil {
				t.Errorf("%s -h: %v", cmd, r.err)
			}
			if !strings.Contains(r.stderr, "Usage: tbhost "+cmd) || !strings.Contains(r.stderr, "-server") {
				t.Errorf("%s -h:\n%s", cmd, r.stderr)
			}
		})
	}
}
