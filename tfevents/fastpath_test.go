package tfevents

import (
	"bytes"
	"fmt"
	"testing"
)

// TestFastPathMatchesSlow decodes the fixtures and generated files with and
// without valueFast and compares every Value.
func TestFastPathMatchesSlow(t *testing.T) {
	files := readFixtures(t)
	files = append(files, genScalars(50, 7, false), genScalars(50, 7, true), mixedFile(t))
	fastHits := 0
	for i, f := range files {
		if (raceEnabled || testing.Short()) && i%8 != 0 && i < len(files)-3 {
			continue
		}
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
				t.Fatalf("file %d record at %d: %v / %v, %d / %d values", i, r.RecordOffset(), ferr, serr, len(fv), len(sv))
			}
			for j := range fv {
				if a, b := fmt.Sprintf("%+v", fv[j]), fmt.Sprintf("%+v", sv[j]); a != b {
					t.Fatalf("file %d record at %d value %d:\n fast %s\n slow %s", i, r.RecordOffset(), j, a, b)
				}
				if fv[j].Kind == KindScalar {
					fastHits++
				}
			}
		}
		if !equalPlugins(fast.Plugins(), slow.Plugins()) {
			t.Fatalf("file %d: plugins %v / %v", i, fast.Plugins(), slow.Plugins())
		}
	}
	if fastHits == 0 {
		t.Fatal("no scalars")
	}
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
