package tfevents

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// maxWarnings caps FileStats.Warnings (one more line says how many were left out).
const maxWarnings = 100

// The pipeline: once a scan has read pipelineAfter bytes, a goroutine frames
// the records and checks their CRCs into batches while the caller's
// goroutine decodes the previous ones (and samples them, or whatever it
// does): two stages of about equal cost, one per core of a 2-core machine.
// (A third stage, decoding on a goroutine of its own, was measured slower
// on 2 cores: ingest 0.43 s against 0.41 s per 200 MB, inspect 0.56 of
// read+CRC against 0.62.) Small inputs never start it. It holds at most
// numBatches batches (~2.3 MiB with their record tables) plus a copy of a
// record bigger than batchSize, besides the Reader's buffer; the batches
// of a pipeline that ended go to the next one (batchPool).
const (
	pipelineAfter = DefaultPipelineAfter // bytes scanned in one go before the pipeline starts
	batchSize     = 256 << 10            // payload bytes of a batch (a bigger record gets a batch of its own)
	batchRecords  = 8 << 10              // records of a batch
	numBatches    = 6                    // batches in flight: the decoder's, the framer's, four ready
)

// Scanner reads the Values of one event file: a Reader and a Decoder.
// Bad records are skipped and counted; a partial tail ends the scan cleanly.
//
// On a large input a Scanner frames records and checks their CRCs on a
// second goroutine (a pipeline) while the caller's goroutine decodes; Close
// stops that goroutine when a scan is abandoned before its end.
type Scanner struct {
	r       *Reader
	d       *Decoder
	vals    []Value
	i       int
	cur     *Value
	err     error
	stats   FileStats
	dropped int   // warnings left out
	recOff  int64 // offset of the record last returned by next
	closed  bool

	// The pipeline, when running; the Reader is the framer's meanwhile.
	p         *pipe
	bat       *batch // the batch being decoded
	ri, pend  int    // its next record, the end of its last payload
	plainFrom int64  // offset at which the current plain stretch began
	pipeAfter int64  // pipelineAfter; tests lower it (-1: never)
	batchCap  int    // batchSize; tests lower it
}

// NewScanner returns a Scanner of the event file read from r. The plugins
// known for its tags (from earlier chunks of the same file) go in
// opts.Plugins, which the Scanner adds to.
func NewScanner(r io.Reader, opts Options) *Scanner {
	after := opts.PipelineAfter
	switch {
	case after == 0:
		after = pipelineAfter
	case after < 0:
		after = -1
	}
	return &Scanner{r: NewReader(r, opts), d: NewDecoder(opts.Plugins), pipeAfter: after, batchCap: batchSize}
}

// Scan advances to the next Value. It returns false at the end of the input
// (clean or truncated), on a fatal error (see Err), or after Close.
//
// At a clean or truncated end, calling Scan again retries reading (Reader.Next
// does), so a growing input can be followed.
func (s *Scanner) Scan() bool {
	for {
		if s.i < len(s.vals) {
			s.cur = &s.vals[s.i]
			s.i++
			return true
		}
		s.cur, s.vals, s.i = nil, nil, 0
		if s.err != nil || s.closed {
			return false
		}
		payload, err := s.next()
		switch {
		case err == nil:
		case err == io.EOF:
			if s.stats.Truncated {
				s.warnf("file ends inside a record after offset %d (truncated tail; resume from there)", s.stats.Offset)
			}
			return false
		case errors.Is(err, ErrBadRecord):
			s.stats.BadRecords++
			s.warnf("record at offset %d: payload CRC mismatch, skipped", s.recOff)
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
			s.warnf("record at offset %d: undecodable Event (%v), skipped", s.recOff, err)
			continue
		}
		s.stats.Records++
		s.vals = vals
	}
}

