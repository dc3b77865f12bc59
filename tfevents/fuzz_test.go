package tfevents

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/tfevents/tfeventspb"
)

// Seeds are capped so that the fuzzers' mutations stay fast.
const maxSeed = 4 << 10

// corpusSeeds returns the event files of the generated corpus and, when
// present, of the real one (their first maxSeed bytes), and a sample of
// their record payloads (records 1 and 5 of each file: the first is
// usually file_version).
func corpusSeeds(tb testing.TB) (files, payloads [][]byte) {
	all := append(Corpora.Generated(tb), Corpora.RealIfPresent(tb)...)
	for _, f := range all {
		files = append(files, f[:min(len(f), maxSeed)])
		r := NewReader(bytes.NewReader(f), Options{})
		for i := 0; i < 6; i++ {
			p, err := r.Next()
			if err != nil && !errors.Is(err, ErrBadRecord) {
				break
			}
			if err == nil && (i == 1 || i == 5) && len(p) <= maxSeed {
				payloads = append(payloads, append([]byte(nil), p...))
			}
		}
	}
	return files, payloads
}

func FuzzReader(f *testing.F) {
	files, _ := corpusSeeds(f)
	for _, b := range files {
		f.Add(b)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteFileVersion(1)
	w.WriteScalar("a", 1, 2, 3)
	w.WriteHistogramTF1("h", 1, 2, HistogramTF1{Limits: []float64{1, 2}, Counts: []float64{0, 1}})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxRecord: 1 << 20}
		r := NewReader(bytes.NewReader(data), opts)
		var prev int64
		records := 0
		var err error
		for {
			var p []byte
			p, err = r.Next()
			if r.Offset() < prev || r.Offset() > int64(len(data)) {
				t.Fatalf("offset %d after %d (len %d)", r.Offset(), prev, len(data))
			}
			prev = r.Offset()
			if errors.Is(err, ErrBadRecord) {
				continue
			}
			if err != nil {
				break
			}
			records++
			if int64(len(p)) > r.Offset() {
				t.Fatalf("payload longer than the input read")
			}
		}
		switch {
		case err == io.EOF:
			if r.Truncated() != (r.Offset() < int64(len(data))) {
				t.Fatalf("truncated %v with offset %d of %d", r.Truncated(), r.Offset(), len(data))
			}
			// Resuming from Offset reads nothing more and ends the same way.
			r2 := NewReader(bytes.NewReader(data[r.Offset():]), opts)
			if _, err2 := r2.Next(); err2 != io.EOF || r2.Offset() != 0 || r2.Truncated() != r.Truncated() {
				t.Fatalf("resume: %v offset %d truncated %v", err2, r2.Offset(), r2.Truncated())
			}
		case errors.Is(err, ErrCorrupt), errors.Is(err, ErrTooLarge):
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("fatal error not sticky: %v then %v", err, err2)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}

		// The Scanner agrees with the Reader and never fails on content.
		s := NewScanner(bytes.NewReader(data), opts)
		defer s.Close()
		for s.Scan() {
			checkValue(t, s.Value())
		}
		st := s.Stats()
		if st.Offset != r.Offset() || st.Truncated != r.Truncated() || st.Records > records {
			t.Fatalf("scanner stats %+v vs reader offset %d truncated %v records %d", st, r.Offset(), r.Truncated(), records)
		}
		if (s.Err() != nil) != (err != io.EOF) || st.Corrupt != errors.Is(err, ErrCorrupt) {
			t.Fatalf("scanner err %v corrupt %v, reader err %v", s.Err(), st.Corrupt, err)
		}

		// The pipelined path (tiny batches) yields exactly what the plain one does.
		want := scanMode(data, readers[0].rd, opts, plain)
		diffResults(t, "pipeline", scanMode(data, readers[0].rd, opts, pipeMode{0, 64}), want)
	})
}

