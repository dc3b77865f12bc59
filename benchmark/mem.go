package benchmark

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memPeak is the peak memory seen during one phase.
type memPeak struct {
	// HeapInuse is the peak of the heap's in-use spans (objects plus the
	// free space in their spans), sampled.
	HeapInuse uint64
	// RSS is the peak resident set size: the kernel's high-water mark
	// (VmHWM) when it could be reset at the start of the phase, else the
	// peak of the sampled RSS.
	RSS uint64
	// HWM says RSS is the kernel's high-water mark.
	HWM bool
}

// memSampler samples heap and RSS every interval until stopped.
type memSampler struct {
	stop    chan struct{}
	done    sync.WaitGroup
	start   memPeak // the first sample, after the collection
	peak    memPeak
	samples []metrics.Sample
}

const memInterval = 5 * time.Millisecond

// startMem collects garbage, resets the kernel's RSS high-water mark and
// starts sampling.
func startMem() *memSampler {
	runtime.GC()
	debug.FreeOSMemory()
	m := &memSampler{stop: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
	m.peak.HWM = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.sample()
	m.start = m.peak
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		t := time.NewTicker(memInterval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	metrics.Read(m.samples)
	var heap uint64
	for _, s := range m.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			heap += s.Value.Uint64()
		}
	}
	m.peak.HeapInuse = max(m.peak.HeapInuse, heap)
	m.peak.RSS = max(m.peak.RSS, currentRSS())
}

// Stop ends sampling and returns the peaks.
func (m *memSampler) Stop() memPeak {
	close(m.stop)
	m.done.Wait()
	m.sample()
	p := m.peak
	if p.HWM {
		if hwm := statusField("VmHWM:"); hwm > 0 {
			p.RSS = max(p.RSS, hwm)
		} else {
			p.HWM = false
		}
	}
	return p
}

// currentRSS reads the resident set size from /proc/self/statm (0 when
// it cannot).
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// statusField reads a "Name:   123 kB" line of /proc/self/status, in bytes.
func statusField(name string) uint64 { return statusFieldOf("/proc/self/status", name) }

// statusFieldOf reads a "Name:   123 kB" line of a /proc file, in bytes.
func statusFieldOf(path, name string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
