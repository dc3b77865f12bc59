package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tbhost/client"
)

// runAnnotations reads a board's runs from GET /runs as name → its note and
// baseline mark.
func runAnnotations(t *testing.T, server, id, query string) map[string]client.Annotation {
	t.Helper()
	var out struct {
		Runs []struct {
			Name     string `json:"name"`
			Note     string `json:"note"`
			Baseline bool   `json:"baseline"`
		} `json:"runs"`
	}
	if status := getJSON(t, server+"/api/boards/"+id+"/runs"+query, &out); status != 200 {
		t.Fatalf("GET /runs of board %s: %d", id, status)
	}
	m := map[string]client.Annotation{}
	for _, r := range out.Runs {
		m[r.Name] = client.Annotation{Note: r.Note, Baseline: r.Baseline}
	}
	return m
}

// tbhost note and tbhost baseline set, replace and clear a run's note and
// mark, from an argument, a file or standard input; what they refuse,
// they explain.
func TestNoteAndBaseline(t *testing.T) {
	ts := startServer(t)
	mc := newMachine(t)
	u := mc.must("upload", genDir("tf2")(t), "--server", ts.URL, "--new").lastLine()
	id := boardID(t, u)
	noteFile := filepath.Join(t.TempDir(), "note.md")
	if err := os.WriteFile(noteFile, []byte("# From a file\n\n- lr 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		stdin string
		args  []string
		want  map[string]client.Annotation
	}{
		{"a note from the command line", "", []string{"note", id, "train", "**lr** 0.1"},
			map[string]client.Annotation{"train": {Note: "**lr** 0.1"}}},
		{"a baseline, by the board's URL", "", []string{"baseline", u, "validation"},
			map[string]client.Annotation{"train": {Note: "**lr** 0.1"}, "validation": {Baseline: true}}},
		{"a note from a file replaces the first", "", []string{"note", id, "train", "--file", noteFile},
			map[string]client.Annotation{"train": {Note: "# From a file\n\n- lr 0.1\n"}, "validation": {Baseline: true}}},
		{"a note from standard input", "seen on stdin", []string{"note", "--file", "-", id, "validation"},
			map[string]client.Annotation{"train": {Note: "# From a file\n\n- lr 0.1\n"}, "validation": {Note: "seen on stdin", Baseline: true}}},
		{"an empty note clears it", "", []string{"note", id, "train", ""},
			map[string]client.Annotation{"validation": {Note: "seen on stdin", Baseline: true}}},
		{"--off takes the mark away", "", []string{"baseline", id, "validation", "--off"},
			map[string]client.Annotation{"validation": {Note: "seen on stdin"}}},
	}
	for _, s := range steps {
		r := mc.run(context.Background(), s.stdin, s.args...)
		if r.err != nil {
			t.Fatalf("%s: tbhost %s: %v\n%s", s.name, strings.Join(s.args, " "), r.err, r.stderr)
		}
		if r.lastLine() != u {
			t.Errorf("%s: printed %q, want the board's URL %q", s.name, r.stdout, u)
		}
		got := runAnnotations(t, ts.URL, id, "")
		for _, run := range []string{"train", "validation"} {
			if got[run] != s.want[run] {
				t.Errorf("%s: run %s has %+v, want %+v", s.name, run, got[run], s.want[run])
			}
		}
	}

	big := filepath.Join(t.TempDir(), "big.md")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 70<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		mc   *machine
		args []string
		says string
	}{
		{"a run the board does not have", mc, []string{"note", id, "nope", "x"}, `has no run "nope"`},
		{"a note over 64 KiB", mc, []string{"note", id, "train", "--file", big}, "64 KiB"},
		{"no token on this machine", newMachine(t), []string{"baseline", id, "train", "--server", ts.URL}, "no write token"},
		{"a wrong token", newMachine(t), []string{"baseline", id, "train", "--server", ts.URL, "--token", "wrong"}, "refused the write token"},
		{"a note and --file", mc, []string{"note", id, "train", "x", "--file", noteFile}, "usage"},
		{"no text", mc, []string{"note", id, "train"}, "usage"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.mc.run(context.Background(), "", tt.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.says) {
				t.Errorf("tbhost %s: %v, want an error saying %q\n%s", strings.Join(tt.args, " "), r.err, tt.says, r.stderr)
			}
		})
	}
	if got := runAnnotations(t, ts.URL, id, "")["train"]; got != (client.Annotation{}) {
		t.Errorf("after the refusals, train has %+v", got)
	}
}

