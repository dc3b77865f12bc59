package tfeventstest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// stopTB records how a helper stopped the test: Skip and Fatal end the
// goroutine, as testing's do.
type stopTB struct {
	testing.TB
	skipped, failed string
}

func (s *stopTB) Helper()                      {}
func (s *stopTB) Skipf(f string, args ...any)  { s.skipped = fmt.Sprintf(f, args...); runtime.Goexit() }
func (s *stopTB) Fatalf(f string, args ...any) { s.failed = fmt.Sprintf(f, args...); runtime.Goexit() }

// call runs f(tb) on its own goroutine, as Goexit needs.
func call(tb *stopTB, f func(testing.TB) *Corpus) (c *Corpus) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c = f(tb)
	}()
	<-done
	return c
}

// TestRealWhenMissing: a missing corpus skips, but fails under CI=true;
// RealIfPresent returns nil instead of skipping.
func TestRealWhenMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent")
	empty := t.TempDir() // exists, but holds no real/ nor expected.json
	tests := []struct {
		name, dir, ci string
		get           func(testing.TB) *Corpus
		wantSkip      bool
		wantFail      string
	}{
		{"absent skips", missing, "", Real, true, ""},
		{"absent under CI fails", missing, "true", Real, false, "CI requires ../shared/fixtures"},
		{"CI=false is not CI", missing, "false", Real, true, ""},
		{"empty folder skips", empty, "", Real, true, ""},
		{"if present: absent is nil", missing, "", RealIfPresent, false, ""},
		{"if present: absent under CI fails", missing, "true", RealIfPresent, false, "CI requires ../shared/fixtures"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvFixtures, tc.dir)
			t.Setenv("CI", tc.ci)
			tb := &stopTB{TB: t}
			c := call(tb, tc.get)
			if (tb.skipped != "") != tc.wantSkip {
				t.Errorf("skipped %q, want a skip: %v", tb.skipped, tc.wantSkip)
			}
			if tc.wantSkip && !strings.Contains(tb.skipped, EnvFixtures) {
				t.Errorf("skip message %q does not say how to provide the corpus", tb.skipped)
			}
			if !strings.Contains(tb.failed, tc.wantFail) || (tc.wantFail == "") != (tb.failed == "") {
				t.Errorf("failed %q, want a failure containing %q", tb.failed, tc.wantFail)
			}
			if c != nil {
				t.Errorf("got a corpus %+v", c)
			}
		})
	}
}

