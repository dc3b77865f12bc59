package tfevents

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Run is a folder of a log dir that directly holds event files.
type Run struct {
	// Name is the folder relative to the log dir, "/"-separated, "." for
	// the root.
	Name string
	// Files are the run's event files (dir-joined paths), sorted by base name.
	Files []string
}

// IsEventFile reports whether a base name names an event file (it contains
// "tfevents").
func IsEventFile(base string) bool { return strings.Contains(base, "tfevents") }

// WalkLogDir finds the runs of the log dir dir: the folders directly holding
// regular files whose base name contains "tfevents". Runs are sorted by name.
func WalkLogDir(dir string) ([]Run, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsEventFile(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() {
			fi, err := os.Stat(p) // follow a symlink
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		name := path.Clean(filepath.ToSlash(rel))
		byDir[name] = append(byDir[name], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	runs := make([]Run, 0, len(byDir))
	for name, files := range byDir {
		sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
		runs = append(runs, Run{Name: name, Files: files})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	return runs, nil
}
