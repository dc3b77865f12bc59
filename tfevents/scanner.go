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

// The pipeline: once a scan has read pipelineAfter bytes, one goroutine
// frames the records and checks their CRCs into batches, a second decodes
// them into batches of Values, and the caller's goroutine takes the Values
// (and samples them, or whatever it does) meanwhile: three stages that two
// cores share. Small inputs never start it. It holds at most numBatches
// framed batches (~2.3 MiB with their record tables) plus a copy of a
// record bigger than batchSize, and numValueBatches batches of Values
// (each of at most valueBatchRecords records, sized to stay in a core's
// cache), besides the Reader's buffer.
const (
	pipelineAfter     = DefaultPipelineAfter // bytes scanned in one go before the pipeline starts
	batchSize         = 256 << 10            // payload bytes of a batch (a bigger record gets a batch of its own)
	batchRecords      = 8 << 10              // records of a batch
	numBatches        = 6                    // framed batches in flight
	valueBatchRecords = 512                  // records of a batch of Values
	valueBatchValues  = 1024                 // Values of a batch of Values (one more event may overfill it)
	numValueBatches   = 8                    // batches of Values in flight
)

// Scanner reads the Values of one event file: a Reader and a Decoder.
// Bad records are skipped and counted; a partial tail ends the scan cleanly.
//
// On a large input a Scanner frames records and checks their CRCs on a
// second goroutine and decodes them on a third (a pipeline) while the
// caller's goroutine takes the Values; Close stops those goroutines when a
// scan is abandoned before its end. The Values are the same, in the same
// order, with the same Stats, as without the pipeline.
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

	// The pipeline, when running; the Reader is the framer's and the
	// Decoder the decoding goroutine's meanwhile.
	p         *pipe
	vb        *valueBatch // the batch of Values being taken
	ri, vend  int         // its next record, the end of its last record's Values
	plainFrom int64       // offset at which the current plain stretch began
	pipeAfter int64       // pipelineAfter; tests lower it (-1: never)
	batchCap  int         // batchSize; tests lower it
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
		vals, derr, err := s.record()
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
		if derr != nil {
			s.stats.BadRecords++
			s.warnf("record at offset %d: undecodable Event (%v), skipped", s.recOff, derr)
			continue
		}
		s.stats.Records++
		s.vals = vals
	}
}

