package tfevents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// records returns n distinct payloads of assorted lengths (0 included).
func testPayloads(n int) [][]byte {
	var ps [][]byte
	for i := 0; i < n; i++ {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, (i*37)%300)
		ps = append(ps, p)
	}
	return ps
}

func frame(ps [][]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = AppendRecord(b, p)
	}
	return b
}

// readAll reads payloads until a non-bad-record error, copying them.
func readAll(r *Reader) ([][]byte, int, error) {
	var out [][]byte
	bad := 0
	for {
		p, err := r.Next()
		if errors.Is(err, ErrBadRecord) {
			bad++
			continue
		}
		if err != nil {
			return out, bad, err
		}
		out = append(out, append([]byte(nil), p...))
	}
}

func TestReaderRoundTrip(t *testing.T) {
	ps := testPayloads(20)
	data := frame(ps)
	tests := []struct {
		name string
		r    func() io.Reader
	}{
		{"bytes", func() io.Reader { return bytes.NewReader(data) }},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.r(), Options{})
			got, bad, err := readAll(r)
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if bad != 0 || len(got) != len(ps) {
				t.Fatalf("got %d records (%d bad), want %d", len(got), bad, len(ps))
			}
			for i := range ps {
				if !bytes.Equal(got[i], ps[i]) {
					t.Fatalf("record %d differs", i)
				}
			}
			if r.Offset() != int64(len(data)) || r.Truncated() {
				t.Fatalf("offset %d truncated %v, want %d false", r.Offset(), r.Truncated(), len(data))
			}
			// io.EOF again, not some other state.
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("second EOF: %v", err)
			}
		})
	}
}

func TestReaderEmpty(t *testing.T) {
	r := NewReader(bytes.NewReader(nil), Options{})
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	if r.Offset() != 0 || r.Truncated() {
		t.Fatalf("offset %d truncated %v", r.Offset(), r.Truncated())
	}
}

// TestReaderPartialTails cuts a file at every byte and checks that reading
// stops cleanly at the last whole record, and that reading the rest from
// Offset gives the remaining records.
func TestReaderPartialTails(t *testing.T) {
	ps := testPayloads(6)
	data := frame(ps)
	ends := []int64{0} // record end offsets
	for _, p := range ps {
		ends = append(ends, ends[len(ends)-1]+int64(len(p)+16))
	}
	for cut := 0; cut <= len(data); cut++ {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			r := NewReader(bytes.NewReader(data[:cut]), Options{})
			got, bad, err := readAll(r)
			if err != io.EOF || bad != 0 {
				t.Fatalf("err = %v bad = %d, want io.EOF 0", err, bad)
			}
			whole := 0
			for whole+1 < len(ends) && ends[whole+1] <= int64(cut) {
				whole++
			}
			if len(got) != whole {
				t.Fatalf("got %d records, want %d", len(got), whole)
			}
			if r.Offset() != ends[whole] {
				t.Fatalf("offset %d, want %d", r.Offset(), ends[whole])
			}
			if want := int64(cut) != ends[whole]; r.Truncated() != want {
				t.Fatalf("truncated %v, want %v", r.Truncated(), want)
			}
			rest, _, err := readAll(NewReader(bytes.NewReader(data[r.Offset():]), Options{}))
			if err != io.EOF {
				t.Fatal(err)
			}
			if len(got)+len(rest) != len(ps) {
				t.Fatalf("resumed: %d + %d records, want %d", len(got), len(rest), len(ps))
			}
			for i, p := range append(got, rest...) {
				if !bytes.Equal(p, ps[i]) {
					t.Fatalf("record %d differs after resuming", i)
				}
			}
		})
	}
}

// growingReader hands out its data in steps, returning io.EOF between them,
// like a file still being written.
type growingReader struct {
	data  []byte
	avail int
	pos   int
}

func (g *growingReader) Read(p []byte) (int, error) {
	if g.pos >= g.avail {
		return 0, io.EOF
	}
	n := copy(p, g.data[g.pos:g.avail])
	g.pos += n
	return n, nil
}

