package tfevents

import (
	"bytes"
	"fmt"
	"testing"
)

// TestFastPathMatchesSlow decodes each corpus, and generated scalar files,
// with the fast paths (decodeOneValue, valueFast) and without them, and
// compares every Value. The fast path must actually run: a fast path that
// declined every value would make the comparison vacuous.
func TestFastPathMatchesSlow(t *testing.T) {
	for _, c := range corpusRuns {
		t.Run(c.name, func(t *testing.T) {
			files := c.files(t)
			if c.name == "generated" {
				files = append(files, genScalars(50, 7, false), genScalars(50, 7, true), mixedFile(t))
			} else if raceEnabled || testing.Short() {
				files = sample(files, 8) // `make test` also runs this test without -race
			}
			if err := checkFastPath(files); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFastPathCheckDetectsABrokenFastPath: with the fast path switched
// off, the check TestFastPathMatchesSlow makes fails.
func TestFastPathCheckDetectsABrokenFastPath(t *testing.T) {
	files := append(Corpora.Generated(t), genScalars(50, 7, false), genScalars(50, 7, true))
	if err := checkFastPath(files); err != nil {
		t.Fatalf("with the fast path on: %v", err)
	}
	breakFastPath = true
	defer func() { breakFastPath = false }()
	if err := checkFastPath(files); err == nil {
		t.Fatal("with the fast path off, the check passes")
	}
}

// sample keeps every n-th file.
func sample(files [][]byte, n int) [][]byte {
	var out [][]byte
	for i := 0; i < len(files); i += n {
		out = append(out, files[i])
	}
	return out
}

// checkFastPath decodes every record of files with a default Decoder and
// with one whose fast paths are off, and reports the first difference, or
// that valueFast decoded no value at all.
func checkFastPath(files [][]byte) error {
	fastHits := 0
	for i, f := range files {
		fast, slow := NewDecoder(nil), NewDecoder(nil)
		slow.slow = true
		r := NewReader(bytes.NewReader(f), Options{})
		for {
			p, err := r.Next()
			if err != nil {
				if r.err != nil || r.Offset() == int64(len(f)) || r.Truncated() {
					break
				}
				continue
			}
			fv, ferr := fast.Decode(p)
			sv, serr := slow.Decode(p)
			if (ferr == nil) != (serr == nil) || len(fv) != len(sv) {
				return fmt.Errorf("file %d record at %d: %v / %v, %d / %d values", i, r.RecordOffset(), ferr, serr, len(fv), len(sv))
			}
			for j := range fv {
				if a, b := fmt.Sprintf("%+v", fv[j]), fmt.Sprintf("%+v", sv[j]); a != b {
					return fmt.Errorf("file %d record at %d value %d:\n fast %s\n slow %s", i, r.RecordOffset(), j, a, b)
				}
			}
		}
		if !equalPlugins(fast.Plugins(), slow.Plugins()) {
			return fmt.Errorf("file %d: plugins %v / %v", i, fast.Plugins(), slow.Plugins())
		}
		if slow.fastHit != 0 {
			return fmt.Errorf("file %d: the slow decoder took the fast path %d times", i, slow.fastHit)
		}
		fastHits += fast.fastHit
	}
	if fastHits == 0 {
		return fmt.Errorf("valueFast decoded none of the values of %d files: the fast path is off", len(files))
	}
	return nil
}

func equalPlugins(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
