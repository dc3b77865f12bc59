package hosting_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
)

// runNote is a run in GET /runs, as far as annotations go.
type runNote struct {
	Name     string `json:"name"`
	Note     string `json:"note"`
	NoteHTML string `json:"note_html"`
	Baseline bool   `json:"baseline"`
}

// runNotes returns a board's runs by name, as srv's GET /runs shows them.
func (a api) runNotes(id, query string) map[string]runNote {
	a.t.Helper()
	var out struct {
		Runs []runNote `json:"runs"`
	}
	a.json("GET", "/api/boards/"+id+"/runs"+query, "", nil, http.StatusOK, &out)
	m := map[string]runNote{}
	for _, r := range out.Runs {
		m[r.Name] = r
	}
	return m
}

// annotate sends PATCH /annotations for run with body and returns the
// status and answer.
func (a api) annotate(id, token, run, body string) (int, []byte) {
	a.t.Helper()
	return a.do("PATCH", "/api/boards/"+id+"/annotations?run="+url.QueryEscape(run), token, strings.NewReader(body))
}

// notesBoard creates a board on srv holding the given runs, one small
// event file each.
func notesBoard(t *testing.T, srv api, runs ...string) created {
	t.Helper()
	bd := srv.create("notes")
	data := genEvents(t, 1, 20)
	for _, run := range runs {
		if err := put(t, srv, bd, url.QueryEscape(run), "events.out.tfevents.1", data, len(data)); err != nil {
			t.Fatal(err)
		}
	}
	return bd
}

// Every refusal the API contract lists, and the ones around it, with its
// status and a sentence that says what is wrong.
func TestAnnotationRefusals(t *testing.T) {
	_, srv := startWith(t, hosting.Config{Store: store.NewMem()})
	bd := notesBoard(t, srv, "train")
	big := strings.Repeat("x", 64<<10+1)
	tests := []struct {
		name   string
		board  string
		token  string
		run    string
		body   string
		status int
		says   string
	}{
		{"a note over 64 KiB", bd.ID, bd.Token, "train", `{"note": "` + big + `"}`, http.StatusRequestEntityTooLarge, "at most 65536 bytes (64 KiB)"},
		{"a body over 1 MiB", bd.ID, bd.Token, "train", `{"note": "` + strings.Repeat(`\u0041`, 200000) + `"}`, http.StatusRequestEntityTooLarge, "64 KiB"},
		{"a run the board does not have", bd.ID, bd.Token, "eval/missing", `{"baseline": true}`, http.StatusNotFound, `"eval/missing"`},
		{"no token", bd.ID, "", "train", `{"note": "x"}`, http.StatusUnauthorized, "write token"},
		{"a wrong token", bd.ID, "not-the-token", "train", `{"note": "x"}`, http.StatusForbidden, "write token is not the one"},
		{"a board that does not exist", "AAAAAAAAAAAAAAAAAAAAAA", bd.Token, "train", `{"note": "x"}`, http.StatusNotFound, "not found"},
		{"no run", bd.ID, bd.Token, "", `{"note": "x"}`, http.StatusBadRequest, "?run="},
		{"nothing to change", bd.ID, bd.Token, "train", `{}`, http.StatusBadRequest, "nothing to change"},
		{"not JSON", bd.ID, bd.Token, "train", `note=x`, http.StatusBadRequest, "must be JSON"},
		{"an unknown field", bd.ID, bd.Token, "train", `{"notes": "x"}`, http.StatusBadRequest, "must be JSON"},
		{"a note with a NUL", bd.ID, bd.Token, "train", `{"note": "a\u0000b"}`, http.StatusBadRequest, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := srv.annotate(tt.board, tt.token, tt.run, tt.body)
			var e struct {
				Error string `json:"error"`
			}
			json.Unmarshal(data, &e)
			if status != tt.status || !strings.Contains(e.Error, tt.says) {
				t.Errorf("%d %s, want %d saying %q", status, data, tt.status, tt.says)
			}
		})
	}
	// None of them changed anything.
	if r := srv.runNotes(bd.ID, "")["train"]; r.Note != "" || r.Baseline {
		t.Errorf("after refused edits the run shows %+v", r)
	}
}

