//go:build race

// Tests that shrink under -race (TestCorpusEndToEnd: the real corpus on
// the memory store only) also run in full, without -race, from the
// Makefile's `test` recipe: a new one must be added to its -run list.

package hosting_test

const raceEnabled = true
