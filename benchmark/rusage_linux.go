package benchmark

import "syscall"

// maxRSS returns getrusage(RUSAGE_SELF).ru_maxrss in bytes: the process's
// peak resident set size since it started (0 when unknown).
func maxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) << 10 // kilobytes on Linux
}
