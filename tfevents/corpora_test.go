package tfevents

import "testing"

// Corpora hands this package's internal tests the event-file corpora of
// tfevents/tfeventstest, which they cannot import (it imports tfevents):
// corpora_bridge_test.go, an external test file, fills it in before any
// test runs. Each func returns the contents of every event file.
var Corpora struct {
	// Generated: the generated corpus, written into a temp dir.
	Generated func(testing.TB) [][]byte
	// Real: the real corpus (../shared/fixtures). It skips the test when
	// the corpus is absent, and fails it under CI=true.
	Real func(testing.TB) [][]byte
	// RealIfPresent: the real corpus, or nil when absent (a failure under
	// CI=true). For extras such as fuzz seeds.
	RealIfPresent func(testing.TB) [][]byte
	// Bench: the real corpus when present, else the generated one (never
	// skips), and which it is.
	Bench func(testing.TB) (files [][]byte, name string)
}

// corpusRuns are the corpora a corpus-wide internal test runs on:
// generated always, real when present.
var corpusRuns = []struct {
	name  string
	files func(testing.TB) [][]byte
}{
	{"generated", func(tb testing.TB) [][]byte { tb.Helper(); return Corpora.Generated(tb) }},
	{"real", func(tb testing.TB) [][]byte { tb.Helper(); return Corpora.Real(tb) }},
}
