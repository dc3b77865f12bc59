//go:build race

// Tests that shrink under -race (TestFastPathMatchesSlow,
// TestPipelineMatchesPlain*) also run in full, without -race, from the
// Makefile's `test` recipe: a new one must be added to its -run list.

package tfevents

const raceEnabled = true
