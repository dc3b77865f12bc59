//go:build race

package engine

// raceEnabled: the race detector slows tests ten times; the biggest
// shrink under it, and make test runs them in full without it.
const raceEnabled = true