func TestReaderFollowsGrowingInput(t *testing.T) {
	ps := testPayloads(5)
	data := frame(ps)
	g := &growingReader{data: data}
	r := NewReader(g, Options{})
	var got [][]byte
	for avail := 0; avail <= len(data); avail += 7 {
		g.avail = avail
		more, _, err := readAll(r)
		if err != io.EOF {
			t.Fatal(err)
		}
		got = append(got, more...)
	}
	g.avail = len(data)
	more, _, _ := readAll(r)
	got = append(got, more...)
	if len(got) != len(ps) || r.Truncated() || r.Offset() != int64(len(data)) {
		t.Fatalf("got %d records offset %d truncated %v", len(got), r.Offset(), r.Truncated())
	}
}

func TestReaderErrors(t *testing.T) {
	ps := testPayloads(4)
	good := frame(ps)
	second := int64(len(ps[0]) + 16) // offset of record 1

	badLen := append([]byte(nil), good...)
	badLen[second+8] ^= 1 // length CRC of record 1

	badPayload := append([]byte(nil), good...)
	badPayload[second+12+int64(len(ps[1]))] ^= 1 // payload CRC of record 1

	badPayloadByte := append([]byte(nil), good...)
	badPayloadByte[second+12] ^= 0x80 // a payload byte of record 1

	giant := func(length uint64) []byte {
		var h [12]byte
		binary.LittleEndian.PutUint64(h[:], length)
		binary.LittleEndian.PutUint32(h[8:], maskedCRC(h[:8]))
		return append(append([]byte(nil), good[:second]...), h[:]...)
	}
	giantBadCRC := giant(1 << 62)
	giantBadCRC[len(giantBadCRC)-1] ^= 1

	tests := []struct {
		name       string
		data       []byte
		opts       Options
		wantRecs   int
		wantBad    int
		wantErr    error
		wantOffset int64
	}{
		{"bad length CRC", badLen, Options{}, 1, 0, ErrCorrupt, second},
		{"bad payload CRC", badPayload, Options{}, 3, 1, io.EOF, int64(len(good))},
		{"flipped payload byte", badPayloadByte, Options{}, 3, 1, io.EOF, int64(len(good))},
		{"giant length", giant(1 << 62), Options{}, 1, 0, ErrTooLarge, second},
		{"max uint64 length", giant(^uint64(0)), Options{}, 1, 0, ErrTooLarge, second},
		{"length just above cap", giant(1001), Options{MaxRecord: 1000}, 1, 0, ErrTooLarge, second},
		{"giant length with bad CRC", giantBadCRC, Options{}, 1, 0, ErrCorrupt, second},
		{"LFS pointer", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12345\n"), Options{}, 0, 0, ErrCorrupt, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := NewReader(bytes.NewReader(tc.data), tc.opts)
			got, bad, err := readAll(r)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(got) != tc.wantRecs || bad != tc.wantBad {
				t.Fatalf("got %d records, %d bad; want %d, %d", len(got), bad, tc.wantRecs, tc.wantBad)
			}
			if r.Offset() != tc.wantOffset {
				t.Fatalf("offset %d, want %d", r.Offset(), tc.wantOffset)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Fatalf("allocated %d bytes", alloc)
			}
			if tc.wantErr != io.EOF {
				// The error is sticky.
				if _, err2 := r.Next(); !errors.Is(err2, tc.wantErr) {
					t.Fatalf("second call: %v", err2)
				}
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	data := frame(testPayloads(2))
	r := NewReader(io.MultiReader(bytes.NewReader(data), errReader{boom}), Options{})
	got, _, err := readAll(r)
	if !errors.Is(err, boom) || len(got) != 2 {
		t.Fatalf("got %d records, err %v", len(got), err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("not sticky: %v", err)
	}
	r = NewReader(errReader{nil}, Options{})
	if _, err := r.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("empty reads: %v", err)
	}
}

func TestReaderBigRecord(t *testing.T) {
	big := bytes.Repeat([]byte("xyz"), 1<<20) // larger than the initial buffer
	ps := [][]byte{[]byte("a"), big, []byte("b")}
	got, _, err := readAll(NewReader(bytes.NewReader(frame(ps)), Options{}))
	if err != io.EOF || len(got) != 3 || !bytes.Equal(got[1], big) || string(got[2]) != "b" {
		t.Fatalf("err %v, %d records", err, len(got))
	}
}