// next returns what Reader.Next returns for the next record, from the
// pipeline when it runs, and sets stats.Offset, stats.Truncated and recOff
// as the Reader says after it.
func (s *Scanner) next() ([]byte, error) {
	if s.p != nil {
		return s.nextBatched()
	}
	if s.pipeAfter >= 0 && s.stats.Offset-s.plainFrom >= s.pipeAfter {
		if s.pipeAfter > 0 && runtime.GOMAXPROCS(0) < 2 {
			s.pipeAfter = -1 // one core: a pipeline only costs
		} else {
			s.startPipe()
			return s.nextBatched()
		}
	}
	payload, err := s.r.Next()
	s.stats.Offset = s.r.Offset()
	s.stats.Truncated = s.r.Truncated()
	s.recOff = s.r.RecordOffset()
	return payload, err
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

// Close stops the Scanner's framing goroutine, if one runs, waiting for a
// read of the underlying reader in progress to return; later calls of Scan
// return false. Stats, Err and Plugins keep their values. Close does not
// close the underlying reader. It is idempotent, safe after the end of the
// scan, and always returns nil. Like Scan, it must not be called
// concurrently with the Scanner's other methods.
func (s *Scanner) Close() error {
	s.closed = true
	s.stopPipe()
	s.cur, s.vals, s.i = nil, nil, 0
	return nil
}

// pipe connects the framing goroutine to the Scanner.
type pipe struct {
	full chan *batch   // framed batches, in input order
	free chan *batch   // batches to fill
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the framer has returned
}

// batch is a run of records framed by the pipeline's goroutine: their
// payloads copied end to end and what the Reader said after each.
type batch struct {
	buf  []byte
	recs []rec
	// The last batch of a run also carries what ended it: io.EOF or a
	// fatal error, and the Reader's state then (or a panic of the
	// underlying reader, re-raised on the Scanner's goroutine).
	err      error
	off      int64
	trunc    bool
	panicked bool
	panicVal any
}

// rec is a framed record. It starts where the previous one ended (at the
// Scanner's stats.Offset): the Reader's RecordOffset.
type rec struct {
	off int64 // Reader.Offset after the record
	end int   // the payload is buf[end of the previous payload:end]; badCRC for a payload CRC mismatch
}

const badCRC = -1

// errBadRecordCRC stands for the Reader's payload CRC error in the
// pipeline (the Scanner reports it with its own words).
var errBadRecordCRC = fmt.Errorf("%w: payload CRC mismatch", ErrBadRecord)

func (s *Scanner) startPipe() {
	p := &pipe{
		full: make(chan *batch, numBatches),
		free: make(chan *batch, numBatches),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range numBatches {
		b, _ := batchPool.Get().(*batch)
		if b == nil {
			b = &batch{}
		}
		p.free <- b
	}
	s.p, s.bat, s.ri, s.pend = p, nil, 0, 0
	go framer(p, s.r, s.batchCap)
}

// nextBatched is next while the pipeline runs.
func (s *Scanner) nextBatched() ([]byte, error) {
	for {
		b := s.bat
		if b != nil && s.ri < len(b.recs) {
			r := &b.recs[s.ri]
			s.ri++
			s.recOff = s.stats.Offset
			s.stats.Offset, s.stats.Truncated = r.off, false
			if r.end == badCRC {
				return nil, errBadRecordCRC
			}
			payload := b.buf[s.pend:r.end:r.end]
			s.pend = r.end
			return payload, nil
		}
		if b != nil {
			s.bat = nil
			if b.panicked {
				s.stopPipe()
				panic(b.panicVal)
			}
			if b.err != nil {
				// The framer has returned: the Reader is the Scanner's again.
				s.stats.Offset, s.stats.Truncated = b.off, b.trunc
				err := b.err
				s.bat = b // for the pool, which clears it
				s.stopPipe()
				s.plainFrom = s.stats.Offset
				return nil, err
			}
			s.p.free <- b // never blocks: there are numBatches batches
		}
		s.bat, s.ri, s.pend = <-s.p.full, 0, 0
	}
}

// stopPipe stops the framer and waits for it to return, and gives the
// pipeline's batches to the next one.
func (s *Scanner) stopPipe() {
	if s.p == nil {
		return
	}
	close(s.p.stop)
	<-s.p.done
	// The framer has returned: every batch is idle.
	recycle := func(b *batch) {
		if b != nil && !b.panicked {
			*b = batch{buf: b.buf[:0], recs: b.recs[:0]}
			batchPool.Put(b)
		}
	}
	recycle(s.bat)
	for {
		select {
		case b := <-s.p.free:
			recycle(b)
		case b := <-s.p.full:
			recycle(b)
		default:
			s.p, s.bat = nil, nil
			return
		}
	}
}

// batchPool holds the batches of ended pipelines: a Scanner per append
// of a few MiB would otherwise make ~2.3 MiB of them each time.
var batchPool sync.Pool

// framer is the pipeline's goroutine: it reads r into batches until the end
// of the input, a fatal error, or stop.
func framer(p *pipe, r *Reader, capacity int) {
	defer close(p.done)
	var b *batch
	get := func() bool {
		select {
		case b = <-p.free:
		case <-p.stop:
			return false
		}
		if cap(b.buf) != capacity || cap(b.recs) > batchRecords {
			// Give back the memory of a big record (or take this scan's
			// capacity: a pooled batch may come from another one's).
			b.buf, b.recs = nil, nil
		}
		if b.buf == nil {
			b.buf = make([]byte, 0, capacity)
		}
		b.buf, b.recs = b.buf[:0], b.recs[:0]
		return true
	}
	send := func() bool {
		select {
		case p.full <- b:
			b = nil
			return true
		case <-p.stop:
			return false
		}
	}
	defer func() {
		if v := recover(); v != nil {
			// The underlying reader panicked: hand the panic to the
			// Scanner's goroutine, as if it had read itself.
			if b == nil {
				b = &batch{}
			}
			b.panicked, b.panicVal = true, v
			send()
		}
	}()
	for {
		if b == nil && !get() {
			return
		}
		// Hand over what is framed before the Reader would read (which
		// may block) or when the batch is full.
		if len(b.recs) > 0 && (len(b.recs) >= batchRecords || !r.buffered()) {
			if !send() {
				return
			}
			continue
		}
		payload, err := r.Next()
		switch {
		case err == nil:
			if len(b.recs) > 0 && len(b.buf)+len(payload) > cap(b.buf) {
				// payload stays valid: r is not read until the next Next.
				if !send() || !get() {
					return
				}
			}
			b.buf = append(b.buf, payload...)
			b.recs = append(b.recs, rec{off: r.Offset(), end: len(b.buf)})
		case errors.Is(err, ErrBadRecord):
			b.recs = append(b.recs, rec{off: r.Offset(), end: badCRC})
		default:
			b.err, b.off, b.trunc = err, r.Offset(), r.Truncated()
			send()
			return
		}
	}
}
