// Package tfeventstest gives tests the event-file corpora they run on, so
// that every test of the project can run on a plain clone.
//
// There are two corpora, described by the same type, Corpus:
//
//   - the real corpus (Real, RealIfPresent): the event files in
//     ../shared/fixtures/real, written by real frameworks, with their
//     expected `tbhost inspect --json` report (expected.json, decoded once
//     per process). The folder is found beside the module root (the folder
//     holding go.mod, found by walking up from the working directory), or
//     at $TBHOST_FIXTURES when that is set (set TBHOST_FIXTURES=/nonexistent
//     to run the tests as on a plain clone). When the corpus is missing,
//     Real skips the test — except when CI=true, where it fails the test:
//     a CI run never silently skips the real corpus.
//
//   - the generated corpus (Generate, Write): a log dir written at test time
//     by the project's own tfevents.Writer, holding every form of event
//     file seen in the wild (TF1, TF2, Keras, PyTorch and tensorboardX
//     forms of scalars, histograms, images, audio, text, pr_curves, hparams
//     and graphs; SessionLog START and restarts; a truncated tail, bad
//     payload and length CRCs, an undecodable record, 0-byte, header-only
//     and version-less files; odd run names). Its Corpus.Files are the
//     expected inspect facts, computed from what the generator wrote, not
//     by parsing the files, so tests can assert against them exactly as
//     against expected.json.
//
// A test that needs real files should take the real corpus and have a
// counterpart on the generated one, usually by running the same checks over
// both:
//
//	for _, c := range []struct{ name string; get func(testing.TB) *tfeventstest.Corpus }{
//		{"generated", tfeventstest.Generate}, {"real", tfeventstest.Real},
//	} {
//		t.Run(c.name, func(t *testing.T) { check(t, c.get(t)) })
//	}
//
// The package tfevents cannot import this package in its own (internal)
// test files, as this package imports tfevents; its external tests
// (package tfevents_test) can.
package tfeventstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// EnvFixtures names the environment variable that, when set, is the path
// of the real corpus (the folder holding expected.json and real/) instead
// of ../shared/fixtures beside the module root.
const EnvFixtures = "TBHOST_FIXTURES"

// Corpus is a log dir of event files and what `tbhost inspect --json` must
// report about each of them.
type Corpus struct {
	// Root is the corpus folder: for the real corpus, the fixtures folder
	// (holding expected.json and real/); for a generated one, the log dir.
	Root string
	// LogDir is the log dir: the folder to walk, inspect or upload.
	LogDir string
	// Files are the expected inspect facts of every event file under
	// LogDir, sorted by Path: the "files" of expected.json.
	Files []File
	// Generated is true for a corpus written by Generate or Write.
	Generated bool
}

// File is what `tbhost inspect --json` reports about one event file (the
// schema of expected.json; floats compare with relative tolerance 1e-6,
// see AlmostEqual).
type File struct {
	// Path is relative to the log dir, "/"-separated.
	Path string `json:"path"`
	// Run is the file's folder relative to the log dir, "." for the root.
	Run string `json:"run"`
	// Records counts records with valid framing and CRCs that decoded as an Event.
	Records int `json:"records"`
	// Truncated: the file ends inside a record.
	Truncated bool `json:"truncated"`
	// Corrupt: a length CRC failed; the rest of the file cannot be framed.
	Corrupt bool `json:"corrupt"`
	// BadRecords counts records skipped: payload CRC mismatch or undecodable Event.
	BadRecords int `json:"bad_records"`
	// Tags are sorted by tag.
	Tags []Tag `json:"tags"`
	// Form says, for a generated file, which writer or defect it imitates
	// (e.g. "pytorch", "truncated tail"); "" for the real corpus.
	Form string `json:"-"`
}

// Tag is what inspect reports about one tag of one file.
type Tag struct {
	Tag string `json:"tag"`
	// Plugin is the plugin of the tag's first metadata in the file, else
	// that of its first value's kind (simple_value: scalars, histo:
	// histograms, image: images, audio: audio), else "".
	Plugin string `json:"plugin"`
	// Count counts every value of the tag in the file.
	Count   int   `json:"count"`
	MinStep int64 `json:"min_step"`
	MaxStep int64 `json:"max_step"`
	// Min, Max and Last are over the finite values of a scalar tag (Last:
	// the last finite one in file order); nil otherwise.
	Min  *float64 `json:"min"`
	Max  *float64 `json:"max"`
	Last *float64 `json:"last"`
	// NonFinite counts the NaN and ±Inf values of a scalar tag.
	NonFinite int `json:"nonfinite"`
}

