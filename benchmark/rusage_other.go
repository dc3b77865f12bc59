//go:build !linux

package benchmark

// maxRSS is not measured on this system.
func maxRSS() uint64 { return 0 }
