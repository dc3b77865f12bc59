//go:build !race

package sampler

const (
	raceEnabled = false
	raceScale   = 1
)
