//go:build race

package tfevents

const raceEnabled = true
