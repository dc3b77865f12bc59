package hosting_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// corpora are the event-file corpora the tests that upload log dirs run
// on, each in a subtest: the generated one, always, and the real one
// (../shared/fixtures), which tfeventstest.Real skips when it is absent
// and fails under CI=true.
var corpora = []struct {
	name string
	get  func(testing.TB) *tfeventstest.Corpus
}{
	{"generated", tfeventstest.Generate},
	{"real", tfeventstest.Real},
}

// forEachCorpus runs f on each of the corpora, in a subtest named for it.
func forEachCorpus(t *testing.T, f func(t *testing.T, c *tfeventstest.Corpus)) {
	t.Helper()
	for _, cp := range corpora {
		t.Run(cp.name, func(t *testing.T) { f(t, cp.get(t)) })
	}
}

// runsDir returns a log dir of c with several runs, small enough to upload
// many times in a test: the whole generated corpus (every form and defect),
// or janosh__tensorboard-reducer of the real one (nine runs of scalars).
func runsDir(c *tfeventstest.Corpus) string {
	if c.Generated {
		return c.LogDir
	}
	return filepath.Join(c.LogDir, "janosh__tensorboard-reducer")
}

// tf2Dir returns a small log dir of c holding TF2 event files: the
// generated tf2 runs, or orktes__go-tensorboard of the real corpus.
func tf2Dir(c *tfeventstest.Corpus) string {
	if c.Generated {
		return filepath.Join(c.LogDir, "tf2")
	}
	return filepath.Join(c.LogDir, "orktes__go-tensorboard")
}

// api is a tiny HTTP client for the tests.
type api struct {
	t    testing.TB
	base string
}

func (a api) do(method, path, token string, body io.Reader) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost || method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, data
}

func (a api) json(method, path, token string, body io.Reader, wantStatus int, v any) {
	a.t.Helper()
	status, data := a.do(method, path, token, body)
	if status != wantStatus {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

type created struct {
	ID, URL, Token string
	ViewKey        string `json:"view_key"`
}

func (a api) create(name string) created {
	var c created
	a.json("POST", "/api/boards", "", strings.NewReader(fmt.Sprintf(`{"name":%q}`, name)), http.StatusCreated, &c)
	return c
}

func filePath(id, run, file string, off int64) string {
	return fmt.Sprintf("/api/boards/%s/files?run=%s&file=%s&offset=%d", id, url.QueryEscape(run), url.QueryEscape(file), off)
}

// upload sends a whole log dir in chunks of chunk bytes and returns the
// files it sent, by "run/file".
func (a api) upload(b created, dir string, chunk int) map[string][]byte {
	a.t.Helper()
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		a.t.Fatal(err)
	}
	sent := map[string][]byte{}
	for _, r := range runs {
		for _, f := range r.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				a.t.Fatal(err)
			}
			base := filepath.Base(f)
			for off := 0; off < len(data) || off == 0; off += chunk {
				end := min(off+chunk, len(data))
				a.json("PUT", filePath(b.ID, r.Name, base, int64(off)), b.Token, bytes.NewReader(data[off:end]), http.StatusOK, nil)
				if end == len(data) {
					break
				}
			}
			sent[pathJoin(r.Name, base)] = data
		}
	}
	return sent
}

// logDirFiles returns the event files of a log dir in the order upload
// sends them, boards unset.
func logDirFiles(t *testing.T, dir string) []loadFile {
	t.Helper()
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []loadFile
	for _, r := range runs {
		for _, f := range r.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, loadFile{run: r.Name, file: filepath.Base(f), data: data})
		}
	}
	return out
}

func pathJoin(run, file string) string {
	if run == "." {
		return file
	}
	return run + "/" + file
}