// record reads and decodes the next record, from the pipeline when it
// runs: err is what Reader.Next returned for it, derr what Decoder.Decode
// did (when err is nil). It sets stats.Offset, stats.Truncated and recOff
// as the Reader says after the record.
func (s *Scanner) record() (vals []Value, derr, err error) {
	if s.p != nil {
		return s.nextPiped()
	}
	if s.pipeAfter >= 0 && s.stats.Offset-s.plainFrom >= s.pipeAfter {
		if s.pipeAfter > 0 && runtime.GOMAXPROCS(0) < 2 {
			s.pipeAfter = -1 // one core: a pipeline only costs
		} else {
			s.startPipe()
			return s.nextPiped()
		}
	}
	payload, err := s.r.Next()
	s.stats.Offset = s.r.Offset()
	s.stats.Truncated = s.r.Truncated()
	s.recOff = s.r.RecordOffset()
	if err != nil {
		return nil, nil, err
	}
	vals, derr = s.d.Decode(payload)
	return vals, derr, nil
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

// Close stops the Scanner's pipeline goroutines, if they run, waiting for a
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

// pipe connects the pipeline's goroutines: the framer fills framed
// batches (free -> full), the decoder turns them into batches of Values
// (vfree -> vfull), and the Scanner gives both kinds back when it has
// taken their Values.
type pipe struct {
	full   chan *batch      // framed batches, in input order
	free   chan *batch      // batches to fill
	vfull  chan *valueBatch // decoded batches, in input order
	vfree  chan *valueBatch // batches of Values to fill
	stop   chan struct{}    // closed by Close
	framed chan struct{}    // closed when the framer has returned
	done   chan struct{}    // closed when both goroutines have returned
}

// batch is a run of records framed by the pipeline's goroutine: their
// payloads copied end to end and what the Reader said after each.
type batch struct {
	buf  []byte
	recs []rec
	// The last batch of a run also carries what ended it: io.EOF or a
	// fatal error, and the Reader's state then (or a panic of the
	// underlying reader, re-raised on the Scanner's goroutine).
	end
}

// end is what ended a pipeline's run, carried by its last batch.
type end struct {
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

// valueBatch is what the decoder made of consecutive records of a framed
// batch: their Values (which alias the framed batch's payloads and the
// batch's arena) and what each record came to.
type valueBatch struct {
	fb    *batch // the framed batch of the records
	last  bool   // these are fb's last records: give fb back with this batch
	vals  []Value
	arena []byte // the Decoder's arena while it decoded these records
	recs  []vrec
	end   // set on the last batch of a run (then fb is not given back)
}

// vrec is a record as the decoder left it.
type vrec struct {
	off int64 // Reader.Offset after the record
	end int   // its Values are vals[end of the previous record's:end]
	bad bool  // a payload CRC mismatch
	err error // not nil: the Event could not be decoded
}

func (s *Scanner) startPipe() {
	p := &pipe{
		full:   make(chan *batch, numBatches),
		free:   make(chan *batch, numBatches),
		vfull:  make(chan *valueBatch, numValueBatches),
		vfree:  make(chan *valueBatch, numValueBatches),
		stop:   make(chan struct{}),
		framed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	for range numBatches {
		b, _ := batchPool.Get().(*batch)
		if b == nil {
			b = &batch{}
		}
		p.free <- b
	}
	for range numValueBatches {
		vb, _ := valueBatchPool.Get().(*valueBatch)
		if vb == nil {
			vb = &valueBatch{}
		}
		p.vfree <- vb
	}
	s.p, s.vb, s.ri, s.vend = p, nil, 0, 0
	go framer(p, s.r, s.batchCap)
	go decoder(p, s.d)
}

// nextPiped is record while the pipeline runs.
func (s *Scanner) nextPiped() (vals []Value, derr, err error) {
	for {
		vb := s.vb
		if vb != nil && s.ri < len(vb.recs) {
			r := &vb.recs[s.ri]
			s.ri++
			s.recOff = s.stats.Offset
			s.stats.Offset, s.stats.Truncated = r.off, false
			if r.bad {
				return nil, nil, errBadRecordCRC
			}
			from := s.vend
			s.vend = r.end
			if r.err != nil {
				return nil, r.err, nil
			}
			return vb.vals[from:r.end:r.end], nil, nil
		}
		if vb != nil {
			s.vb = nil
			if vb.panicked {
				s.stopPipe()
				panic(vb.panicVal)
			}
			if vb.err != nil {
				// Both goroutines have returned: the Reader and the
				// Decoder are the Scanner's again.
				s.stats.Offset, s.stats.Truncated = vb.off, vb.trunc
				err := vb.err
				s.vb = vb // recycled by stopPipe
				s.stopPipe()
				s.plainFrom = s.stats.Offset
				return nil, nil, err
			}
			// Neither send blocks: there are numBatches framed batches and
			// numValueBatches batches of Values.
			if vb.last {
				s.p.free <- vb.fb
			}
			vb.fb = nil
			s.p.vfree <- vb
		}
		s.vb, s.ri, s.vend = <-s.p.vfull, 0, 0
	}
}

// stopPipe stops the pipeline's goroutines and waits for them to return.
func (s *Scanner) stopPipe() {
	if s.p == nil {
		return
	}
	close(s.p.stop)
	<-s.p.done
	// Both goroutines have returned: the batches left are idle.
	if s.vb != nil {
		recycleValues(s.vb)
	}
	for {
		select {
		case b := <-s.p.free:
			batchPool.Put(b)
		case b := <-s.p.full:
			batchPool.Put(b)
		case vb := <-s.p.vfull:
			recycleValues(vb)
		case vb := <-s.p.vfree:
			recycleValues(vb)
		default:
			s.p, s.vb = nil, nil
			return
		}
	}
}

// The batches of ended pipelines, for the next ones: a Scanner per
// append (of a few MiB) would otherwise make them anew each time.
var batchPool, valueBatchPool sync.Pool

// recycleValues puts vb, and its framed batch when vb holds the last
// records of it, in the pools.
func recycleValues(vb *valueBatch) {
	if vb.panicked {
		return
	}
	if vb.last && vb.fb != nil {
		batchPool.Put(vb.fb)
	}
	vb.fb, vb.end = nil, end{}
	valueBatchPool.Put(vb)
}

// decoder is the pipeline's second goroutine: it decodes the framed
// batches into batches of Values until the last one, or stop.
func decoder(p *pipe, d *Decoder) {
	defer func() {
		<-p.framed
		close(p.done)
	}()
	// The Decoder's own memory, restored when the pipeline ends: batches
	// of Values lend it theirs meanwhile.
	vals, arena := d.vals, d.arena
	defer func() { d.vals, d.arena = vals, arena }()
	var vb *valueBatch
	defer func() {
		if v := recover(); v != nil {
			// The Decoder panicked: hand the panic to the Scanner's
			// goroutine, as if it had decoded itself.
			if vb == nil {
				vb = &valueBatch{}
			} else {
				// The records before the one being decoded are whole.
				vb.vals, vb.arena = d.vals, d.arena
			}
			vb.last, vb.panicked, vb.panicVal = false, true, v
			select {
			case p.vfull <- vb:
			case <-p.stop:
			}
		}
	}()
	for {
		var fb *batch
		select {
		case fb = <-p.full:
		case <-p.stop:
			return
		}
		// fb is the Scanner's once the last of its records is sent:
		// nothing of it is read after that.
		n, terminal := len(fb.recs), fb.err != nil || fb.panicked
		pend := 0 // end of the last payload decoded
		for i, last := 0, false; !last; {
			select {
			case vb = <-p.vfree:
			case <-p.stop:
				return
			}
			vb.fb, vb.recs, vb.end = fb, vb.recs[:0], end{}
			d.vals, d.arena = vb.vals[:0], vb.arena[:0]
			for ; i < n && len(vb.recs) < valueBatchRecords && len(d.vals) < valueBatchValues; i++ {
				r := fb.recs[i]
				if r.end == badCRC {
					vb.recs = append(vb.recs, vrec{off: r.off, end: len(d.vals), bad: true})
					continue
				}
				_, err := d.decode(fb.buf[pend:r.end:r.end])
				pend = r.end
				vb.recs = append(vb.recs, vrec{off: r.off, end: len(d.vals), err: err})
			}
			vb.vals, vb.arena = d.vals, d.arena
			last = i >= n
			vb.last = last
			if last {
				vb.end = fb.end
			}
			p.vfull <- vb // never blocks: there are numValueBatches batches
			vb = nil
		}
		if terminal {
			return
		}
	}
}

// framer is the pipeline's first goroutine: it reads r into batches until
// the end of the input, a fatal error, or stop.
func framer(p *pipe, r *Reader, capacity int) {
	defer close(p.framed)
	var b *batch
	get := func() bool {
		select {
		case b = <-p.free:
		case <-p.stop:
			return false
		}
		if cap(b.buf) != capacity || cap(b.recs) > batchRecords {
			// Give back the memory of a big record (or take the capacity
			// of this scan: a batch may come from another one's).
			b.buf, b.recs = nil, nil
		}
		if b.buf == nil {
			b.buf = make([]byte, 0, capacity)
		}
		b.buf, b.recs, b.end = b.buf[:0], b.recs[:0], end{}
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