// checkValue checks the invariants of a decoded Value.
func checkValue(t *testing.T, v *Value) {
	t.Helper()
	if v.Kind < KindScalar || v.Kind > KindSessionStart {
		t.Fatalf("kind %d", v.Kind)
	}
	switch v.Kind {
	case KindScalar:
		if len(v.Floats) == 0 || !(v.Floats[0] == v.Scalar || math.IsNaN(v.Scalar)) {
			t.Fatalf("scalar %v floats %v", v.Scalar, v.Floats)
		}
	case KindImage:
		if v.DType != DTString {
			t.Fatalf("image dtype %d", v.DType)
		}
	case KindGraph:
		if v.Tag != GraphTag || v.Plugin != PluginGraphs {
			t.Fatalf("graph value %q %q", v.Tag, v.Plugin)
		}
	}
}

func FuzzDecode(f *testing.F) {
	_, payloads := corpusSeeds(f)
	for _, p := range payloads {
		f.Add(p)
	}
	f.Add(AppendScalarEvent(nil, "loss", 3, 1.5, 0.25))
	f.Add(tensorEvent("a", metaOf("scalars"), varintField(1, DTHalf), field(tContent, le16(0xc000))))
	f.Add(tensorEvent("t", metaOf("text"), varintField(1, DTString), shapeOf(2), field(tContent, []byte("\x02\x03hibye"))))
	f.Add(tensorEvent("h", metaOf("histograms"), varintField(1, DTFloat), shapeOf(1000000, 3), field(tFloat, make([]byte, 4))))
	f.Fuzz(func(t *testing.T, payload []byte) {
		d := NewDecoder(nil)
		vals, err := d.Decode(payload)
		if err != nil && len(vals) != 0 {
			t.Fatalf("values with an error")
		}
		for i := range vals {
			checkValue(t, &vals[i])
		}
		// Decoding again (warm caches) gives the same values.
		n := len(vals)
		kinds := make([]Kind, n)
		for i := range vals {
			kinds[i] = vals[i].Kind
		}
		vals2, err2 := d.Decode(payload)
		if (err == nil) != (err2 == nil) || len(vals2) != n {
			t.Fatalf("second decode differs: %v / %v, %d / %d values", err, err2, n, len(vals2))
		}
		for i := range vals2 {
			if vals2[i].Kind != kinds[i] {
				t.Fatalf("second decode: kind %v, was %v", vals2[i].Kind, kinds[i])
			}
		}
		// With the fast path (third decode: the tag cycle is known) and
		// without it, the values are the same.
		fast, slow := NewDecoder(nil), NewDecoder(nil)
		slow.slow = true
		for range 2 {
			fast.Decode(payload)
			slow.Decode(payload)
		}
		fv, ferr := fast.Decode(payload)
		sv, serr := slow.Decode(payload)
		if (ferr == nil) != (serr == nil) || len(fv) != len(sv) {
			t.Fatalf("fast path: %v / %v, %d / %d values", ferr, serr, len(fv), len(sv))
		}
		for i := range fv {
			if f, s := fmt.Sprintf("%+v", fv[i]), fmt.Sprintf("%+v", sv[i]); f != s {
				t.Fatalf("fast path value %d:\n%s\nslow:\n%s", i, f, s)
			}
		}
		// What protobuf-go accepts, the hand-written decoder accepts too,
		// and they agree on step and wall time.
		var ev tfeventspb.Event
		if proto.Unmarshal(payload, &ev) != nil {
			return
		}
		if err != nil {
			t.Fatalf("protobuf-go decodes the event, Decode fails: %v", err)
		}
		for _, v := range vals2 {
			if v.Step != ev.Step || !(v.WallTime == ev.WallTime || math.IsNaN(v.WallTime)) {
				t.Fatalf("step/wall %d %v, protobuf-go %d %v", v.Step, v.WallTime, ev.Step, ev.WallTime)
			}
		}
	})
}
