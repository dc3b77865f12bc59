package tfevents

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir is the shared fixtures, cloned next to the repository.
var fixturesDir = filepath.Join("..", "..", "shared", "fixtures")

type expectedTag struct {
	Tag       string   `json:"tag"`
	Plugin    string   `json:"plugin"`
	Count     int      `json:"count"`
	MinStep   int64    `json:"min_step"`
	MaxStep   int64    `json:"max_step"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
	Last      *float64 `json:"last"`
	NonFinite int      `json:"nonfinite"`
}

type expectedFile struct {
	Path       string        `json:"path"`
	Run        string        `json:"run"`
	Records    int           `json:"records"`
	Truncated  bool          `json:"truncated"`
	Corrupt    bool          `json:"corrupt"`
	BadRecords int           `json:"bad_records"`
	Tags       []expectedTag `json:"tags"`
}

func loadExpected(t testing.TB) []expectedFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, "expected.json"))
	if err != nil {
		t.Fatalf("reading expected.json (the shared fixtures must be cloned next to the repo): %v", err)
	}
	var exp struct {
		Files []expectedFile `json:"files"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp.Files
}

func closeEnough(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-6*math.Max(math.Abs(a), math.Abs(b))
}

func compareOptFloat(t *testing.T, what string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: got %v, want %v", what, fmtOpt(got), fmtOpt(want))
	case !closeEnough(*got, *want):
		t.Errorf("%s: got %v, want %v", what, *got, *want)
	}
}

func fmtOpt(p *float64) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// compareFileReport checks a FileReport against the expected one field by field.
func compareFileReport(t *testing.T, got FileReport, want expectedFile) {
	t.Helper()
	if got.Path != want.Path {
		t.Errorf("path: got %q, want %q", got.Path, want.Path)
	}
	if got.Run != want.Run {
		t.Errorf("run: got %q, want %q", got.Run, want.Run)
	}
	if got.Records != want.Records {
		t.Errorf("records: got %d, want %d", got.Records, want.Records)
	}
	if got.Truncated != want.Truncated {
		t.Errorf("truncated: got %v, want %v", got.Truncated, want.Truncated)
	}
	if got.Corrupt != want.Corrupt {
		t.Errorf("corrupt: got %v, want %v", got.Corrupt, want.Corrupt)
	}
	if got.BadRecords != want.BadRecords {
		t.Errorf("bad_records: got %d, want %d", got.BadRecords, want.BadRecords)
	}
	if got.Error != "" {
		t.Errorf("unexpected error: %s", got.Error)
	}
	gotTags := map[string]TagReport{}
	for _, tg := range got.Tags {
		gotTags[tg.Tag] = tg
	}
	for _, w := range want.Tags {
		g, ok := gotTags[w.Tag]
		if !ok {
			t.Errorf("tag %q missing", w.Tag)
			continue
		}
		delete(gotTags, w.Tag)
		if g.Plugin != w.Plugin {
			t.Errorf("tag %q plugin: got %q, want %q", w.Tag, g.Plugin, w.Plugin)
		}
		if g.Count != w.Count {
			t.Errorf("tag %q count: got %d, want %d", w.Tag, g.Count, w.Count)
		}
		if g.MinStep != w.MinStep || g.MaxStep != w.MaxStep {
			t.Errorf("tag %q steps: got [%d, %d], want [%d, %d]", w.Tag, g.MinStep, g.MaxStep, w.MinStep, w.MaxStep)
		}
		compareOptFloat(t, "tag "+w.Tag+" min", g.Min, w.Min)
		compareOptFloat(t, "tag "+w.Tag+" max", g.Max, w.Max)
		compareOptFloat(t, "tag "+w.Tag+" last", g.Last, w.Last)
		if g.NonFinite != w.NonFinite {
			t.Errorf("tag %q nonfinite: got %d, want %d", w.Tag, g.NonFinite, w.NonFinite)
		}
	}
	for tag := range gotTags {
		t.Errorf("unexpected tag %q", tag)
	}
	if len(got.Tags) == len(want.Tags) {
		for i := range got.Tags {
			if got.Tags[i].Tag != want.Tags[i].Tag {
				t.Errorf("tags not sorted like expected: #%d is %q, want %q", i, got.Tags[i].Tag, want.Tags[i].Tag)
				break
			}
		}
	}
}

func TestInspectFixtures(t *testing.T) {
	want := loadExpected(t)
	if len(want) != 364 {
		t.Fatalf("expected.json lists %d files, want 364", len(want))
	}
	rep, err := Inspect(filepath.Join(fixturesDir, "real"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != len(want) {
		t.Errorf("got %d files, want %d", len(rep.Files), len(want))
	}
	got := map[string]FileReport{}
	for i, f := range rep.Files {
		got[f.Path] = f
		if i < len(want) && f.Path != want[i].Path {
			t.Errorf("file #%d is %q, want %q (order)", i, f.Path, want[i].Path)
		}
	}
	for _, w := range want {
		t.Run(w.Path, func(t *testing.T) {
			g, ok := got[w.Path]
			if !ok {
				t.Fatalf("file missing from the report")
			}
			compareFileReport(t, g, w)
		})
	}
}