// A note and a baseline mark set through the API come back in the edit's
// answer and in GET /runs (whose ETag moves with them), rendered as
// sanitised HTML; an empty note clears the note and leaves the mark.
func TestAnnotationsInRuns(t *testing.T) {
	_, srv := startWith(t, hosting.Config{Store: store.NewMem()})
	bd := notesBoard(t, srv, "train", "eval")
	etagOf := func(ifNoneMatch string) (string, int) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.base+"/api/boards/"+bd.ID+"/runs", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("ETag"), resp.StatusCode
	}
	before, _ := etagOf("")
	if _, status := etagOf(before); status != http.StatusNotModified {
		t.Fatalf("revalidating an unchanged runs answer: %d, want 304", status)
	}

	var ans struct {
		Run      string `json:"run"`
		Note     string `json:"note"`
		NoteHTML string `json:"note_html"`
		Baseline bool   `json:"baseline"`
	}
	status, data := srv.annotate(bd.ID, bd.Token, "./train", `{"note": "**lr** 0.1, see [the paper](https://example.org)", "baseline": true}`)
	if status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, data)
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatal(err)
	}
	wantHTML := `<p><strong>lr</strong> 0.1, see <a href="https://example.org">the paper</a></p>`
	if ans.Run != "train" || ans.Note != "**lr** 0.1, see [the paper](https://example.org)" || !ans.Baseline || !strings.Contains(ans.NoteHTML, wantHTML) {
		t.Errorf("answer %s", data)
	}

	after, status := etagOf(before)
	if status != http.StatusOK || after == before {
		t.Errorf("after an annotation: status %d and ETag %s (was %s), want 200 and a new ETag", status, after, before)
	}
	runs := srv.runNotes(bd.ID, "")
	if r := runs["train"]; r.Note != ans.Note || r.NoteHTML != ans.NoteHTML || !r.Baseline {
		t.Errorf("GET /runs shows train as %+v", r)
	}
	if r := runs["eval"]; r.Note != "" || r.NoteHTML != "" || r.Baseline {
		t.Errorf("GET /runs shows eval, never annotated, as %+v", r)
	}
	// Fields of a run without annotations are left out of the answer.
	_, raw := srv.do("GET", "/api/boards/"+bd.ID+"/runs", "", nil)
	if strings.Count(string(raw), `"note"`) != 1 || strings.Count(string(raw), `"baseline"`) != 1 {
		t.Errorf("runs answer: %s", raw)
	}

	srv.json("PATCH", "/api/boards/"+bd.ID+"/annotations?run=train", bd.Token, strings.NewReader(`{"note": ""}`), http.StatusOK, &ans)
	if ans.Note != "" || ans.NoteHTML != "" || !ans.Baseline {
		t.Errorf("after clearing the note: %+v", ans)
	}
	if r := srv.runNotes(bd.ID, "")["train"]; r.Note != "" || !r.Baseline {
		t.Errorf("GET /runs after clearing the note: %+v", r)
	}
	if cleared, _ := etagOf(""); cleared == after {
		t.Errorf("clearing the note left the runs ETag at %s", after)
	}
}

// activeHTML matches markup that runs script: a script or frame element,
// an event handler attribute, a javascript: URL.
var activeHTML = []*regexp.Regexp{
	regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed)`),
	regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`),
	regexp.MustCompile(`(?i)<[a-z][^>]*\s(href|src)\s*=\s*["']?\s*javascript:`),
}

// A note is Markdown rendered as descriptions are: a script, an event
// handler or a javascript: link in it comes out inert.
func TestNoteHTMLIsSanitised(t *testing.T) {
	_, srv := startWith(t, hosting.Config{Store: store.NewMem()})
	bd := notesBoard(t, srv, "train")
	tests := []struct {
		name, note string
		keeps      string // text that survives, escaped or as it was
	}{
		{"a script tag", `<script>alert("pwned")</script> lr 0.1`, "lr 0.1"},
		{"an event handler", `<img src="x" onerror="alert(1)"> lr 0.1`, "lr 0.1"},
		{"a javascript: link", `[click](javascript:alert(1)) lr 0.1`, "click"},
		{"raw HTML around Markdown", `<div onclick="alert(1)">**bold**</div><iframe src="https://evil.example"></iframe>`, "bold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(map[string]string{"note": tt.note})
			if err != nil {
				t.Fatal(err)
			}
			if status, data := srv.annotate(bd.ID, bd.Token, "train", string(body)); status != http.StatusOK {
				t.Fatalf("PATCH: %d %s", status, data)
			}
			r := srv.runNotes(bd.ID, "")["train"]
			if r.Note != tt.note {
				t.Errorf("note %q, want it kept as written %q", r.Note, tt.note)
			}
			// Raw tags may come out as text (escaped), never as markup.
			for _, bad := range activeHTML {
				if m := bad.FindString(r.NoteHTML); m != "" {
					t.Errorf("note_html holds %q: %s", m, r.NoteHTML)
				}
			}
			if !strings.Contains(r.NoteHTML, tt.keeps) {
				t.Errorf("note_html lost %q: %s", tt.keeps, r.NoteHTML)
			}
		})
	}
}

