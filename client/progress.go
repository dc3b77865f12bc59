package client

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// ProgressPrinter shows upload progress: on a terminal one line redrawn in
// place (at most 10 times a second), elsewhere (a log, a CI job) plain lines
// at most every few seconds, plus a last line when a pass ends.
type ProgressPrinter struct {
	w   io.Writer
	tty bool
	// Every is the least time between two plain lines (default 2 s).
	Every time.Duration
	// Redraw is the least time between two redraws (default 100 ms).
	Redraw time.Duration

	mu    sync.Mutex
	last  time.Time
	drawn bool // a redrawn line is on the screen
}

// NewProgressPrinter returns a printer writing to w; tty selects the
// redrawn line.
func NewProgressPrinter(w io.Writer, tty bool) *ProgressPrinter {
	return &ProgressPrinter{w: w, tty: tty, Every: 2 * time.Second, Redraw: 100 * time.Millisecond}
}

// Update shows p. It is an Uploader's Progress callback.
func (pp *ProgressPrinter) Update(p Progress) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	now := time.Now()
	if p.Done {
		sent := FormatBytes(p.BytesDone)
		if p.Compressed {
			sent += fmt.Sprintf(" (%s on the wire)", FormatBytes(p.Wire))
		}
		line := fmt.Sprintf("sent %s in %d %s in %s (%s/s)", sent, p.FilesTotal,
			plural(p.FilesTotal, "file", "files"), FormatDuration(p.Elapsed), FormatBytes(int64(p.Rate)))
		switch {
		case p.Pass > 1:
			// Watching: one short line per pass that sent something.
			line = fmt.Sprintf("%s sent %s to %d %s (board total %s)", now.Format("15:04:05"), sent,
				p.FilesTotal, plural(p.FilesTotal, "file", "files"), FormatBytes(p.Resumed+p.BytesDone))
		case p.Resumed > 0:
			line += fmt.Sprintf("; %s were already on the server", FormatBytes(p.Resumed))
		}
		if pp.tty {
			fmt.Fprintf(pp.w, "\r\x1b[K%s\n", line)
			pp.drawn = false
		} else {
			fmt.Fprintln(pp.w, line)
		}
		pp.last = time.Time{}
		return
	}
	if pp.tty {
		if !pp.last.IsZero() && now.Sub(pp.last) < pp.Redraw {
			return
		}
		pp.last = now
		fmt.Fprintf(pp.w, "\r\x1b[K%s", pp.line(p, 100))
		pp.drawn = true
		return
	}
	if p.Pass > 1 || !pp.last.IsZero() && now.Sub(pp.last) < pp.Every {
		return
	}
	if pp.last.IsZero() && p.BytesDone == 0 {
		pp.last = now
		msg := fmt.Sprintf("sending %s in %d %s", FormatBytes(p.BytesTotal), p.FilesTotal, plural(p.FilesTotal, "file", "files"))
		if p.Resumed > 0 {
			msg += fmt.Sprintf(" (resuming: %s already on the server)", FormatBytes(p.Resumed))
		}
		fmt.Fprintln(pp.w, msg)
		return
	}
	pp.last = now
	fmt.Fprintln(pp.w, pp.line(p, 0))
}

// Printf prints a note on a line of its own, clearing a redrawn progress
// line first.
func (pp *ProgressPrinter) Printf(format string, args ...any) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.drawn {
		fmt.Fprint(pp.w, "\r\x1b[K")
		pp.drawn = false
		pp.last = time.Time{}
	}
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(pp.w, msg)
}

// line formats p in one line of at most width characters (0: no limit).
func (pp *ProgressPrinter) line(p Progress, width int) string {
	pct := 100.0
	if p.BytesTotal > 0 {
		pct = 100 * float64(p.BytesDone) / float64(p.BytesTotal)
	}
	eta := "ETA -"
	if p.ETA >= 0 {
		eta = "ETA " + FormatDuration(p.ETA)
	}
	s := fmt.Sprintf("%3.0f%%  %s / %s  %d/%d files  %s/s  %s", pct, FormatBytes(p.BytesDone), FormatBytes(p.BytesTotal),
		p.FilesDone, p.FilesTotal, FormatBytes(int64(p.Rate)), eta)
	if p.File != "" {
		name := p.Run + "/" + p.File
		if p.Run == "." {
			name = p.File
		}
		if width > 0 {
			room := width - len(s) - 2
			if room < 8 {
				return s
			}
			if len(name) > room {
				name = "…" + name[len(name)-room+1:]
			}
		}
		s += "  " + name
	}
	return s
}

// FormatBytes formats a byte count for people: "512 B", "1.5 KiB",
// "3.2 MiB", up to "8.0 EiB"; negative counts get a "-". Beyond bytes the
// label has one decimal, rounded: it is within 0.05 of its unit of n, and
// a count that rounds to 1024 of a unit shows as 1.0 of the next.
func FormatBytes(n int64) string {
	sign, u := "", uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-(n+1))+1 // math.MinInt64 has no positive
	}
	if u < 1024 {
		return fmt.Sprintf("%s%d B", sign, u)
	}
	f := float64(u)
	units := [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	for i, unit := range units {
		f /= 1024
		if r := math.Round(f*10) / 10; r < 1024 || i == len(units)-1 {
			return fmt.Sprintf("%s%.1f %s", sign, r, unit)
		}
	}
	panic("unreachable")
}

// durationTiers are FormatDuration's forms: a duration that rounds to
// less than below (at unit) is written with format.
var durationTiers = [...]struct {
	below, unit time.Duration
	format      func(d time.Duration) string
}{
	{time.Microsecond, time.Nanosecond, func(d time.Duration) string { return fmt.Sprintf("%dns", d) }},
	{time.Millisecond, time.Microsecond, func(d time.Duration) string { return fmt.Sprintf("%dµs", d/time.Microsecond) }},
	{time.Second, time.Millisecond, func(d time.Duration) string { return fmt.Sprintf("%dms", d/time.Millisecond) }},
	{10 * time.Second, 100 * time.Millisecond, func(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }},
	{time.Minute, time.Second, func(d time.Duration) string { return fmt.Sprintf("%ds", d/time.Second) }},
	{time.Hour, time.Second, func(d time.Duration) string {
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	}},
	{day, time.Minute, func(d time.Duration) string { return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute) }},
	{week, time.Hour, func(d time.Duration) string { return fmt.Sprintf("%dd%02dh", d/day, d%day/time.Hour) }},
	{math.MaxInt64, day, func(d time.Duration) string { return fmt.Sprintf("%dw%dd", d/week, d%week/day) }},
}

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// FormatDuration formats a duration for people, rounded to the precision
// its size calls for: "0s", "850ns", "12µs", "250ms", "3.2s", "42s",
// "3m05s", "2h10m", "3d04h", "2w3d"; negative durations get a "-".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	sign := ""
	if d < 0 {
		if d == math.MinInt64 {
			d++ // which no label shows
		}
		sign, d = "-", -d
	}
	for i, t := range durationTiers {
		if r := roundDuration(d, t.unit); r < t.below || i == len(durationTiers)-1 {
			return sign + t.format(r)
		}
	}
	panic("unreachable")
}

// roundDuration rounds d ≥ 0 to a multiple of unit, half up; down where up
// would overflow.
func roundDuration(d, unit time.Duration) time.Duration {
	q := d - d%unit
	if d%unit >= (unit+1)/2 && q <= math.MaxInt64-unit {
		q += unit
	}
	return q
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
