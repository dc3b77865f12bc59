package tfevents

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Run is a folder of a log dir that directly holds event files.
type Run struct {
	// Name is the folder relative to the log dir: its folder names joined
	// with "/", "." for the root. A folder name is kept as it is (a
	// backslash in it stays part of the name).
	Name string
	// Files are the run's event files (dir-joined paths), sorted by base name.
	Files []string
}

// IsEventFile reports whether a base name names an event file (it contains
// "tfevents").
func IsEventFile(base string) bool { return strings.Contains(base, "tfevents") }

// WalkLogDir finds the runs of the log dir dir: the folders directly holding
// regular files whose base name contains "tfevents". Runs are sorted by name.
//
// Symbolic links are followed, to files and to folders, as TensorBoard
// follows them. A link to a folder that is already on the path leading to
// it (a loop, such as a link to the log dir itself or to a parent) is
// skipped, so a loop neither hangs the walk nor repeats runs; two links to
// one folder elsewhere give two runs, each named after its own path.
// Dangling links and entries that cannot be stat'ed are skipped; an
// unreadable folder is an error.
func WalkLogDir(dir string) ([]Run, error) {
	root, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("walking log dir: %w", err)
	}
	if !root.IsDir() {
		return nil, fmt.Errorf("walking log dir %s: not a directory", dir)
	}
	w := walker{byDir: map[string][]string{}}
	if err := w.walk(dir, nil, []os.FileInfo{root}); err != nil {
		return nil, err
	}
	runs := make([]Run, 0, len(w.byDir))
	for name, files := range w.byDir {
		sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
		runs = append(runs, Run{Name: name, Files: files})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	return runs, nil
}

type walker struct {
	byDir map[string][]string // run name -> event file paths
}

// walk lists the folder p, whose names relative to the log dir are segs,
// and whose ancestors (itself last) are stack.
func (w *walker) walk(p string, segs []string, stack []os.FileInfo) error {
	entries, err := os.ReadDir(p)
	if err != nil {
		return fmt.Errorf("walking log dir: %w", err)
	}
	for _, e := range entries {
		child := filepath.Join(p, e.Name())
		isDir, isRegular := e.IsDir(), e.Type().IsRegular()
		var fi os.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err = os.Stat(child); err != nil {
				continue // dangling or unreadable link
			}
			isDir, isRegular = fi.IsDir(), fi.Mode().IsRegular()
		}
		switch {
		case isDir:
			if fi == nil {
				if fi, err = e.Info(); err != nil {
					continue // removed while we walk
				}
			}
			if onStack(stack, fi) {
				continue // a loop
			}
			if err := w.walk(child, append(segs[:len(segs):len(segs)], e.Name()), append(stack[:len(stack):len(stack)], fi)); err != nil {
				return err
			}
		case isRegular && IsEventFile(e.Name()):
			name := "."
			if len(segs) > 0 {
				name = strings.Join(segs, "/")
			}
			w.byDir[name] = append(w.byDir[name], child)
		}
	}
	return nil
}

func onStack(stack []os.FileInfo, fi os.FileInfo) bool {
	for _, s := range stack {
		if os.SameFile(s, fi) {
			return true
		}
	}
	return false
}
