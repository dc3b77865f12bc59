package sampler

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tbhost/tfevents"
)

// TestRealFixtures feeds the real event files (shared/fixtures/real; every
// folder holding event files is a run, files in name order) through the
// tfevents Scanner into a Run per folder and checks the Run against the
// reference model: every reported value is live, stats are exact. The corpus
// has SessionLog STARTs (criteo-research__tf-tile) and steps that go back.
func TestRealFixtures(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "fixtures", "real")
	runs := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Type().IsRegular() && containsTfevents(d.Name()) {
			runs[filepath.Dir(p)] = append(runs[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatalf("no event files under %s", root)
	}
	dirs := make([]string, 0, len(runs))
	for d := range runs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	var starts, backs, scalars, items int
	for _, dir := range dirs {
		files := runs[dir]
		slices.Sort(files)
		r := NewRun(Config{MaxBuckets: 1 << 20, Samples: map[string]int{"scalars": 100}})
		m := newModel()
		plugins := map[string]string{}
		maxStep := map[string]int64{}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := tfevents.NewScanner(fh, tfevents.Options{Plugins: plugins})
			defer sc.Close()
			for sc.Scan() {
				v := sc.Value()
				tag := strings.Clone(v.Tag) // the model keeps it
				var o op
				switch v.Kind {
				case tfevents.KindSessionStart:
					o = op{start: true, step: v.Step}
					starts++
				case tfevents.KindScalar:
					o = op{tag: tag, step: v.Step, wall: v.WallTime, value: v.Scalar}
					scalars++
				default:
					if v.Tag == "" {
						continue
					}
					o = op{tag: tag, plugin: v.Plugin, step: v.Step, wall: v.WallTime, payload: v.Blob}
					if o.plugin == "" {
						o.plugin = "unknown"
					}
					items++
				}
				if !o.start {
					if s, ok := maxStep[o.tag]; ok && o.step <= s {
						backs++
					}
					maxStep[o.tag] = o.step
				}
				apply(r, o)
				m.apply(o)
			}
			fh.Close()
		}
		checkAgainstModel(t, r, m, true)
	}
	t.Logf("%d runs: %d scalars, %d items, %d START, %d step repeats/backs", len(dirs), scalars, items, starts, backs)
	if starts == 0 || backs == 0 || scalars == 0 {
		t.Fatal("the corpus should exercise STARTs and preemption")
	}
}

func containsTfevents(name string) bool { return strings.Contains(name, "tfevents") }
