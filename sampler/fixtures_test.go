package sampler

import (
	"os"
	"strings"
	"testing"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// TestCorpus feeds each corpus (the generated one; the real one,
// shared/fixtures/real, when present) through the tfevents Scanner into a
// Run per run of the log dir (files in name order) and checks the Run
// against the reference model: every reported value is live, stats are
// exact. Both corpora have SessionLog STARTs and steps that go back (a
// restart; the real one in criteo-research__tf-tile).
func TestCorpus(t *testing.T) {
	for _, c := range []struct {
		name string
		get  func(testing.TB) *tfeventstest.Corpus
	}{{"generated", tfeventstest.Generate}, {"real", tfeventstest.Real}} {
		t.Run(c.name, func(t *testing.T) { checkCorpus(t, c.get(t)) })
	}
}

func checkCorpus(t *testing.T, corpus *tfeventstest.Corpus) {
	runs, err := tfevents.WalkLogDir(corpus.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(corpus.Runs()) {
		t.Fatalf("%d runs under %s, the corpus has %d", len(runs), corpus.LogDir, len(corpus.Runs()))
	}
	var starts, backs, scalars, items int
	for _, run := range runs {
		files := run.Files
		r := NewRun(Config{MaxBuckets: 1 << 20, Samples: map[string]int{"scalars": 100}})
		m := newModel()
		plugins := map[string]string{}
		maxStep := map[string]int64{}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatalf("run %s: %v", run.Name, err)
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
	t.Logf("%d runs: %d scalars, %d items, %d START, %d step repeats/backs", len(runs), scalars, items, starts, backs)
	if starts == 0 || backs == 0 || scalars == 0 {
		t.Fatal("the corpus should exercise STARTs and preemption")
	}
}
