package tfevents

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC returns the TFRecord masked CRC32C of b.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

const (
	headerLen  = 12 // length (8) + length CRC (4)
	footerLen  = 4  // payload CRC
	minBufSize = 256 << 10
)

// Reader frames TFRecords: it verifies the masked CRC32C of each record's
// length and of its payload. Memory use is O(one record).
type Reader struct {
	r      io.Reader
	max    uint64
	buf    []byte
	lo, hi int   // unread bytes are buf[lo:hi]
	off    int64 // input offset of buf[lo]: just past the last whole record
	start  int64 // offset of the record returned by the last Next
	trunc  bool
	empty  int   // consecutive empty reads
	err    error // sticky: read error, ErrCorrupt, ErrTooLarge
}

// NewReader returns a Reader of the TFRecords in r.
func NewReader(r io.Reader, opts Options) *Reader {
	return &Reader{r: r, max: opts.maxRecord()}
}

// Next returns the next record's payload. It aliases an internal buffer
// until the next call.
//
// At the end of input it returns io.EOF, also when the input ends inside a
// record (Truncated reports it; calling Next again retries reading, so a
// growing file can be followed). A bad length CRC returns an error wrapping
// ErrCorrupt and reading stops (later calls return it again). A bad payload
// CRC returns an error wrapping ErrBadRecord; the record is skipped and the
// caller may call Next again. A length above Options.MaxRecord returns an
// error wrapping ErrTooLarge and reading stops; nothing is allocated for it.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.fill(headerLen); err != nil {
		return nil, err
	}
	h := r.buf[r.lo : r.lo+headerLen]
	length := binary.LittleEndian.Uint64(h)
	if maskedCRC(h[:8]) != binary.LittleEndian.Uint32(h[8:]) {
		r.err = fmt.Errorf("%w: length CRC mismatch at offset %d", ErrCorrupt, r.off)
		return nil, r.err
	}
	if length > r.max || length > uint64(maxInt-headerLen-footerLen) {
		r.err = fmt.Errorf("%w: record at offset %d has length %d, above the cap of %d", ErrTooLarge, r.off, length, r.max)
		return nil, r.err
	}
	total := headerLen + int(length) + footerLen
	if err := r.fill(total); err != nil {
		return nil, err
	}
	rec := r.buf[r.lo : r.lo+total]
	payload := rec[headerLen : headerLen+int(length)]
	r.start = r.off
	r.lo += total
	r.off += int64(total)
	if maskedCRC(payload) != binary.LittleEndian.Uint32(rec[headerLen+int(length):]) {
		return nil, fmt.Errorf("%w: payload CRC mismatch in record at offset %d", ErrBadRecord, r.start)
	}
	return payload, nil
}

const maxInt = int(^uint(0) >> 1)

// buffered reports whether Next can return without reading: the next
// record (by its length, unchecked) is in the buffer, or an error is sticky.
func (r *Reader) buffered() bool {
	if r.err != nil {
		return true
	}
	n := r.hi - r.lo
	if n < headerLen+footerLen {
		return false
	}
	return binary.LittleEndian.Uint64(r.buf[r.lo:]) <= uint64(n-headerLen-footerLen)
}

// fill makes at least n unread bytes available in buf[lo:hi]. It returns
// io.EOF (and sets trunc when some bytes of a record are there) when the
// input ends first, or a sticky read error.
func (r *Reader) fill(n int) error {
	for r.hi-r.lo < n {
		if len(r.buf)-r.lo < n || r.hi == len(r.buf) {
			r.grow(n)
		}
		m, err := r.r.Read(r.buf[r.hi:])
		if m < 0 || m > len(r.buf)-r.hi {
			r.err = errors.New("tfevents: invalid Read count")
			return r.err
		}
		r.hi += m
		if r.hi-r.lo >= n {
			break
		}
		if err == io.EOF {
			r.trunc = r.hi > r.lo
			return io.EOF
		}
		if err != nil {
			r.err = fmt.Errorf("tfevents: reading at offset %d: %w", r.off+int64(r.hi-r.lo), err)
			return r.err
		}
		if m == 0 {
			// Do not spin forever on a reader that returns 0, nil.
			r.empty++
			if r.empty >= 100 {
				r.err = fmt.Errorf("tfevents: reading at offset %d: %w", r.off+int64(r.hi-r.lo), io.ErrNoProgress)
				return r.err
			}
			continue
		}
		r.empty = 0
	}
	r.trunc = false
	return nil
}

// grow makes room for n bytes from lo: it doubles a small buffer (so that
// small inputs cost little and big ones few reads), grows it to hold a big
// record, shrinks it after one, or else moves the unread bytes to the front.
func (r *Reader) grow(n int) {
	size := len(r.buf)
	switch {
	case size < minBufSize:
		size = max(min(2*size, minBufSize), 4<<10)
	case size > 4*minBufSize && n <= minBufSize && r.hi-r.lo <= minBufSize:
		size = minBufSize // give back the memory of an earlier big record
	}
	size = max(size, n)
	if size != len(r.buf) {
		nb := make([]byte, size)
		r.hi = copy(nb, r.buf[r.lo:r.hi])
		r.lo = 0
		r.buf = nb
		return
	}
	r.hi = copy(r.buf, r.buf[r.lo:r.hi])
	r.lo = 0
}

// Offset returns the offset (from the start of the input) just past the last
// whole record: where to resume reading.
func (r *Reader) Offset() int64 { return r.off }

// RecordOffset returns the offset at which the record last returned (or
// skipped with ErrBadRecord) by Next starts.
func (r *Reader) RecordOffset() int64 { return r.start }

// Truncated reports whether the input ended inside a record.
func (r *Reader) Truncated() bool { return r.trunc }