type tagSummary struct {
	Plugin    string   `json:"plugin"`
	Count     int64    `json:"count"`
	Kept      int      `json:"kept"`
	MinStep   int64    `json:"min_step"`
	MaxStep   int64    `json:"max_step"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
	NonFinite int64    `json:"nonfinite"`
}

func (a api) tags(id string) map[string]map[string]tagSummary {
	var out struct {
		Runs map[string]map[string]tagSummary `json:"runs"`
	}
	a.json("GET", "/api/boards/"+id+"/tags", "", nil, http.StatusOK, &out)
	return out.Runs
}

// rawExport returns the board's raw export, by path.
func (a api) rawExport(id string) map[string][]byte {
	a.t.Helper()
	status, data := a.do("GET", "/api/boards/"+id+"/export/raw.tar.gz", "", nil)
	if status != http.StatusOK {
		a.t.Fatalf("raw export: status %d: %s", status, data)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		a.t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			a.t.Fatal(err)
		}
		out[h.Name] = b
	}
	return out
}

func sameFiles(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("export has %d files, want %d", len(got), len(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("export lacks %s", name)
		} else if !bytes.Equal(g, w) {
			at := 0
			for at < min(len(g), len(w)) && g[at] == w[at] {
				at++
			}
			t.Errorf("export of %s: %d bytes differ from the %d uploaded, from byte %d on", name, len(g), len(w), at)
		}
	}
}

// stores are the Store implementations the end-to-end tests run on.
var stores = []struct {
	name string
	new  func(t *testing.T) store.Store
}{
	{"mem", func(t *testing.T) store.Store { return store.NewMem() }},
	{"dir", func(t *testing.T) store.Store {
		s, err := store.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	// (The strict fake honours compose preconditions, as GCS does: servers
	// sharing a run compact its files at once.)
	{"gcs", func(t *testing.T) store.Store { return storetest.StrictFakeGCSStore(t) }},
}

func startServer(t *testing.T, st store.Store) api {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return startServerWith(t, srv)
}

// TestCorpusEndToEnd uploads each corpus to a listening server on each
// store (the real corpus one board per project folder, the generated one
// as one board) and checks every run's tags against the corpus' expected
// inspect facts, the CSV export of scalars, the byte-identical raw export,
// and that a new server on the same store serves the same boards.
func TestCorpusEndToEnd(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		dirs := []string{""} // the whole log dir
		if !c.Generated {
			entries, err := os.ReadDir(c.LogDir)
			if err != nil {
				t.Fatal(err)
			}
			dirs = dirs[:0]
			for _, e := range entries {
				dirs = append(dirs, e.Name())
			}
		}
		stores := stores
		if raceEnabled && !c.Generated {
			// The real corpus is 30 projects: under -race, on one store
			// (the Makefile runs this test in full without -race).
			stores = stores[:1]
		}
		for _, st := range stores {
			t.Run(st.name, func(t *testing.T) {
				store := st.new(t)
				a := startServer(t, store)
				boards := map[string]created{}
				pre := map[string]preemption{}
				for i, d := range dirs {
					b := a.create("corpus " + d)
					boards[d] = b
					pre[d] = findPreemption(t, logDirFiles(t, filepath.Join(c.LogDir, d)))
					sent := a.upload(b, filepath.Join(c.LogDir, d), 1<<16+i*7919)
					checkTags(t, a, c, d, b.ID, pre[d])
					sameFiles(t, a.rawExport(b.ID), sent)
				}
				checkCSV(t, a, c, boards, pre)

				// A new server on the same store serves the same boards.
				b := startServer(t, store)
				for name, bd := range boards {
					if got, want := b.tags(bd.ID), a.tags(bd.ID); !equalJSON(got, want) {
						t.Errorf("%s: a restarted server shows other tags", name)
					}
				}
			})
		}
	})
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// boardOf says which board of the given folders a run of a corpus is on,
// and its name there: dir "" holds the whole log dir.
func boardOf(dirs []string, run string) (dir, boardRun string, ok bool) {
	for _, d := range dirs {
		if r, ok := runIn(d, run); ok {
			return d, r, true
		}
	}
	return "", "", false
}

// runIn returns the name that run (of a corpus) has on a board made of the
// corpus folder dir ("" for the whole log dir), and whether run is under dir.
func runIn(dir, run string) (string, bool) {
	if dir == "" {
		return run, true
	}
	rest, ok := strings.CutPrefix(run, dir)
	switch {
	case !ok:
		return "", false
	case rest == "":
		return ".", true
	case rest[0] != '/':
		return "", false
	}
	return rest[1:], true
}

// checkTags compares the tags of the board made of c's folder dir with
// the expected facts of the files under it: per run and tag, the values
// of every file summed (count, non-finite), their step range and that
// some are kept. For a series pre preempts, only the count: the rest
// describes the values kept. (Minimum and maximum, also of the values
// kept, are checkCSV's.)
func checkTags(t *testing.T, a api, c *tfeventstest.Corpus, dir, id string, pre preemption) {
	t.Helper()
	want := map[string]map[string]tfeventstest.Tag{} // run -> tag -> over the run's files
	for _, f := range c.Files {
		run, ok := runIn(dir, f.Run)
		if !ok {
			continue
		}
		if want[run] == nil {
			want[run] = map[string]tfeventstest.Tag{}
		}
		for _, tg := range f.Tags {
			w, seen := want[run][tg.Tag]
			if !seen {
				want[run][tg.Tag] = tg
				continue
			}
			w.Count += tg.Count
			w.NonFinite += tg.NonFinite
			w.MinStep = min(w.MinStep, tg.MinStep)
			w.MaxStep = max(w.MaxStep, tg.MaxStep)
			want[run][tg.Tag] = w
		}
	}
	got := a.tags(id)
	preempted := 0
	for run, tags := range want {
		for tag, w := range tags {
			g, ok := got[run][tag]
			if !ok {
				t.Errorf("%s: run %q lacks tag %q", dir, run, tag)
				continue
			}
			if g.Count != int64(w.Count) {
				t.Errorf("%s: %s/%s count %d, want %d", dir, run, tag, g.Count, w.Count)
			}
			if int64(g.Kept) > g.Count {
				t.Errorf("%s: %s/%s kept %d of %d", dir, run, tag, g.Kept, g.Count)
			}
			if pre.of(run, tag) {
				preempted++
				continue
			}
			if g.NonFinite != int64(w.NonFinite) {
				t.Errorf("%s: %s/%s %d non-finite values, want %d", dir, run, tag, g.NonFinite, w.NonFinite)
			}
			if g.MinStep != w.MinStep || g.MaxStep != w.MaxStep {
				t.Errorf("%s: %s/%s steps %d..%d, want %d..%d", dir, run, tag, g.MinStep, g.MaxStep, w.MinStep, w.MaxStep)
			}
			if w.Plugin != "" && g.Plugin != w.Plugin {
				t.Errorf("%s: %s/%s plugin %q, want %q", dir, run, tag, g.Plugin, w.Plugin)
			}
			if g.Kept < 1 {
				t.Errorf("%s: %s/%s kept none of %d", dir, run, tag, g.Count)
			}
		}
	}
	for run := range got {
		if want[run] == nil {
			t.Errorf("%s: unexpected run %q", dir, run)
		}
	}
	if c.Generated && preempted == 0 {
		t.Error("no series of the generated corpus is preempted: its restart is not seen")
	}
}

// preemption says which series of a log dir TensorBoard's preemption
// touches when the dir's files are uploaded in order (see package
// sampler): a value whose step does not pass its series' last drops the
// series' kept values at or past its step, and a SessionLog START drops
// those of every series of its run. The kept values, step range and
// statistics of such a series are not those of every value written.
type preemption struct {
	runs   map[string]bool    // a START dropped values of the run
	series map[[2]string]bool // (run, tag): a step did not go forward
}

func (p preemption) of(run, tag string) bool { return p.runs[run] || p.series[[2]string{run, tag}] }

// holdsStart reports whether an event file holds a SessionLog START.
func holdsStart(data []byte) bool {
	sc := tfevents.NewScanner(bytes.NewReader(data), tfevents.Options{})
	defer sc.Close()
	for sc.Scan() {
		if sc.Value().Kind == tfevents.KindSessionStart {
			return true
		}
	}
	return false
}

// findPreemption reads files (in upload order) for what preempts.
func findPreemption(t *testing.T, files []loadFile) preemption {
	t.Helper()
	p := preemption{runs: map[string]bool{}, series: map[[2]string]bool{}}
	last := map[[2]string]int64{} // (run, tag) -> its greatest step so far
	runMax := map[string]int64{}  // run -> its greatest step so far
	for _, f := range files {
		sc := tfevents.NewScanner(bytes.NewReader(f.data), tfevents.Options{})
		for sc.Scan() {
			v := sc.Value()
			if v.Kind == tfevents.KindSessionStart {
				if m, ok := runMax[f.run]; ok && m >= v.Step {
					p.runs[f.run] = true
				}
				continue
			}
			k := [2]string{f.run, v.Tag}
			if s, ok := last[k]; ok && v.Step <= s {
				p.series[k] = true
			} else {
				last[k] = v.Step
			}
			if m, ok := runMax[f.run]; !ok || v.Step > m {
				runMax[f.run] = v.Step
			}
		}
		sc.Close()
	}
	return p
}

// checkCSV exports scalar series of the boards (up to 40, each held by one
// file of its run and not preempted) as CSV and checks that every value is there and that
// min, max and last agree with the corpus' facts.
func checkCSV(t *testing.T, a api, c *tfeventstest.Corpus, boards map[string]created, pre map[string]preemption) {
	t.Helper()
	dirs := make([]string, 0, len(boards))
	for d := range boards {
		dirs = append(dirs, d)
	}
	tagFiles := map[[2]string]int{} // (run, tag) -> files holding it
	for _, f := range c.Files {
		for _, tg := range f.Tags {
			tagFiles[[2]string{f.Run, tg.Tag}]++
		}
	}
	checked := 0
	for _, f := range c.Files {
		dir, run, ok := boardOf(dirs, f.Run)
		if !ok {
			t.Fatalf("run %q is on no board", f.Run)
		}
		b := boards[dir]
		for _, tg := range f.Tags {
			// Only series held by a single file of the run compare simply.
			if tg.Plugin != "scalars" || tg.Count < 2 || checked >= 40 || tagFiles[[2]string{f.Run, tg.Tag}] != 1 || pre[dir].of(run, tg.Tag) {
				continue
			}
			checked++
			status, data := a.do("GET", fmt.Sprintf("/api/boards/%s/export/scalars?run=%s&tag=%s&format=csv", b.ID, url.QueryEscape(run), url.QueryEscape(tg.Tag)), "", nil)
			if status != http.StatusOK {
				t.Fatalf("csv %s %s: %d %s", run, tg.Tag, status, data)
			}
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if rows[0][0] != "Wall time" || rows[0][1] != "Step" || rows[0][2] != "Value" {
				t.Errorf("csv header %q", rows[0])
			}
			if len(rows)-1 != tg.Count {
				t.Errorf("csv %s/%s: %d rows, want %d", f.Run, tg.Tag, len(rows)-1, tg.Count)
				continue
			}
			mn, mx, last := math.Inf(1), math.Inf(-1), math.NaN()
			nonFinite := 0
			for _, r := range rows[1:] {
				v, err := strconv.ParseFloat(r[2], 64)
				if err != nil {
					t.Fatalf("csv value %q: %v", r[2], err)
				}
				if math.IsNaN(v) || math.IsInf(v, 0) {
					nonFinite++
				} else {
					mn, mx, last = min(mn, v), max(mx, v), v
				}
			}
			if nonFinite != tg.NonFinite {
				t.Errorf("csv %s/%s: %d non-finite values, want %d", f.Run, tg.Tag, nonFinite, tg.NonFinite)
			}
			if tg.Min != nil && (!tfeventstest.AlmostEqual(mn, *tg.Min) || !tfeventstest.AlmostEqual(mx, *tg.Max) || !tfeventstest.AlmostEqual(last, *tg.Last)) {
				t.Errorf("csv %s/%s: min/max/last %v/%v/%v, want %v/%v/%v", f.Run, tg.Tag, mn, mx, last, *tg.Min, *tg.Max, *tg.Last)
			}
		}
	}
	if checked == 0 {
		t.Error("the corpus has no scalar series held by one file: the CSV check checked nothing")
	}
}

// TestCrashSafety fails the n-th store write for every n during an upload
// and resumes from the offset the server reports: the board must end up
// exactly as after an uninterrupted upload.
func TestCrashSafety(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		dir := tf2Dir(c)
		clean := startServer(t, store.NewMem())
		cb := clean.create("clean")
		want := clean.upload(cb, dir, 4096)
		wantTags := clean.tags(cb.ID)

		// Count the writes of a clean upload.
		counter := storetest.NewFaulty(store.NewMem(), 0)
		ca := startServer(t, counter)
		ca.upload(ca.create("count"), dir, 4096)
		writes := counter.Writes()
		if writes < 4 {
			t.Fatalf("only %d writes", writes)
		}
		for n := 1; n <= writes; n++ {
			t.Run(strconv.Itoa(n), func(t *testing.T) {
				f := storetest.NewFaulty(store.NewMem(), n)
				a := startServer(t, f)
				var b created
				for tries := 0; b.ID == "" && tries < 3; tries++ {
					status, body := a.do("POST", "/api/boards", "", strings.NewReader(`{"name":"faulty"}`))
					if status == http.StatusCreated {
						if err := json.Unmarshal(body, &b); err != nil {
							t.Fatal(err)
						}
					}
				}
				if b.ID == "" {
					t.Fatal("no board after 3 tries")
				}
				uploadWithRetry(t, a, b, dir, 4096)
				if f.Failed() != 1 {
					t.Errorf("%d writes failed, want the %d-th", f.Failed(), n)
				}
				if got := a.tags(b.ID); !equalJSON(got, wantTags) {
					t.Errorf("tags after a failure at write %d differ from a clean upload", n)
				}
				sameFiles(t, a.rawExport(b.ID), want)
			})
		}
	})
}

// uploadWithRetry uploads like a client that, after any failed request,
// asks the server for its offsets and resends from there.
func uploadWithRetry(t *testing.T, a api, b created, dir string, chunk int) {
	t.Helper()
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		for _, f := range r.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(f)
			off := int64(0)
			for tries := 0; off < int64(len(data)) && tries < 1000; tries++ {
				end := min(off+int64(chunk), int64(len(data)))
				if status, _ := a.do("PUT", filePath(b.ID, r.Name, base, off), b.Token, bytes.NewReader(data[off:end])); status == http.StatusOK {
					off = end
					continue
				}
				var files struct{ Files []hosting.FileInfo }
				a.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, http.StatusOK, &files)
				off = 0
				for _, fi := range files.Files {
					if fi.Run == r.Name && fi.File == base {
						off = fi.Size
					}
				}
			}
			if off != int64(len(data)) {
				t.Fatalf("%s: stuck at offset %d", f, off)
			}
		}
	}
}

// TestUploadRules covers the answers to bad uploads.
func TestUploadRules(t *testing.T) {
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem(), MaxRequestBytes: 1 << 20, MaxBoardBytes: 3 << 20, UploadToken: "sesame"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	a := api{t: t, base: ts.URL}
	var b created
	a.json("POST", "/api/boards", "sesame", strings.NewReader(`{"name":"rules"}`), http.StatusCreated, &b)
	big := bytes.Repeat([]byte{0}, 1<<20+1)
	tests := []struct {
		name, run, file, token string
		offset                 int64
		body                   []byte
		status                 int
	}{
		{"ok", "train", "events.out.tfevents.1", b.Token, 0, []byte("abc"), 200},
		{"resend held bytes", "train", "events.out.tfevents.1", b.Token, 0, []byte("abc"), 200},
		{"long unicode run", strings.Repeat("ü x=,", 80), "events.out.tfevents.2", b.Token, 0, []byte("abc"), 200},
		{"run too long", strings.Repeat("r", 513), "f", b.Token, 0, []byte("x"), 400},
		{"gap", "train", "events.out.tfevents.1", b.Token, 10, []byte("x"), 409},
		{"dotdot", "../etc", "f.tfevents", b.Token, 0, []byte("x"), 400},
		{"absolute", "/etc", "f.tfevents", b.Token, 0, []byte("x"), 400},
		{"nul", "a\x00b", "f.tfevents", b.Token, 0, []byte("x"), 400},
		{"file with slash", "a", "x/y", b.Token, 0, []byte("x"), 400},
		{"control char", "a\nb", "f", b.Token, 0, []byte("x"), 400},
		{"no token", "a", "f", "", 0, []byte("x"), 401},
		{"wrong token", "a", "f", "nope", 0, []byte("x"), 403},
		{"too large", "a", "f", b.Token, 0, big, 413},
		{"negative offset", "a", "f", b.Token, -1, []byte("x"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.do("PUT", filePath(b.ID, tt.run, tt.file, tt.offset), tt.token, bytes.NewReader(tt.body))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			var e struct {
				Error  string
				Offset *int64
			}
			if status != 200 {
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("error body %s is not {\"error\": ...}", body)
				}
			}
			if status == 409 && (e.Offset == nil || *e.Offset != 3) {
				t.Errorf("gap answer %s does not give offset 3", body)
			}
		})
	}
	t.Run("board limit", func(t *testing.T) {
		chunk := bytes.Repeat([]byte{1}, 1<<20)
		var statuses []int
		for i := range 3 {
			s, _ := a.do("PUT", filePath(b.ID, "big", "f", int64(i)<<20), b.Token, bytes.NewReader(chunk))
			statuses = append(statuses, s)
		}
		if want := []int{200, 200, 413}; !equalJSON(statuses, want) {
			t.Errorf("3 MiB more on a 3 MiB board that holds 3 bytes: statuses %v, want %v", statuses, want)
		}
	})
	t.Run("create needs the upload token", func(t *testing.T) {
		if s, _ := a.do("POST", "/api/boards", "", strings.NewReader(`{}`)); s != 401 {
			t.Errorf("status %d, want 401", s)
		}
		if s, _ := a.do("POST", "/api/boards", "wrong", strings.NewReader(`{}`)); s != 403 {
			t.Errorf("status %d, want 403", s)
		}
	})
}

// TestBoardLifecycle covers edit, private boards and delete.
func TestBoardLifecycle(t *testing.T) {
	a := startServer(t, store.NewMem())
	b := a.create("first")
	a.upload(b, tf2Dir(tfeventstest.Generate(t)), 1<<20)

	var info hosting.BoardInfo
	a.json("PATCH", "/api/boards/"+b.ID, b.Token, strings.NewReader(`{"name":"second","description":"**bold**"}`), 200, &info)
	if info.Name != "second" || info.Description != "**bold**" {
		t.Errorf("after edit: %+v", info)
	}
	if s, _ := a.do("PATCH", "/api/boards/"+b.ID, "bad", strings.NewReader(`{"name":"x"}`)); s != 403 {
		t.Errorf("edit with a wrong token: %d", s)
	}
	if s, _ := a.do("PATCH", "/api/boards/"+b.ID, b.Token, strings.NewReader(`{"name":"`+strings.Repeat("x", 101)+`"}`)); s != 400 {
		t.Errorf("101-char name: %d", s)
	}
	a.json("PATCH", "/api/boards/"+b.ID, b.Token, strings.NewReader(`{"private":true}`), 200, &info)
	if info.ViewKey == "" {
		t.Fatal("making a board private gave no view key")
	}
	for _, p := range []string{"/api/boards/" + b.ID + "/tags", "/api/boards/" + b.ID + "/export/raw.tar.gz", "/experiment/" + b.ID + "/data/runs"} {
		if s, _ := a.do("GET", p, "", nil); s != 401 {
			t.Errorf("private %s without key: %d", p, s)
		}
		if s, _ := a.do("GET", p+sep(p)+"key=wrong", "", nil); s != 403 {
			t.Errorf("private %s with a wrong key: %d", p, s)
		}
		if s, body := a.do("GET", p+sep(p)+"key="+info.ViewKey, "", nil); s != 200 {
			t.Errorf("private %s with the key: %d %s", p, s, body)
		}
	}
	if s, _ := a.do("DELETE", "/api/boards/"+b.ID, "", nil); s != 401 {
		t.Errorf("delete without token: %d", s)
	}
	if s, _ := a.do("DELETE", "/api/boards/"+b.ID, b.Token, nil); s != 204 {
		t.Errorf("delete: %d", s)
	}
	if s, _ := a.do("GET", "/api/boards/"+b.ID, b.Token, nil); s != 404 {
		t.Errorf("deleted board: %d", s)
	}
}

func sep(p string) string {
	if strings.Contains(p, "?") {
		return "&"
	}
	return "?"
}

// TestConcurrentUploadsAndReads uploads a log dir to several boards at
// once, in small chunks, while a reader per board reads the board, its
// tags and its files over and over (run with -race). No read fails; what a
// reader sees only grows between successive reads (the board's runs and
// size, each run's tags, each tag's count and last step (but where
// TensorBoard's preemption drops values), each file's size); and each
// board ends up as on a server that took the same upload alone.
func TestConcurrentUploadsAndReads(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		const boards, chunk = 4, 2048
		dir := runsDir(c)

		oracle := startServer(t, store.NewMem())
		ob := oracle.create("oracle")
		want := oracle.upload(ob, dir, chunk)
		wantTags := tagsBody(t, oracle, ob.ID)

		a := startServer(t, store.NewMem())
		lc := newLoadClient(func() string { return a.base })
		defer lc.client.CloseIdleConnections()
		files := logDirFiles(t, dir) // in the oracle's order
		pre := findPreemption(t, files)

		var wg sync.WaitGroup
		errs := make([][]error, boards)
		ids := make([]string, boards)
		for i := range boards {
			b := a.create(fmt.Sprint("board", i))
			ids[i] = b.ID
			done := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				defer close(done)
				for _, f := range files {
					f.board = b
					if err := lc.uploadPlain(f, chunk); err != nil {
						errs[i] = append(errs[i], err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				var seen readerView
				for last := false; !last; {
					select {
					case <-done:
						last = true // one more read, of the whole upload
					default:
					}
					next, err := readBoard(lc, b)
					if err == nil {
						err = seen.grownTo(next, pre)
					}
					if err != nil {
						errs[i] = append(errs[i], err)
						return
					}
					seen = next
				}
			}()
		}
		wg.Wait()
		for i, id := range ids {
			for _, err := range errs[i] {
				t.Errorf("board %d: %v", i, err)
			}
			if got := tagsBody(t, a, id); !bytes.Equal(got, wantTags) {
				t.Errorf("board %d: tags differ from the oracle's:\n got %s\nwant %s", i, got, wantTags)
			}
			sameFiles(t, a.rawExport(id), want)
		}
	})
}

// readerView is what a reader saw of a board in one round of reads.
type readerView struct {
	info  hosting.BoardInfo
	tags  map[string]map[string]tagSummary // run -> tag
	sizes map[string]int64                 // run/file -> bytes held
}

// readBoard reads b's info, tags and files; any failure is an error.
func readBoard(lc *loadClient, b created) (readerView, error) {
	var v readerView
	var tags struct {
		Runs map[string]map[string]tagSummary `json:"runs"`
	}
	var files struct{ Files []hosting.FileInfo }
	for _, r := range []struct {
		path, token string
		into        any
	}{
		{"/api/boards/" + b.ID, "", &v.info},
		{"/api/boards/" + b.ID + "/tags", "", &tags},
		{"/api/boards/" + b.ID + "/files", b.Token, &files},
	} {
		status, body, err := lc.do("GET", r.path, r.token, nil)
		if err != nil {
			return v, fmt.Errorf("GET %s: %w", r.path, err)
		}
		if status != http.StatusOK {
			return v, fmt.Errorf("GET %s: status %d: %s", r.path, status, body)
		}
		if err := json.Unmarshal(body, r.into); err != nil {
			return v, fmt.Errorf("GET %s: decoding %s: %w", r.path, body, err)
		}
	}
	v.tags = tags.Runs
	v.sizes = map[string]int64{}
	for _, f := range files.Files {
		v.sizes[pathJoin(f.Run, f.File)] = f.Size
	}
	return v, nil
}

// grownTo returns an error naming what next shows less of than v (read
// before it): a board only grows while it is uploaded, but for the last
// step of the series pre says are preempted.
func (v readerView) grownTo(next readerView, pre preemption) error {
	var d []string
	if next.info.Runs < v.info.Runs || next.info.Size < v.info.Size {
		d = append(d, fmt.Sprintf("board: %d runs of %d bytes, then %d of %d", v.info.Runs, v.info.Size, next.info.Runs, next.info.Size))
	}
	for run, tags := range v.tags {
		for tag, was := range tags {
			now, ok := next.tags[run][tag]
			switch {
			case !ok:
				d = append(d, fmt.Sprintf("%s/%s: gone", run, tag))
			case now.Count < was.Count || now.MaxStep < was.MaxStep && !pre.of(run, tag):
				d = append(d, fmt.Sprintf("%s/%s: count %d to step %d, then %d to step %d", run, tag, was.Count, was.MaxStep, now.Count, now.MaxStep))
			}
		}
	}
	for f, was := range v.sizes {
		if now, ok := next.sizes[f]; !ok || now < was {
			d = append(d, fmt.Sprintf("%s: %d bytes, then %d", f, was, now))
		}
	}
	if len(d) > 0 {
		return fmt.Errorf("a read showed less than the one before: %s", strings.Join(d, "; "))
	}
	return nil
}

// TestScalarQuery checks the native scalar API on a generated series with
// a spike: the spike shows at every width.
type answer struct {
	*http.Response
	body []byte
}

// get fetches url with the Accept-Encoding given (which stops the
// transport from decompressing the answer itself).
func get(t *testing.T, url, acceptEncoding string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", acceptEncoding)
	if acceptEncoding == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return answer{resp, body}
}

func TestScalarQuery(t *testing.T) {
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	for step := range int64(50000) {
		v := math.Sin(float64(step) / 100)
		if step == 31337 {
			v = 1000
		}
		if err := w.WriteScalar("loss", step, 1e9+float64(step), v); err != nil {
			t.Fatal(err)
		}
	}
	a := startServer(t, store.NewMem())
	b := a.create("spike")
	a.json("PUT", filePath(b.ID, "train", "events.out.tfevents.1", 0), b.Token, bytes.NewReader(buf.Bytes()), 200, nil)
	a.json("PUT", filePath(b.ID, "eval", "events.out.tfevents.1", 0), b.Token, bytes.NewReader(buf.Bytes()), 200, nil)
	t.Run("multi", func(t *testing.T) {
		var res struct {
			Tag  string
			Runs map[string]struct {
				Points [][3]float64 `json:"points"`
			}
		}
		a.json("GET", "/api/boards/"+b.ID+"/scalars_multi?tag=loss&width=50", "", nil, 200, &res)
		if res.Tag != "loss" || len(res.Runs) != 2 || len(res.Runs["eval"].Points) == 0 || len(res.Runs["train"].Points) == 0 {
			t.Errorf("every run: %+v", res)
		}
		res.Runs = nil
		a.json("GET", "/api/boards/"+b.ID+"/scalars_multi?tag=loss&width=50&run=eval&start=100&end=200", "", nil, 200, &res)
		if len(res.Runs) != 1 || len(res.Runs["eval"].Points) == 0 {
			t.Errorf("run=eval: %+v", res)
		}
		for _, p := range res.Runs["eval"].Points {
			if p[1] < 100 || p[1] > 200 {
				t.Errorf("step %v outside [100, 200]", p[1])
			}
		}
	})
	t.Run("gzip", func(t *testing.T) {
		for _, path := range []string{
			"/api/boards/" + b.ID + "/scalars?run=train&tag=loss&width=1000", // large: gzipped
			"/api/boards/" + b.ID + "/runs",                                  // small: as it is
		} {
			plain := get(t, a.base+path, "")
			for range 2 { // built, then from the cache
				zipped := get(t, a.base+path, "gzip")
				if got := zipped.Header.Get("Vary"); got != "Accept-Encoding" {
					t.Errorf("%s: Vary %q", path, got)
				}
				body := zipped.body
				if zipped.Header.Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
					if len(zipped.body)*2 > len(plain.body) {
						t.Errorf("%s: gzip takes %d bytes to %d", path, len(plain.body), len(zipped.body))
					}
				} else if len(plain.body) >= 1024 {
					t.Errorf("%s: %d bytes sent without gzip to a client that takes it", path, len(plain.body))
				}
				if !bytes.Equal(body, plain.body) {
					t.Errorf("%s: the gzipped answer differs from the plain one", path)
				}
			}
			if plain.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s: Content-Encoding %q to a client that asked for none", path, plain.Header.Get("Content-Encoding"))
			}
		}
	})
	for _, width := range []int{10, 100, 1000} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			var res struct {
				Points [][3]float64 `json:"points"`
				Stats  struct {
					Count int64
					Max   float64
				}
			}
			a.json("GET", fmt.Sprintf("/api/boards/%s/scalars?run=train&tag=loss&width=%d", b.ID, width), "", nil, 200, &res)
			if len(res.Points) == 0 || len(res.Points) > 4*width+8 {
				t.Errorf("%d points for width %d", len(res.Points), width)
			}
			if !sort.SliceIsSorted(res.Points, func(i, j int) bool { return res.Points[i][1] < res.Points[j][1] }) {
				t.Error("points not sorted by step")
			}
			var spike bool
			for _, p := range res.Points {
				spike = spike || p[2] == 1000
			}
			if !spike || res.Stats.Max != 1000 || res.Stats.Count != 50000 {
				t.Errorf("spike shown %v, stats %+v", spike, res.Stats)
			}
		})
	}
}
