package tfevents_test

import (
	"testing"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// corpora are the corpora the corpus-wide tests run on: the generated one
// always, the real one when present (it skips otherwise, and fails under
// CI=true).
var corpora = []struct {
	name string
	get  func(testing.TB) *tfeventstest.Corpus
}{
	{"generated", tfeventstest.Generate},
	{"real", tfeventstest.Real},
}

// TestInspectCorpus: Inspect of a corpus' log dir reports every event file,
// sorted by path, with the facts the corpus expects (expected.json for the
// real corpus, what the generator wrote for the generated one).
func TestInspectCorpus(t *testing.T) {
	for _, c := range corpora {
		t.Run(c.name, func(t *testing.T) {
			corpus := c.get(t)
			rep, err := tfevents.Inspect(corpus.LogDir)
			if err != nil {
				t.Fatalf("Inspect(%s): %v", corpus.LogDir, err)
			}
			for _, fr := range rep.Files {
				if fr.Error != "" {
					t.Errorf("%s: error %s", fr.Path, fr.Error)
				}
			}
			for _, d := range tfeventstest.Diff(tfeventstest.FromReport(rep), corpus.Files) {
				t.Error(d)
			}
		})
	}
}

// TestInspectOneFile: Inspect of a single file reports it alone, as run ".",
// with the same facts as within its log dir.
func TestInspectOneFile(t *testing.T) {
	corpus := tfeventstest.Generate(t)
	for _, want := range corpus.Files {
		t.Run(want.Path, func(t *testing.T) {
			rep, err := tfevents.Inspect(corpus.Path(want))
			if err != nil {
				t.Fatal(err)
			}
			got := tfeventstest.FromReport(rep)
			if len(got) != 1 || got[0].Run != "." {
				t.Fatalf("got %+v, want one file in run \".\"", got)
			}
			want.Run, want.Path = ".", got[0].Path
			for _, d := range tfeventstest.DiffFile(got[0], want) {
				t.Error(d)
			}
		})
	}
}
