//go:build !unix

package sampler

func cpuNanos() int64 { return 0 }
