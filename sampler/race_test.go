//go:build race

package sampler

// The race detector slows the tests ~10x: the long ones run on smaller
// inputs (same checks). They (TestPreemptionRandom, TestQueryAlignedColumns,
// TestSpike, TestChunkedResume) also run in full, without -race, from the
// Makefile's `test` recipe: a new one must be added to its -run list.
const (
	raceEnabled = true
	raceScale   = 4
)