// fakeClock is the clock of servers whose caches a test lets expire.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Two servers on one store see the same notes and baselines: what one
// writes, the other serves once its cache TTL has passed (on each store).
func TestAnnotationsAcrossReplicas(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			clock := &fakeClock{t: time.Now()}
			cfg := hosting.Config{CacheTTL: 2 * time.Second, Now: clock.Now}
			_, a := replica(t, st, cfg)
			_, b := replica(t, st, cfg)
			bd := notesBoard(t, a, "train", "eval")
			if r := b.runNotes(bd.ID, "")["train"]; r.Note != "" {
				t.Fatalf("b before any note: %+v", r)
			}
			a.json("PATCH", "/api/boards/"+bd.ID+"/annotations?run=train", bd.Token, strings.NewReader(`{"note": "from a"}`), http.StatusOK, nil)
			b.json("PATCH", "/api/boards/"+bd.ID+"/annotations?run=eval", bd.Token, strings.NewReader(`{"baseline": true}`), http.StatusOK, nil)
			clock.Advance(3 * time.Second) // past the cache TTL
			for name, srv := range map[string]api{"a": a, "b": b} {
				runs := srv.runNotes(bd.ID, "")
				if runs["train"].Note != "from a" || runs["train"].Baseline || runs["eval"].Note != "" || !runs["eval"].Baseline {
					t.Errorf("server %s shows %+v", name, runs)
				}
			}
		})
	}
}

// Annotation edits racing through two servers on one store all land: for
// each of 20 runs, one server sets its note while the other marks it a
// baseline, all at once (on each store). A fresh server reads them all.
func TestRacingAnnotationEdits(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			_, a := replica(t, st, hosting.Config{})
			_, b := replica(t, st, hosting.Config{})
			const n = 20
			var runs []string
			for i := range n {
				runs = append(runs, fmt.Sprintf("run %02d", i))
			}
			bd := notesBoard(t, a, runs...)
			b.runNotes(bd.ID, "") // b caches the board and its annotations (none) first
			start := make(chan struct{})
			errs := make(chan error, 2*n)
			var wg sync.WaitGroup
			edit := func(srv api, run, body string) {
				defer wg.Done()
				<-start
				if status, data := srv.annotate(bd.ID, bd.Token, run, body); status != http.StatusOK {
					errs <- fmt.Errorf("%s: PATCH %s: %d %s", run, body, status, data)
				}
			}
			for i, run := range runs {
				wg.Add(2)
				first, second := a, b
				if i%2 == 1 {
					first, second = b, a
				}
				go edit(first, run, fmt.Sprintf(`{"note": "note of %s"}`, run))
				go edit(second, run, `{"baseline": true}`)
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			_, c := replica(t, st, hosting.Config{}) // the store's truth
			got := c.runNotes(bd.ID, "")
			lost := 0
			for _, run := range runs {
				if r := got[run]; r.Note != "note of "+run || !r.Baseline {
					lost++
				}
			}
			if lost > 0 {
				t.Errorf("of %d runs, %d lost an edit: %+v", n, lost, got)
			}
		})
	}
}