// serveData runs `tbhost serve` on a data directory and returns its URL
// and a function that stops it as SIGTERM does.
func serveData(t *testing.T, mc *machine, data string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan result, 1)
	go func() {
		var out, errb syncBuffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return mc.env[k] }, Listening: func(a string) { addr <- a }}
		err := m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "text"})
		done <- result{out.String(), errb.String(), err}
	}()
	select {
	case a := <-addr:
		base = "http://" + a
	case r := <-done:
		cancel()
		t.Fatalf("serve ended before listening: %v\n%s", r.err, r.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not listen within 30 s")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case r := <-done:
			if r.err != nil {
				t.Errorf("serve: %v\n%s", r.err, r.stderr)
			}
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop within 60 s")
		}
	}
	t.Cleanup(stop)
	return base, stop
}

// Notes and baselines set with the CLI against a real `tbhost serve`
// survive its restart, go into tbhost-annotations.json with tbhost export,
// and come back on the new board an upload of the exported folder makes;
// uploading that folder again leaves the new board's owner's later edits
// alone. A private board's notes go the same way.
func TestNotesSurviveRestartAndExport(t *testing.T) {
	for _, private := range []bool{false, true} {
		name := "public"
		if private {
			name = "private"
		}
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			mc := newMachine(t)
			base, stop := serveData(t, mc, data)
			args := []string{"upload", genDir("tf2")(t), "--server", base, "--new"}
			if private {
				args = append(args, "--private")
			}
			u := mc.must(args...).lastLine()
			id := boardID(t, u)
			query, key := "", []string{}
			if private {
				pu, err := url.Parse(u)
				if err != nil {
					t.Fatal(err)
				}
				query = "?key=" + url.QueryEscape(pu.Query().Get("key"))
				// The server comes back on another port, which the token
				// file does not know: the export is given the key.
				key = []string{"--key", pu.Query().Get("key")}
			}
			mc.must("note", id, "train", "lr **0.1**, warm-up 5 epochs")
			mc.must("baseline", id, "validation")
			mc.must("note", id, "validation", "the reference")
			want := map[string]client.Annotation{
				"train":      {Note: "lr **0.1**, warm-up 5 epochs"},
				"validation": {Note: "the reference", Baseline: true},
			}
			check := func(what, server, id, query string, want map[string]client.Annotation) {
				t.Helper()
				got := runAnnotations(t, server, id, query)
				for run, w := range want {
					if got[run] != w {
						t.Errorf("%s: run %s has %+v, want %+v", what, run, got[run], w)
					}
				}
			}

			stop()
			base, _ = serveData(t, mc, data)
			check("after a restart", base, id, query, want)

			out := filepath.Join(t.TempDir(), "export")
			mc.must(append([]string{"export", id, "--out", out, "--server", base}, key...)...)
			raw, err := os.ReadFile(filepath.Join(out, client.AnnotationsFile))
			if err != nil {
				t.Fatalf("export wrote no %s: %v", client.AnnotationsFile, err)
			}
			var file client.Annotations
			if err := json.Unmarshal(raw, &file); err != nil {
				t.Fatalf("%s: %v\n%s", client.AnnotationsFile, err, raw)
			}
			for run, w := range want {
				if g := file.Runs[run]; g.Note != w.Note || g.Baseline != w.Baseline || g.Updated.IsZero() {
					t.Errorf("%s: run %s has %+v, want %+v and a time", client.AnnotationsFile, run, g, w)
				}
			}

			// The exported folder to a new board (from another machine).
			other := newMachine(t)
			nu := other.must("upload", out, "--server", base, "--new").lastLine()
			nid := boardID(t, nu)
			if nid == id {
				t.Fatal("upload --new reused the board")
			}
			check("the new board", base, nid, "", want)
			sameFiles(t, "the new board's files", rawExport(t, base, nid), localFiles(t, genDir("tf2")(t)))

			// The new board's owner changes a note; the folder uploaded
			// again does not undo it.
			other.must("note", nid, "train", "changed on the board")
			if again := boardID(t, other.must("upload", out, "--server", base).lastLine()); again != nid {
				t.Fatalf("the folder uploaded again went to board %s, not %s", again, nid)
			}
			check("after uploading the folder again", base, nid, "", map[string]client.Annotation{
				"train":      {Note: "changed on the board"},
				"validation": {Note: "the reference", Baseline: true},
			})
		})
	}
}

// tbhost note -h and tbhost baseline -h print their usage, and the command
// list names them.
func TestNoteHelp(t *testing.T) {
	for _, cmd := range []string{"note", "baseline"} {
		t.Run(cmd, func(t *testing.T) {
			r := newMachine(t).run(context.Background(), "", cmd, "-h")
			if r.err != nil || !strings.Contains(r.stderr, "Usage: tbhost "+cmd) || !strings.Contains(r.stderr, "-token") {
				t.Errorf("%s -h: %v\n%s", cmd, r.err, r.stderr)
			}
		})
	}
	r := newMachine(t).run(context.Background(), "", "help")
	for _, cmd := range []string{"  note ", "  baseline "} {
		if !strings.Contains(r.stderr, cmd) {
			t.Errorf("tbhost help does not list %q:\n%s", cmd, r.stderr)
		}
	}
}
