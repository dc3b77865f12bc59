package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// runInspect runs `tbhost inspect args...` in-process.
func runInspect(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), append([]string{"inspect"}, args...))
	return out.String(), errb.String(), err
}

// TestInspectJSONCorpus checks `tbhost inspect --json` on each corpus (the
// generated one; the shared fixtures when present) against what the corpus
// expects (expected.json, or what the generator wrote), field by field.
func TestInspectJSONCorpus(t *testing.T) {
	for _, c := range []struct {
		name string
		get  func(testing.TB) *tfeventstest.Corpus
	}{{"generated", tfeventstest.Generate}, {"real", tfeventstest.Real}} {
		t.Run(c.name, func(t *testing.T) {
			corpus := c.get(t)
			for _, args := range [][]string{
				{"--json", corpus.LogDir},
				{corpus.LogDir, "--json"},
			} {
				t.Run(strings.Join(args, " "), func(t *testing.T) {
					stdout, stderr, err := runInspect(args...)
					if err != nil {
						t.Fatalf("%v: %s", err, stderr)
					}
					var got struct{ Files []tfeventstest.File }
					if err := json.Unmarshal([]byte(stdout), &got); err != nil {
						t.Fatalf("output is not JSON: %v", err)
					}
					for _, d := range tfeventstest.Diff(got.Files, corpus.Files) {
						t.Error(d)
					}
				})
			}
		})
	}
}

func TestInspectText(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, f func(w *tfevents.Writer)) []byte {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		w.WriteFileVersion(1)
		f(w)
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	write("train/events.out.tfevents.1.host", func(w *tfevents.Writer) {
		for s := int64(0); s < 10; s++ {
			w.WriteScalar("loss", s, float64(s), 10-float64(s))
		}
		w.WriteScalar("loss", 10, 10, math.NaN())
		w.WriteHistogram("weights", 5, 5, [][3]float64{{0, 1, 2}})
	})
	full := write("eval/events.out.tfevents.2.host", func(w *tfevents.Writer) {
		w.WriteTensorScalar("acc", 3, 3, 0.5)
		w.WriteTensorScalar("acc", 4, 4, 0.75)
	})
	// A truncated copy in the same run.
	if err := os.WriteFile(filepath.Join(dir, "eval", "events.out.tfevents.3.host"), full[:len(full)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(emptyDir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		wantOut []string
		wantErr string
		usage   bool
	}{
		{"log dir", []string{dir}, []string{
			"2 run(s), 3 event file(s)",
			`run "eval": 2 file(s)`,
			`run "train": 1 file(s)`,
			"acc scalars 3 3..4 0.5 0.75 0.5", // the truncated copy's 0.5 comes last
			"loss scalars 11 0..10 1 10 1 (1 non-finite)",
			"weights histograms 1 5 - - -",
			"warning: events.out.tfevents.3.host: file ends inside a record",
		}, "", false},
		{"one file", []string{filepath.Join(dir, "train", "events.out.tfevents.1.host")}, []string{`run "."`, "loss"}, "", false},
		{"missing path", []string{filepath.Join(dir, "nope")}, nil, "no such file or directory", false},
		{"no event files", []string{emptyDir}, nil, "no event files", false},
		{"no path", nil, nil, "", true},
		{"two paths", []string{dir, dir}, nil, "", true},
		{"bad flag", []string{"--bogus", dir}, nil, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runInspect(tc.args...)
			switch {
			case tc.usage:
				if !errors.Is(err, errUsage) || !strings.Contains(stderr, "Usage: tbhost inspect") {
					t.Fatalf("err %v, stderr %q; want a usage error", err, stderr)
				}
				return
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("%v: %s", err, stderr)
			}
			flat := strings.Join(strings.Fields(stdout), " ") // columns are aligned with spaces
			for _, w := range tc.wantOut {
				if !strings.Contains(flat, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}
