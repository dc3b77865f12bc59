package client

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormatBytesLabels(t *testing.T) {
	const (
		ki = int64(1) << (10 * (iota + 1))
		mi
		gi
		ti
		pi
		ei
	)
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{ki*1023 + 972, "1023.9 KiB"},
		{ki*1023 + 973, "1.0 MiB"}, // 1023.95 KiB rounds up: the next unit
		{mi - 1, "1.0 MiB"},
		{5 * mi, "5.0 MiB"},
		{12*mi + 600*ki, "12.6 MiB"},
		{3 * gi, "3.0 GiB"},
		{ti, "1.0 TiB"},
		{1023 * ti, "1023.0 TiB"},
		{pi, "1.0 PiB"},
		{ei, "1.0 EiB"},
		{math.MaxInt64, "8.0 EiB"},
		{-1, "-1 B"},
		{-1536, "-1.5 KiB"},
		{math.MinInt64, "-8.0 EiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatBytes(tt.n); got != tt.want {
				t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

var bytesLabel = regexp.MustCompile(`^(-?)(\d+(?:\.\d)?) (B|KiB|MiB|GiB|TiB|PiB|EiB)$`)

// parseBytes reads a FormatBytes label back: its value and the half-unit
// of its last digit.
func parseBytes(s string) (v, halfUlp float64, err error) {
	m := bytesLabel.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a byte label", s)
	}
	f, _ := strconv.ParseFloat(m[2], 64)
	unit := math.Pow(1024, float64(strings.Index("B  KiBMiBGiBTiBPiBEiB", m[3])/3))
	if m[3] == "B" {
		if strings.Contains(m[2], ".") {
			return 0, 0, fmt.Errorf("%q: bytes with a decimal", s)
		}
	} else {
		if !strings.Contains(m[2], ".") {
			return 0, 0, fmt.Errorf("%q: no decimal", s)
		}
		if f < 1 || f >= 1024 && m[3] != "EiB" {
			return 0, 0, fmt.Errorf("%q: %v is outside [1, 1024) of its unit", s, f)
		}
		halfUlp = 0.05 * unit
	}
	if m[1] == "-" {
		f = -f
	}
	return f * unit, halfUlp, nil
}

// magnitudes returns values of every size from 0 to the largest int64:
// powers of two and their neighbours, powers of ten, and random values of
// every bit length.
func magnitudes() []int64 {
	out := []int64{0, math.MaxInt64}
	for b := range 63 {
		p := int64(1) << b
		out = append(out, p-1, p, p+1, p+p/2)
	}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 {
		out = append(out, p, 3*p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b := 1; b < 63; b++ {
		for range 20 {
			out = append(out, rng.Int64N(int64(1)<<b))
		}
	}
	return out
}

func TestFormatBytesRoundTrip(t *testing.T) {
	for _, n := range magnitudes() {
		for _, n := range []int64{n, -n} {
			label := FormatBytes(n)
			v, half, err := parseBytes(label)
			if err != nil {
				t.Errorf("FormatBytes(%d): %v", n, err)
				continue
			}
			if d := math.Abs(v - float64(n)); d > half*(1+1e-12) {
				t.Errorf("FormatBytes(%d) = %q, which reads back as %.0f: off by %.0f, more than %.0f", n, label, v, d, half)
			}
		}
	}
	if got := FormatBytes(math.MinInt64); got != "-8.0 EiB" {
		t.Errorf("FormatBytes(MinInt64) = %q", got)
	}
}

func TestFormatDurationLabels(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1, "1ns"},
		{999, "999ns"},
		{999_600, "1ms"},
		{1500 * time.Nanosecond, "2µs"},
		{12 * time.Microsecond, "12µs"},
		{999 * time.Microsecond, "999µs"},
		{250 * time.Millisecond, "250ms"},
		{999*time.Millisecond + 400*time.Microsecond, "999ms"},
		{999*time.Millisecond + 600*time.Microsecond, "1.0s"},
		{time.Second, "1.0s"},
		{3240 * time.Millisecond, "3.2s"},
		{9949 * time.Millisecond, "9.9s"},
		{9950 * time.Millisecond, "10s"},
		{42 * time.Second, "42s"},
		{59*time.Second + 600*time.Millisecond, "1m00s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{59*time.Minute + 59*time.Second + 500*time.Millisecond, "1h00m"},
		{2*time.Hour + 10*time.Minute, "2h10m"},
		{23*time.Hour + 59*time.Minute + 30*time.Second, "1d00h"},
		{3*day + 4*time.Hour, "3d04h"},
		{6*day + 23*time.Hour + 30*time.Minute, "1w0d"},
		{2*week + 3*day, "2w3d"},
		{52 * week, "52w0d"},
		{math.MaxInt64, "15250w1d"}, // 15250w1.99d: rounding up would overflow
		{-time.Nanosecond, "-1ns"},
		{-3240 * time.Millisecond, "-3.2s"},
		{-(3*time.Minute + 5*time.Second), "-3m05s"},
		{math.MinInt64, "-15250w1d"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatDuration(tt.d); got != tt.want {
				t.Errorf("FormatDuration(%d) = %q, want %q", int64(tt.d), got, tt.want)
			}
		})
	}
}

var (
	durationLabel = regexp.MustCompile(`^-?(?:\d+(?:ns|µs|ms)|\d\.\ds|\d+s|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh|\d+w\dd)$`)
	durationPart  = regexp.MustCompile(`(\d+(?:\.\d)?)(ns|µs|ms|s|m|h|d|w)`)
	durationUnits = map[string]time.Duration{"ns": time.Nanosecond, "µs": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": day, "w": week}
)

// parseDuration reads a FormatDuration label back: its value and the
// unit of its last digit.
func parseDuration(s string) (v, ulp float64, err error) {
	if s == "0s" {
		return 0, 0, nil
	}
	if !durationLabel.MatchString(s) {
		return 0, 0, fmt.Errorf("%q is not a duration label", s)
	}
	for _, m := range durationPart.FindAllStringSubmatch(s, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		u := float64(durationUnits[m[2]])
		v += f * u
		ulp = u
		if strings.Contains(m[1], ".") {
			ulp = u / 10
		}
	}
	// The second part is below its unit's next one: "3m05s", not "3m65s".
	if p := durationPart.FindAllStringSubmatch(s, -1); len(p) == 2 {
		n, _ := strconv.Atoi(p[1][1])
		if time.Duration(n)*durationUnits[p[1][2]] >= durationUnits[p[0][2]] {
			return 0, 0, fmt.Errorf("%q: %s%s is a whole %s", s, p[1][1], p[1][2], p[0][2])
		}
	}
	if strings.HasPrefix(s, "-") {
		v = -v
	}
	return v, ulp, nil
}

func TestFormatDurationRoundTrip(t *testing.T) {
	for _, n := range magnitudes() {
		for _, d := range []time.Duration{time.Duration(n), -time.Duration(n)} {
			label := FormatDuration(d)
			v, ulp, err := parseDuration(label)
			if err != nil {
				t.Errorf("FormatDuration(%d): %v", int64(d), err)
				continue
			}
			// Rounded: within half a unit of the last digit; a whole one
			// where rounding up would overflow.
			tol := ulp / 2
			if float64(d.Abs()) > math.MaxInt64-ulp {
				tol = ulp
			}
			if diff := math.Abs(v - float64(d)); diff > tol+1e-15*math.Abs(float64(d))+1 {
				t.Errorf("FormatDuration(%d) = %q, which reads back as %.0f: off by %.0f, more than %.0f", int64(d), label, v, diff, tol)
			}
		}
	}
}
