package tfevents

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// Report is the result of Inspect: what `tbhost inspect --json` prints.
type Report struct {
	Files []FileReport `json:"files"`
}

// FileReport describes one event file.
type FileReport struct {
	Path       string      `json:"path"` // relative to the inspected log dir, "/"-separated
	Run        string      `json:"run"`  // its folder relative to the log dir ("." for the root)
	Size       int64       `json:"size"`
	Records    int         `json:"records"`
	Truncated  bool        `json:"truncated"`
	Corrupt    bool        `json:"corrupt"`
	BadRecords int         `json:"bad_records"`
	Offset     int64       `json:"offset"` // just past the last whole record
	Tags       []TagReport `json:"tags"`   // sorted by tag
	Warnings   []string    `json:"warnings,omitempty"`
	// Error is set when the file could not be read at all (or reading
	// stopped on an error other than corruption).
	Error string `json:"error,omitempty"`
}

// TagReport describes one tag of one file. Min, Max and Last are over the
// finite values of a scalar tag (Last: the last finite one in file order).
type TagReport struct {
	Tag       string   `json:"tag"`
	Plugin    string   `json:"plugin"`
	Count     int      `json:"count"`
	MinStep   int64    `json:"min_step"`
	MaxStep   int64    `json:"max_step"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Last      *float64 `json:"last,omitempty"`
	NonFinite int      `json:"nonfinite,omitempty"`
}

// Inspect builds the report of path: a log dir (every event file under it,
// sorted by path) or one file.
func Inspect(path string) (*Report, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		fr := InspectFile(path)
		fr.Path, fr.Run = filepath.Base(path), "."
		return &Report{Files: []FileReport{fr}}, nil
	}
	runs, err := WalkLogDir(path)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoEventFiles)
	}
	type job struct{ run, file string }
	var big, small []job
	for _, run := range runs {
		for _, f := range run.Files {
			j := job{run.Name, f}
			if fi, err := os.Stat(f); err == nil && fi.Size() >= DefaultPipelineAfter {
				big = append(big, j)
			} else {
				small = append(small, j)
			}
		}
	}
	rep := &Report{Files: make([]FileReport, 0, len(big)+len(small))}
	inspect := func(j job) FileReport {
		fr := InspectFile(j.file)
		fr.Run = j.run
		fr.Path = filepath.Base(j.file)
		if j.run != "." {
			fr.Path = j.run + "/" + fr.Path
		}
		return fr
	}
	// A big file is read one at a time: its Scanner keeps both cores of a
	// 2-core machine busy (framing on one, decoding on the other). Small
	// files (a sweep's) never pipeline: they are read several at a time.
	for _, j := range big {
		rep.Files = append(rep.Files, inspect(j))
	}
	frs := make([]FileReport, len(small))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(len(small), max(2, runtime.GOMAXPROCS(0))) {
		wg.Go(func() {
			for i := range next {
				frs[i] = inspect(small[i])
			}
		})
	}
	for i := range small {
		next <- i
	}
	close(next)
	wg.Wait()
	rep.Files = append(rep.Files, frs...)
	// In path order, as reading them one by one in walk order gives.
	sort.SliceStable(rep.Files, func(i, j int) bool { return rep.Files[i].Path < rep.Files[j].Path })
	return rep, nil
}

// ErrNoEventFiles is returned by Inspect for a dir without event files.
var ErrNoEventFiles = errors.New("no event files (names containing \"tfevents\") found")

type tagAcc struct {
	TagReport
	first          string // plugin of the first value
	min, max, last float64
	finite         int
	next           *tagAcc // the tag that followed this one last time
}

// InspectFile reports on one event file; Path and Run are left for the
// caller to fill in. Errors are reported in the FileReport.
func InspectFile(name string) FileReport {
	fr := FileReport{Tags: []TagReport{}}
	f, err := os.Open(name)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		fr.Size = fi.Size()
	}
	plugins := map[string]string{}
	sc := NewScanner(f, Options{Plugins: plugins})
	defer sc.Close()
	tags := map[string]*tagAcc{}
	var last *tagAcc // tags come in a fixed cycle: the one after it last time
	for sc.Scan() {
		v := sc.Value()
		if v.Kind == KindSessionStart {
			continue
		}
		var t *tagAcc
		switch {
		case last != nil && last.next != nil && last.next.Tag == v.Tag:
			t = last.next
		case last != nil && last.Tag == v.Tag:
			t = last
		default:
			t = tags[v.Tag]
			if t == nil {
				t = &tagAcc{TagReport: TagReport{Tag: v.Tag, MinStep: v.Step, MaxStep: v.Step}, first: v.Plugin}
				tags[v.Tag] = t
			}
			if last != nil {
				last.next = t
			}
		}
		last = t
		t.Count++
		t.MinStep = min(t.MinStep, v.Step)
		t.MaxStep = max(t.MaxStep, v.Step)
		if v.Kind == KindScalar {
			x := v.Scalar
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.NonFinite++
				continue
			}
			if t.finite == 0 {
				t.min, t.max = x, x
			}
			t.min, t.max, t.last = min(t.min, x), max(t.max, x), x
			t.finite++
		}
	}
	st := sc.Stats()
	fr.Records, fr.BadRecords, fr.Truncated, fr.Corrupt, fr.Offset, fr.Warnings = st.Records, st.BadRecords, st.Truncated, st.Corrupt, st.Offset, st.Warnings
	if err := sc.Err(); err != nil && !errors.Is(err, ErrCorrupt) {
		fr.Error = err.Error()
	}
	for _, t := range tags {
		r := t.TagReport
		r.Plugin = t.first
		if p, ok := plugins[t.Tag]; ok {
			r.Plugin = p
		}
		if t.finite > 0 {
			r.Min, r.Max, r.Last = &t.min, &t.max, &t.last
		}
		fr.Tags = append(fr.Tags, r)
	}
	sort.Slice(fr.Tags, func(i, j int) bool { return fr.Tags[i].Tag < fr.Tags[j].Tag })
	return fr
}
