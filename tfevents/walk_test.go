package tfevents

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWalkLogDir: runs are the folders directly holding event files,
// named by their path from the log dir ("/"-joined, names kept as they
// are); symlinked folders and files are followed, loops are not walked
// twice.
func TestWalkLogDir(t *testing.T) {
	type link struct{ name, target string } // target relative to the link's folder
	tests := []struct {
		name  string
		files []string // created empty, "/"-separated; a name ending in "/" is a folder
		links []link
		want  map[string][]string // run -> base names of its files
	}{
		{
			name:  "plain",
			files: []string{"events.out.tfevents.1", "run 1/events.out.tfevents.2", "run 1/other.txt", "a/b=1,c/events.out.tfevents.3", "a/events.tfevents.4.v2", "empty/"},
			want:  map[string][]string{".": {"events.out.tfevents.1"}, "run 1": {"events.out.tfevents.2"}, "a/b=1,c": {"events.out.tfevents.3"}, "a": {"events.tfevents.4.v2"}},
		},
		{
			name:  "backslash stays in the name",
			files: []string{`a\b/events.out.tfevents.1`, `x/y\z/events.out.tfevents.2`},
			want:  map[string][]string{`a\b`: {"events.out.tfevents.1"}, `x/y\z`: {"events.out.tfevents.2"}},
		},
		{
			name:  "files sort by base name",
			files: []string{"r/events.out.tfevents.2", "r/events.out.tfevents.10", "r/events.out.tfevents.1"},
			want:  map[string][]string{"r": {"events.out.tfevents.1", "events.out.tfevents.10", "events.out.tfevents.2"}},
		},
		{
			name:  "symlinked run folder",
			files: []string{"outside/train/events.out.tfevents.1"},
			links: []link{{"logs/exp", "../outside"}},
			want:  map[string][]string{"logs/exp/train": {"events.out.tfevents.1"}, "outside/train": {"events.out.tfevents.1"}},
		},
		{
			name:  "symlinked event file",
			files: []string{"store/events.out.tfevents.1"},
			links: []link{{"run/events.out.tfevents.1", "../store/events.out.tfevents.1"}},
			want:  map[string][]string{"run": {"events.out.tfevents.1"}, "store": {"events.out.tfevents.1"}},
		},
		{
			name:  "loop to the log dir",
			files: []string{"run/events.out.tfevents.1"},
			links: []link{{"run/up", ".."}},
			want:  map[string][]string{"run": {"events.out.tfevents.1"}},
		},
		{
			name:  "loop to itself",
			files: []string{"run/events.out.tfevents.1"},
			links: []link{{"run/self", "."}},
			want:  map[string][]string{"run": {"events.out.tfevents.1"}},
		},
		{
			name:  "two folders linking to each other",
			files: []string{"x/events.out.tfevents.1", "y/events.out.tfevents.2"},
			links: []link{{"x/to_y", "../y"}, {"y/to_x", "../x"}},
			want: map[string][]string{"x": {"events.out.tfevents.1"}, "x/to_y": {"events.out.tfevents.2"},
				"y": {"events.out.tfevents.2"}, "y/to_x": {"events.out.tfevents.1"}},
		},
		{
			name:  "dangling links are skipped",
			files: []string{"run/events.out.tfevents.1"},
			links: []link{{"gone", "nowhere"}, {"run/events.out.tfevents.2", "nowhere"}},
			want:  map[string][]string{"run": {"events.out.tfevents.1"}},
		},
		{
			name:  "folder named like an event file",
			files: []string{"events.out.tfevents.dir/events.out.tfevents.1"},
			want:  map[string][]string{"events.out.tfevents.dir": {"events.out.tfevents.1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(f))
				if strings.HasSuffix(f, "/") {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, l := range tc.links {
				p := filepath.Join(dir, filepath.FromSlash(l.name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.FromSlash(l.target), p); err != nil {
					t.Fatal(err)
				}
			}
			runs, err := WalkLogDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			var names []string
			for _, r := range runs {
				if _, dup := got[r.Name]; dup {
					t.Errorf("run %q listed twice", r.Name)
				}
				names = append(names, r.Name)
				for _, f := range r.Files {
					if _, err := os.Stat(f); err != nil {
						t.Errorf("run %q: file path %s: %v", r.Name, f, err)
					}
					got[r.Name] = append(got[r.Name], filepath.Base(f))
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("runs %v, want %v", got, tc.want)
			}
			if !sortedStrings(names) {
				t.Errorf("runs not sorted by name: %q", names)
			}
		})
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func TestWalkLogDirErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.out.tfevents.1")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dir string }{
		{"missing", filepath.Join(dir, "nope")},
		{"a file", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runs, err := WalkLogDir(tc.dir); err == nil {
				t.Errorf("WalkLogDir(%s) = %v, no error", tc.dir, runs)
			}
		})
	}
}