// TestRealFromEnv: $TBHOST_FIXTURES points at a corpus folder; its
// expected.json is decoded into Files.
func TestRealFromEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	exp := `{"files": [{"path": "r/events.out.tfevents.1", "run": "r", "records": 3, "truncated": true, "bad_records": 1,
		"tags": [{"tag": "loss", "plugin": "scalars", "count": 2, "min_step": 1, "max_step": 2, "min": 0.5, "max": 1, "last": 0.5, "nonfinite": 1}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvFixtures, dir)
	c := Real(t)
	if c.Root != dir || c.LogDir != filepath.Join(dir, "real") || c.Generated {
		t.Fatalf("corpus %+v", c)
	}
	if len(c.Files) != 1 {
		t.Fatalf("files %+v", c.Files)
	}
	f := c.Files[0]
	if f.Path != "r/events.out.tfevents.1" || f.Run != "r" || f.Records != 3 || !f.Truncated || f.Corrupt || f.BadRecords != 1 || len(f.Tags) != 1 {
		t.Fatalf("file %+v", f)
	}
	if tg := f.Tags[0]; tg.Tag != "loss" || tg.Plugin != "scalars" || tg.Count != 2 || tg.MinStep != 1 || tg.MaxStep != 2 ||
		*tg.Min != 0.5 || *tg.Max != 1 || *tg.Last != 0.5 || tg.NonFinite != 1 {
		t.Fatalf("tag %+v", tg)
	}
	c.Files[0].Records = 99 // a caller's change does not reach the cache
	if again := Real(t); again.Files[0].Records != 3 {
		t.Fatalf("the cached corpus changed: %+v", again.Files[0])
	}
}

// TestGeneratedCoversTheForms: the generated corpus holds each form the
// package doc promises, and its files are on disk.
func TestGeneratedCoversTheForms(t *testing.T) {
	c := Generate(t)
	plugins := map[string]bool{}
	var truncated, corrupt, bad, empty, headerOnly, scalarStats, nonFinite bool
	for _, f := range c.Files {
		b, err := os.ReadFile(c.Path(f))
		if err != nil {
			t.Fatal(err)
		}
		truncated = truncated || f.Truncated
		corrupt = corrupt || f.Corrupt
		bad = bad || f.BadRecords > 1
		empty = empty || len(b) == 0
		headerOnly = headerOnly || (f.Records == 1 && len(f.Tags) == 0)
		for _, tg := range f.Tags {
			plugins[tg.Plugin] = true
			scalarStats = scalarStats || tg.Min != nil
			nonFinite = nonFinite || tg.NonFinite > 0
		}
	}
	for _, p := range []string{"scalars", "histograms", "images", "audio", "text", "pr_curves", "hparams", "graphs",
		"graph_keras_model", "graph_tagged_run_metadata", ""} {
		if !plugins[p] {
			t.Errorf("no tag of plugin %q", p)
		}
	}
	for name, ok := range map[string]bool{"truncated": truncated, "corrupt": corrupt, "bad records": bad, "0-byte": empty,
		"header-only": headerOnly, "scalar stats": scalarStats, "non-finite": nonFinite} {
		if !ok {
			t.Errorf("no %s file", name)
		}
	}
	runs := strings.Join(c.Runs(), "|")
	for _, r := range []string{RunRoot, RunTF1, RunTF1Old, RunTF2Train, RunTF2Validation, RunKerasHParams, RunKerasSession, RunPyTorch, RunPyTorchHParam, RunOddNames} {
		if !strings.Contains("|"+runs+"|", "|"+r+"|") {
			t.Errorf("run %q missing from %q", r, runs)
		}
	}
}

// TestWriteIsDeterministic: two writes give the same files, byte for byte,
// and the same expectations.
func TestWriteIsDeterministic(t *testing.T) {
	a, b := Generate(t), Generate(t)
	if d := Diff(a.Files, b.Files); len(d) != 0 || len(a.Files) == 0 {
		t.Fatalf("expectations differ: %v", d)
	}
	ab, bb := a.ReadFiles(t), b.ReadFiles(t)
	for i := range ab {
		if !bytes.Equal(ab[i], bb[i]) {
			t.Errorf("%s differs", a.Files[i].Path)
		}
	}
}

// TestDiff: each field of a file's facts is compared.
func TestDiff(t *testing.T) {
	one := 1.0
	base := func() File {
		return File{Path: "a/f", Run: "a", Records: 2, Tags: []Tag{{Tag: "x", Plugin: "scalars", Count: 2, MaxStep: 1, Min: &one, Max: &one, Last: &one}}}
	}
	other := 1.5
	near := 1 + 1e-9
	tests := []struct {
		name   string
		change func(*File)
		want   string // "" when no difference
	}{
		{"same", func(*File) {}, ""},
		{"within tolerance", func(f *File) { f.Tags[0].Max = &near }, ""},
		{"run", func(f *File) { f.Run = "b" }, "run"},
		{"records", func(f *File) { f.Records = 3 }, "records"},
		{"truncated", func(f *File) { f.Truncated = true }, "truncated"},
		{"corrupt", func(f *File) { f.Corrupt = true }, "corrupt"},
		{"bad records", func(f *File) { f.BadRecords = 1 }, "bad_records"},
		{"plugin", func(f *File) { f.Tags[0].Plugin = "" }, "plugin"},
		{"count", func(f *File) { f.Tags[0].Count = 1 }, "count"},
		{"steps", func(f *File) { f.Tags[0].MinStep = -1 }, "steps"},
		{"min absent", func(f *File) { f.Tags[0].Min = nil }, "min absent"},
		{"max", func(f *File) { f.Tags[0].Max = &other }, "max 1.5"},
		{"last", func(f *File) { f.Tags[0].Last = &other }, "last"},
		{"nonfinite", func(f *File) { f.Tags[0].NonFinite = 1 }, "nonfinite"},
		{"extra tag", func(f *File) { f.Tags = append(f.Tags, Tag{Tag: "y"}) }, "2 tags"},
		{"path", func(f *File) { f.Path = "a/g" }, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := base()
			tc.change(&got)
			d := Diff([]File{got}, []File{base()})
			if tc.want == "" {
				if len(d) != 0 {
					t.Fatalf("differences %q", d)
				}
				return
			}
			if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), tc.want) {
				t.Fatalf("differences %q, want one mentioning %q", d, tc.want)
			}
		})
	}
}