// Notes and baselines are in the store: a server started again on the same
// directory serves them, and GET /annotations gives them as stored; a
// deleted board takes them with it.
func TestAnnotationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() api {
		t.Helper()
		st, err := store.NewDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, srv := startWith(t, hosting.Config{Store: st, CacheTTL: -1})
		return srv
	}
	first := open()
	bd := notesBoard(t, first, "train")
	first.json("PATCH", "/api/boards/"+bd.ID+"/annotations?run=train", bd.Token, strings.NewReader(`{"note": "kept", "baseline": true}`), http.StatusOK, nil)

	second := open()
	if r := second.runNotes(bd.ID, "")["train"]; r.Note != "kept" || !r.Baseline {
		t.Errorf("after a restart: %+v", r)
	}
	var stored struct {
		Runs map[string]struct {
			Note     string    `json:"note"`
			Baseline bool      `json:"baseline"`
			Updated  time.Time `json:"updated"`
		} `json:"runs"`
	}
	second.json("GET", "/api/boards/"+bd.ID+"/annotations", "", nil, http.StatusOK, &stored)
	if r := stored.Runs["train"]; len(stored.Runs) != 1 || r.Note != "kept" || !r.Baseline || r.Updated.IsZero() {
		t.Errorf("GET /annotations: %+v", stored)
	}
	second.json("DELETE", "/api/boards/"+bd.ID, bd.Token, nil, http.StatusNoContent, nil)
	if status, data := second.do("GET", "/api/boards/"+bd.ID+"/annotations", "", nil); status != http.StatusNotFound {
		t.Errorf("annotations of a deleted board: %d %s", status, data)
	}
}

// A private board's annotations need its key, like the rest of it.
func TestPrivateAnnotations(t *testing.T) {
	_, srv := startWith(t, hosting.Config{Store: store.NewMem()})
	var bd created
	srv.json("POST", "/api/boards", "", strings.NewReader(`{"name": "p", "private": true}`), http.StatusCreated, &bd)
	data := genEvents(t, 1, 20)
	if err := put(t, srv, bd, "train", "events.out.tfevents.1", data, len(data)); err != nil {
		t.Fatal(err)
	}
	srv.json("PATCH", "/api/boards/"+bd.ID+"/annotations?run=train", bd.Token, strings.NewReader(`{"note": "secret"}`), http.StatusOK, nil)
	for _, path := range []string{"/runs", "/annotations"} {
		if status, body := srv.do("GET", "/api/boards/"+bd.ID+path, "", nil); status != http.StatusUnauthorized || strings.Contains(string(body), "secret") {
			t.Errorf("%s without the key: %d %s", path, status, body)
		}
	}
	if r := srv.runNotes(bd.ID, "?key="+url.QueryEscape(bd.ViewKey))["train"]; r.Note != "secret" {
		t.Errorf("with the key: %+v", r)
	}
}

// /compare/<ids>/ serves the board page for 2 to 8 well-formed, distinct
// board ids, whether or not the boards exist (the page names the missing
// ones); other links get a sentence.
func TestComparePage(t *testing.T) {
	_, srv := startWith(t, hosting.Config{Store: store.NewMem()})
	a, b := srv.create("a"), srv.create("b")
	id := func(i int) string { return fmt.Sprintf("AAAAAAAAAAAAAAAAAAAA%02d", i) }
	var nine []string
	for i := range 9 {
		nine = append(nine, id(i))
	}
	tests := []struct {
		name   string
		path   string
		status int
		says   string
	}{
		{"two boards", "/compare/" + a.ID + "," + b.ID + "/", http.StatusOK, `data-page="board"`},
		{"keys of private boards in the query", "/compare/" + a.ID + "," + b.ID + "/?key." + a.ID + "=k", http.StatusOK, `data-page="board"`},
		{"a board that does not exist", "/compare/" + a.ID + "," + id(1) + "/", http.StatusOK, `data-page="board"`},
		{"eight boards", "/compare/" + strings.Join(nine[:8], ",") + "/", http.StatusOK, `data-page="board"`},
		{"one board", "/compare/" + a.ID + "/", http.StatusBadRequest, "2 to 8 boards"},
		{"nine boards", "/compare/" + strings.Join(nine, ",") + "/", http.StatusBadRequest, "2 to 8 boards"},
		{"an empty id", "/compare/" + a.ID + ",/", http.StatusBadRequest, "not a board id"},
		{"a short id", "/compare/" + a.ID + ",abc/", http.StatusBadRequest, `abc\" is not a board id`},
		{"a board twice", "/compare/" + a.ID + "," + a.ID + "/", http.StatusBadRequest, "named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := srv.do("GET", tt.path, "", nil)
			if status != tt.status || !strings.Contains(string(body), tt.says) {
				t.Errorf("GET %s: %d %.300s, want %d with %q", tt.path, status, body, tt.status, tt.says)
			}
		})
	}
	// Without the trailing slash: redirected, the keys kept.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.base + "/compare/" + a.ID + "," + b.ID + "?key." + b.ID + "=k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/compare/" + a.ID + "," + b.ID + "/?key." + b.ID + "=k"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("without the slash: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
