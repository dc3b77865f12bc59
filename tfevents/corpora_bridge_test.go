package tfevents_test

import (
	"testing"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

func init() {
	tfevents.Corpora.Generated = func(tb testing.TB) [][]byte {
		tb.Helper()
		return tfeventstest.Generate(tb).ReadFiles(tb)
	}
	tfevents.Corpora.Real = func(tb testing.TB) [][]byte {
		tb.Helper()
		return tfeventstest.Real(tb).ReadFiles(tb)
	}
	tfevents.Corpora.RealIfPresent = func(tb testing.TB) [][]byte {
		tb.Helper()
		if c := tfeventstest.RealIfPresent(tb); c != nil {
			return c.ReadFiles(tb)
		}
		return nil
	}
	tfevents.Corpora.Bench = func(tb testing.TB) ([][]byte, string) {
		tb.Helper()
		if c, err := tfeventstest.LoadReal(); err == nil {
			return c.ReadFiles(tb), "real"
		}
		return tfeventstest.Generate(tb).ReadFiles(tb), "generated"
	}
}
