package tfevents

import (
	"errors"
	"fmt"
	"io"
)

// maxWarnings caps FileStats.Warnings (one more line says how many were left out).
const maxWarnings = 100

// Scanner reads the Values of one event file: a Reader and a Decoder.
// Bad records are skipped and counted; a partial tail ends the scan cleanly.
type Scanner struct {
	r       *Reader
	d       *Decoder
	vals    []Value
	i       int
	cur     *Value
	err     error
	stats   FileStats
	dropped int // warnings left out
}

// NewScanner returns a Scanner of the event file read from r. The plugins
// known for its tags (from earlier chunks of the same file) go in
// opts.Plugins, which the Scanner adds to.
func NewScanner(r io.Reader, opts Options) *Scanner {
	return &Scanner{r: NewReader(r, opts), d: NewDecoder(opts.Plugins)}
}

// Scan advances to the next Value. It returns false at the end of the input
// (clean or truncated) or on a fatal error (see Err).
func (s *Scanner) Scan() bool {
	for {
		if s.i < len(s.vals) {
			s.cur = &s.vals[s.i]
			s.i++
			return true
		}
		s.cur, s.vals, s.i = nil, nil, 0
		if s.err != nil {
			return false
		}
		payload, err := s.r.Next()
		s.stats.Offset = s.r.Offset()
		s.stats.Truncated = s.r.Truncated()
		switch {
		case err == nil:
		case err == io.EOF:
			if s.stats.Truncated {
				s.warnf("file ends inside a record after offset %d (truncated tail; resume from there)", s.stats.Offset)
			}
			return false
		case errors.Is(err, ErrBadRecord):
			s.stats.BadRecords++
			s.warnf("record at offset %d: payload CRC mismatch, skipped", s.r.RecordOffset())
			continue
		default:
			s.err = err
			if errors.Is(err, ErrCorrupt) {
				s.stats.Corrupt = true
				s.warnf("record at offset %d: length CRC mismatch, the rest of the file cannot be read", s.stats.Offset)
			} else if errors.Is(err, ErrTooLarge) {
				s.warnf("%v; the rest of the file is not read", err)
			} else {
				s.warnf("%v", err)
			}
			return false
		}
		vals, err := s.d.Decode(payload)
		if err != nil {
			s.stats.BadRecords++
			s.warnf("record at offset %d: undecodable Event (%v), skipped", s.r.RecordOffset(), err)
			continue
		}
		s.stats.Records++
		s.vals = vals
	}
}

func (s *Scanner) warnf(format string, args ...any) {
	if len(s.stats.Warnings) >= maxWarnings {
		s.dropped++
		return
	}
	s.stats.Warnings = append(s.stats.Warnings, fmt.Sprintf(format, args...))
}

// Value returns the current Value. It and its slices are valid until the
// next Scan.
func (s *Scanner) Value() *Value { return s.cur }

// Err returns the fatal error that ended the scan (a read error, or one
// wrapping ErrCorrupt or ErrTooLarge); nil at a clean end or a truncated tail.
func (s *Scanner) Err() error { return s.err }

// Stats returns what the Scanner met so far.
func (s *Scanner) Stats() FileStats {
	st := s.stats
	w := s.stats.Warnings
	st.Warnings = w[:len(w):len(w)]
	if s.dropped > 0 {
		st.Warnings = append(st.Warnings, fmt.Sprintf("%d more warnings left out", s.dropped))
	}
	return st
}

// Plugins returns the tag -> plugin map (Options.Plugins plus what this
// scan learnt from metadata).
func (s *Scanner) Plugins() map[string]string { return s.d.Plugins() }
