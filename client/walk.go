package client

import (
	"fmt"
	"os"
	"path/filepath"

	"tbhost/tfevents"
)

// LocalFile is one event file of a log dir.
type LocalFile struct {
	Run  string // the run: its folder relative to the log dir, "/"-separated, "." for the root
	File string // the file's base name
	Path string // its path on disk
}

// WalkFunc lists the event files of a log dir, runs in name order and
// files in name order within a run.
type WalkFunc func(dir string) ([]LocalFile, error)

// WalkLogDir finds the event files of a log dir: a run is a folder directly
// holding files whose base name contains "tfevents"; its name is the folder
// relative to dir, its folder names joined with "/" ("." for dir itself; a
// backslash in a folder name stays in the run name). Symbolic links to
// folders and files are followed, as TensorBoard follows them; a link that
// loops back to a folder on its own path is skipped (tfevents.WalkLogDir).
func WalkLogDir(dir string) ([]LocalFile, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("log dir %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("log dir %s is not a directory: pass the directory you gave tensorboard --logdir", dir)
	}
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		return nil, fmt.Errorf("log dir %s: %w", dir, err)
	}
	var out []LocalFile
	for _, r := range runs {
		for _, p := range r.Files {
			out = append(out, LocalFile{Run: r.Name, File: filepath.Base(p), Path: p})
		}
	}
	return out, nil
}
