//go:build race

package sampler

// The race detector slows the tests ~10x: the long ones run on smaller
// inputs (same checks).
const (
	raceEnabled = true
	raceScale   = 4
)
