package client

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWalkLogDirLinksAndNames: the uploader sees symlinked run folders,
// once each even through a loop, and keeps a backslash in a folder name.
func TestWalkLogDirLinksAndNames(t *testing.T) {
	type link struct{ name, target string } // target relative to the link's folder
	tests := []struct {
		name  string
		files []string
		links []link
		want  []string // run|file, in upload order
	}{
		{"symlinked run folder", []string{"real/train/events.out.tfevents.1"}, []link{{"logs/train", "../real/train"}},
			[]string{"logs/train|events.out.tfevents.1", "real/train|events.out.tfevents.1"}},
		{"loop back to the log dir", []string{"run/events.out.tfevents.1"}, []link{{"run/again", ".."}},
			[]string{"run|events.out.tfevents.1"}},
		{"loop within a run", []string{"a/b/events.out.tfevents.1"}, []link{{"a/b/c", "../../a"}},
			[]string{"a/b|events.out.tfevents.1"}},
		{"backslash in a folder name", []string{`a\b/events.out.tfevents.1`},
			nil, []string{`a\b|events.out.tfevents.1`}},
		{"symlinked log dir content and dangling link", []string{"x/events.out.tfevents.1"}, []link{{"dangling", "missing"}},
			[]string{"x|events.out.tfevents.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tc.files {
				files[f] = "x"
			}
			dir := logDir(t, files)
			for _, l := range tc.links {
				p := filepath.Join(dir, filepath.FromSlash(l.name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.FromSlash(l.target), p); err != nil {
					t.Fatal(err)
				}
			}
			got, err := WalkLogDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range got {
				names = append(names, f.Run+"|"+f.File)
				if b, err := os.ReadFile(f.Path); err != nil || string(b) != "x" {
					t.Errorf("%s: read %q, %v", f.Path, b, err)
				}
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("got %q, want %q", names, tc.want)
			}
		})
	}
}
