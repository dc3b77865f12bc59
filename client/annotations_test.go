package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The annotations file of an export folder reads back; a folder without
// one has none; a file that is not the export's JSON is refused naming it;
// and the walk of the folder never takes it for an event file.
func TestAnnotationsFile(t *testing.T) {
	dir := t.TempDir()
	if a, err := ReadAnnotationsFile(dir); a != nil || err != nil {
		t.Errorf("a folder without the file: %v, %v", a, err)
	}
	if err := os.WriteFile(filepath.Join(dir, AnnotationsFile), []byte(`{"runs": {"train": {"note": "n", "baseline": true, "updated": "2025-01-02T03:04:05Z"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.out.tfevents.1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := ReadAnnotationsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Runs["train"]; r.Note != "n" || !r.Baseline || r.Updated.Year() != 2025 {
		t.Errorf("read %+v", a)
	}
	files, err := WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.File == AnnotationsFile {
			t.Errorf("the walk takes %s for an event file", AnnotationsFile)
		}
	}
	if len(files) != 1 {
		t.Errorf("walk: %+v, want the one event file", files)
	}
	if err := os.WriteFile(filepath.Join(dir, AnnotationsFile), []byte(`not json`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAnnotationsFile(dir); err == nil || !strings.Contains(err.Error(), AnnotationsFile) {
		t.Errorf("a broken file: %v", err)
	}
}

// A server older than annotations (no such route) has none to export:
// the export succeeds and writes no annotations file.
func TestExportFromServerWithoutAnnotations(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error": "no such page"}`, http.StatusNotFound)
	}))
	defer ts.Close()
	dir := t.TempDir()
	res, err := New(ts.URL).Export(context.Background(), "AAAAAAAAAAAAAAAAAAAAAA", dir, ExportOptions{NoRaw: true, NoCSV: true})
	if err != nil || res.Annotated != 0 {
		t.Fatalf("export: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, AnnotationsFile)); !os.IsNotExist(err) {
		t.Errorf("%s written: %v", AnnotationsFile, err)
	}
}
