package tfevents

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestZZRatio(t *testing.T) {
	if os.Getenv("RATIO") == "" {
		t.Skip()
	}
	for _, tf2 := range []bool{false, true} {
		data := genScalars(50_000, 10, tf2)
		frame := func() {
			r := NewReader(bytes.NewReader(data), Options{})
			for {
				_, err := r.Next()
				if err == io.EOF || (err != nil && !errors.Is(err, ErrBadRecord)) {
					break
				}
			}
		}
		var sum float64
		scan := func() {
			s := NewScanner(bytes.NewReader(data), Options{})
			for s.Scan() {
				sum += s.Value().Scalar
			}
		}
		best := func(f func()) time.Duration {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b := time.Hour
			for i := 0; i < 15; i++ {
				st := threadCPU()
				f()
				if d := threadCPU() - st; d < b {
					b = d
				}
			}
			return b
		}
		var fb, sb time.Duration = time.Hour, time.Hour
		for i := 0; i < 3; i++ {
			fb = min(fb, best(frame))
			sb = min(sb, best(scan))
		}
		ev := 500_000.0
		t.Logf("tf2=%v frame %.1f ns/ev %.0f MB/s, scan %.1f ns/ev %.0f MB/s, ratio %.2f", tf2,
			float64(fb.Nanoseconds())/ev, float64(len(data))/fb.Seconds()/1e6,
			float64(sb.Nanoseconds())/ev, float64(len(data))/sb.Seconds()/1e6, fb.Seconds()/sb.Seconds())
	}
}

func BenchmarkZZScanTF1(b *testing.B) {
	data := genScalars(50_000, 10, false)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var sum float64
	for b.Loop() {
		s := NewScanner(bytes.NewReader(data), Options{})
		for s.Scan() {
			sum += s.Value().Scalar
		}
	}
}
func BenchmarkZZScanTF2(b *testing.B) {
	data := genScalars(50_000, 10, true)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var sum float64
	for b.Loop() {
		s := NewScanner(bytes.NewReader(data), Options{})
		for s.Scan() {
			sum += s.Value().Scalar
		}
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchPayload(b *testing.B, tf2 bool) {
	data := genScalars(2, 10, tf2)
	r := NewReader(bytes.NewReader(data), Options{})
	r.Next()
	var ps [][]byte
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		ps = append(ps, append([]byte(nil), p...))
	}
	d := NewDecoder(nil)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d.Decode(ps[i%len(ps)])
		i++
	}
}
func BenchmarkZZPayloadTF1(b *testing.B) { benchPayload(b, false) }
func BenchmarkZZPayloadTF2(b *testing.B) { benchPayload(b, true) }