// Path returns the path on disk of f, a file of c.
func (c *Corpus) Path(f File) string { return filepath.Join(c.LogDir, filepath.FromSlash(f.Path)) }

// File returns the file of c whose Path is path.
func (c *Corpus) File(path string) (File, bool) {
	i := slices.IndexFunc(c.Files, func(f File) bool { return f.Path == path })
	if i < 0 {
		return File{}, false
	}
	return c.Files[i], true
}

// Runs returns the runs of c (the distinct File.Run), sorted.
func (c *Corpus) Runs() []string {
	var runs []string
	for _, f := range c.Files {
		runs = append(runs, f.Run)
	}
	slices.Sort(runs)
	return slices.Compact(runs)
}

// ReadFiles returns the contents of c's files, in the order of c.Files.
func (c *Corpus) ReadFiles(tb testing.TB) [][]byte {
	tb.Helper()
	out := make([][]byte, len(c.Files))
	for i, f := range c.Files {
		b, err := os.ReadFile(c.Path(f))
		if err != nil {
			tb.Fatalf("tfeventstest: reading corpus file: %v", err)
		}
		out[i] = b
	}
	return out
}

// AlmostEqual reports whether two floats of an inspect report agree: equal,
// or within a relative tolerance of 1e-6.
func AlmostEqual(a, b float64) bool {
	if a == b {
		return true
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	m := max(a, -a, b, -b)
	return d <= 1e-6*m
}

// LoadReal returns the real corpus, or an error (wrapping fs.ErrNotExist
// when it is absent). It neither skips nor fails: for benchmarks, which
// fall back to the generated corpus.
func LoadReal() (*Corpus, error) { return loadReal() }

// Real returns the real corpus. When it is missing, it skips the test (or,
// under CI=true, fails it).
func Real(tb testing.TB) *Corpus {
	tb.Helper()
	c, err := loadReal()
	if err != nil {
		missing(tb, err)
		return nil // not reached: missing stops the test
	}
	return c
}

// RealIfPresent returns the real corpus, or nil when it is missing (under
// CI=true a missing corpus fails the test). For optional extras such as
// fuzz seeds.
func RealIfPresent(tb testing.TB) *Corpus {
	tb.Helper()
	c, err := loadReal()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) || inCI() {
			missing(tb, err)
		}
		return nil
	}
	return c
}

// RealDir returns the folder where the real corpus is looked for:
// $TBHOST_FIXTURES, else ../shared/fixtures beside the module root. It does
// not check that the folder exists.
func RealDir() (string, error) {
	if d := os.Getenv(EnvFixtures); d != "" {
		return d, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "fixtures"), nil
}

func inCI() bool { return os.Getenv("CI") == "true" }

func missing(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("CI requires ../shared/fixtures (the real event-file corpus; or set %s): %v", EnvFixtures, err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("real corpus absent (clone the shared fixtures beside the repo as ../shared/fixtures, or set %s); the generated corpus covers the same forms: %v", EnvFixtures, err)
	}
	tb.Fatalf("real corpus unusable: %v", err)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("tfeventstest: finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("tfeventstest: no go.mod above the working directory: %w", fs.ErrNotExist)
		}
		dir = parent
	}
}

// loaded caches the decoded real corpus per folder: expected.json is read
// and decoded once per process.
var loaded sync.Map // dir -> func() (*Corpus, error)

func loadReal() (*Corpus, error) {
	dir, err := RealDir()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tfeventstest: real corpus: %w", err)
	}
	f, _ := loaded.LoadOrStore(dir, sync.OnceValues(func() (*Corpus, error) { return decodeReal(dir) }))
	c, err := f.(func() (*Corpus, error))()
	if err != nil {
		return nil, err
	}
	cp := *c // callers may not change the cached one
	cp.Files = slices.Clone(c.Files)
	return &cp, nil
}

func decodeReal(dir string) (*Corpus, error) {
	logDir := filepath.Join(dir, "real")
	if fi, err := os.Stat(logDir); err != nil {
		return nil, fmt.Errorf("tfeventstest: real corpus log dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("tfeventstest: real corpus log dir %s is not a directory", logDir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		return nil, fmt.Errorf("tfeventstest: real corpus: %w", err)
	}
	var exp struct {
		Files []File `json:"files"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		return nil, fmt.Errorf("tfeventstest: decoding %s: %w", filepath.Join(dir, "expected.json"), err)
	}
	if len(exp.Files) == 0 {
		return nil, fmt.Errorf("tfeventstest: %s lists no files", filepath.Join(dir, "expected.json"))
	}
	return &Corpus{Root: dir, LogDir: logDir, Files: exp.Files}, nil
}
