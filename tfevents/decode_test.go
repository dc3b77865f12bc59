package tfevents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// scanAll scans data and returns deep copies of its values.
func scanAll(t testing.TB, data []byte, opts Options) ([]Value, *Scanner) {
	t.Helper()
	s := NewScanner(bytes.NewReader(data), opts)
	defer s.Close()
	var out []Value
	for s.Scan() {
		out = append(out, copyValue(s.Value()))
	}
	return out, s
}

// copyValue deep-copies the parts of v tests look at.
func copyValue(v *Value) Value {
	c := *v
	c.Buckets = append([][3]float64(nil), v.Buckets...)
	c.Floats = append([]float64(nil), v.Floats...)
	c.Shape = append([]int64(nil), v.Shape...)
	c.Blob = append([]byte(nil), v.Blob...)
	c.Metadata = nil
	c.Strings = nil
	for _, s := range v.Strings {
		c.Strings = append(c.Strings, append([]byte{}, s...))
	}
	return c
}

func strs(ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestWriterScannerRoundTrip(t *testing.T) {
	png := []byte("\x89PNG fake")
	tests := []struct {
		name  string
		write func(w *Writer) error
		want  Value
	}{
		{"TF1 scalar", func(w *Writer) error { return w.WriteScalar("loss", 7, 1.5, 0.25) },
			Value{Tag: "loss", Plugin: "scalars", Step: 7, WallTime: 1.5, Kind: KindScalar, Scalar: 0.25, Floats: []float64{0.25}, DType: DTFloat}},
		{"TF2 scalar", func(w *Writer) error { return w.WriteTensorScalar("acc", 3, 2, -4.5) },
			Value{Tag: "acc", Plugin: "scalars", Step: 3, WallTime: 2, Kind: KindScalar, Scalar: -4.5, Floats: []float64{-4.5}, DType: DTFloat}},
		{"step 0", func(w *Writer) error { return w.WriteScalar("x", 0, 0, 1) },
			Value{Tag: "x", Plugin: "scalars", Kind: KindScalar, Scalar: 1, Floats: []float64{1}, DType: DTFloat}},
		{"negative step", func(w *Writer) error { return w.WriteScalar("x", -5, 0, 1) },
			Value{Tag: "x", Plugin: "scalars", Step: -5, Kind: KindScalar, Scalar: 1, Floats: []float64{1}, DType: DTFloat}},
		{"int64 scalar", func(w *Writer) error {
			return w.WriteValue(&Value{Tag: "n", Step: 1, Kind: KindScalar, Scalar: 1 << 40, DType: DTInt64})
		}, Value{Tag: "n", Step: 1, Kind: KindScalar, Scalar: 1 << 40, Floats: []float64{1 << 40}, DType: DTInt64}},
		{"TF2 histogram", func(w *Writer) error {
			return w.WriteHistogram("w", 2, 0, [][3]float64{{0, 1, 3}, {1, 2, 4}})
		}, Value{Tag: "w", Plugin: "histograms", Step: 2, Kind: KindHistogram, Buckets: [][3]float64{{0, 1, 3}, {1, 2, 4}},
			Floats: []float64{0, 1, 3, 1, 2, 4}, Shape: []int64{2, 3}, DType: DTDouble}},
		{"empty TF2 histogram", func(w *Writer) error { return w.WriteHistogram("w", 2, 0, nil) },
			Value{Tag: "w", Plugin: "histograms", Step: 2, Kind: KindHistogram, Shape: []int64{0, 3}, DType: DTDouble}},
		{"TF1 histogram", func(w *Writer) error {
			return w.WriteHistogramTF1("h", 1, 0, HistogramTF1{Min: -0.5, Max: 2.5, Num: 6,
				Limits: []float64{-1, 0, 1, 2, 3, 4}, Counts: []float64{0, 1, 0, 3, 2, 0}})
		}, Value{Tag: "h", Plugin: "histograms", Step: 1, Kind: KindHistogram,
			Buckets: [][3]float64{{-0.5, 0, 1}, {0, 1, 0}, {1, 2, 3}, {2, 2.5, 2}},
			Floats:  []float64{-0.5, 0, 1, 0, 1, 0, 1, 2, 3, 2, 2.5, 2}, Shape: []int64{4, 3}, DType: DTDouble}},
		{"TF1 histogram one bucket", func(w *Writer) error {
			return w.WriteHistogramTF1("h", 1, 0, HistogramTF1{Min: 3, Max: 3, Num: 2,
				Limits: []float64{1, 4, 9}, Counts: []float64{0, 2, 0}})
		}, Value{Tag: "h", Plugin: "histograms", Step: 1, Kind: KindHistogram,
			Buckets: [][3]float64{{3, 3, 2}}, Floats: []float64{3, 3, 2}, Shape: []int64{1, 3}, DType: DTDouble}},
		{"TF1 histogram all empty", func(w *Writer) error {
			return w.WriteHistogramTF1("h", 1, 0, HistogramTF1{Limits: []float64{1, 2}, Counts: []float64{0, 0}})
		}, Value{Tag: "h", Plugin: "histograms", Step: 1, Kind: KindHistogram, Shape: []int64{0, 3}, DType: DTDouble}},
		{"TF2 image", func(w *Writer) error { return w.WriteImage("img", 4, 0, 640, 480, png, png) },
			Value{Tag: "img", Plugin: "images", Step: 4, Kind: KindImage, Strings: [][]byte{[]byte("640"), []byte("480"), png, png},
				Shape: []int64{4}, DType: DTString}},
		{"TF1 image", func(w *Writer) error { return w.WriteImageTF1("img", 4, 0, 32, 16, png) },
			Value{Tag: "img", Plugin: "images", Step: 4, Kind: KindImage, Strings: [][]byte{[]byte("32"), []byte("16"), png},
				Shape: []int64{3}, DType: DTString}},
		{"TF2 audio", func(w *Writer) error {
			return w.WriteAudio("snd", 5, 0, [][]byte{[]byte("RIFF1"), []byte("RIFF2")}, []string{"a"})
		}, Value{Tag: "snd", Plugin: "audio", Step: 5, Kind: KindAudio, Strings: strs("RIFF1", "a", "RIFF2", ""),
			Shape: []int64{2, 2}, DType: DTString, ContentType: "audio/wav"}},
		{"TF1 audio", func(w *Writer) error { return w.WriteAudioTF1("snd", 5, 0, []byte("RIFF"), "audio/wav") },
			Value{Tag: "snd", Plugin: "audio", Step: 5, Kind: KindAudio, Strings: strs("RIFF", ""),
				Shape: []int64{1, 2}, DType: DTString, ContentType: "audio/wav"}},
		{"text", func(w *Writer) error { return w.WriteText("notes", 1, 0, "# hi") },
			Value{Tag: "notes", Plugin: "text", Step: 1, Kind: KindText, Strings: strs("# hi"), Shape: []int64{}, DType: DTString}},
		{"text rank 1", func(w *Writer) error { return w.WriteText("notes", 1, 0, "a", "b") },
			Value{Tag: "notes", Plugin: "text", Step: 1, Kind: KindText, Strings: strs("a", "b"), Shape: []int64{2}, DType: DTString}},
		{"unknown plugin tensor", func(w *Writer) error {
			return w.WriteValue(&Value{Tag: "pr", Plugin: "pr_curves", Kind: KindTensor, DType: DTFloat, Floats: []float64{1, 2, 3, 4, 5, 6}, Shape: []int64{6, 1}})
		}, Value{Tag: "pr", Plugin: "pr_curves", Kind: KindTensor, DType: DTFloat, Floats: []float64{1, 2, 3, 4, 5, 6}, Shape: []int64{6, 1}}},
		{"display name", func(w *Writer) error {
			return w.WriteValue(&Value{Tag: "t", Plugin: "scalars", Kind: KindScalar, Scalar: 2, DisplayName: "Tee", Description: "about t"})
		}, Value{Tag: "t", Plugin: "scalars", Kind: KindScalar, Scalar: 2, Floats: []float64{2}, DType: DTFloat, DisplayName: "Tee", Description: "about t"}},
		{"graph", func(w *Writer) error { return w.WriteGraph(0, 3, []byte("graphdef")) },
			Value{Tag: GraphTag, Plugin: "graphs", WallTime: 3, Kind: KindGraph, Blob: []byte("graphdef")}},
		{"run metadata", func(w *Writer) error {
			return w.WriteValue(&Value{Tag: "step_1", Step: 1, Kind: KindRunMetadata, Blob: []byte("rm")})
		}, Value{Tag: "step_1", Plugin: "graph_tagged_run_metadata", Step: 1, Kind: KindRunMetadata, Blob: []byte("rm")}},
		{"session start", func(w *Writer) error { return w.WriteSessionStart(100, 9) },
			Value{Step: 100, WallTime: 9, Kind: KindSessionStart}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.WriteFileVersion(1); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(w); err != nil {
				t.Fatal(err)
			}
			vals, s := scanAll(t, buf.Bytes(), Options{})
			if s.Err() != nil {
				t.Fatal(s.Err())
			}
			if st := s.Stats(); st.Records != 2 || st.BadRecords != 0 || st.Truncated || st.Corrupt || st.Offset != int64(buf.Len()) {
				t.Fatalf("stats %+v", st)
			}
			if len(vals) != 1 {
				t.Fatalf("got %d values, want 1", len(vals))
			}
			assertValue(t, vals[0], tc.want)
		})
	}
}

func assertValue(t *testing.T, got, want Value) {
	t.Helper()
	norm := func(v *Value) {
		if len(v.Buckets) == 0 {
			v.Buckets = nil
		}
		if len(v.Floats) == 0 {
			v.Floats = nil
		}
		if len(v.Blob) == 0 {
			v.Blob = nil
		}
		if len(v.Shape) == 0 {
			v.Shape = nil
		}
		for i, s := range v.Strings {
			if len(s) == 0 {
				v.Strings[i] = nil
			}
		}
		v.Metadata = nil
	}
	norm(&got)
	norm(&want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("value\n got %+v\nwant %+v", got, want)
	}
}

// Hand-built protobuf, for inputs the Writer does not produce.
func field(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func varintField(num protowire.Number, x uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), x)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func shapeOf(dims ...int64) []byte {
	var s []byte
	for _, d := range dims {
		s = append(s, field(2, varintField(1, uint64(d)))...)
	}
	return field(tShape, s)
}

func metaOf(plugin string) []byte { return field(9, field(1, field(1, []byte(plugin)))) }

func tensorEvent(tag string, meta []byte, tensor ...[]byte) []byte {
	v := cat(field(1, []byte(tag)), meta, field(fTensor, cat(tensor...)))
	return cat(varintField(2, 1), field(5, field(1, v)))
}

func le16(xs ...uint16) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func TestDecodeTensors(t *testing.T) {
	nan := math.NaN()
	_ = nan
	tests := []struct {
		name       string
		event      []byte
		wantKind   Kind
		wantPlugin string
		wantScalar float64
		wantFloats []float64
		wantStrs   []string
	}{
		{"rank-0 double, no plugin", tensorEvent("a", nil, varintField(1, DTDouble), shapeOf(), field(tDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(2.5)))),
			KindScalar, "", 2.5, []float64{2.5}, nil},
		{"rank-0 int32 typed, no plugin", tensorEvent("a", nil, varintField(1, DTInt32), varintField(tInt, uint64(0xFFFFFFFFFFFFFFFD))),
			KindScalar, "", -3, []float64{-3}, nil},
		{"rank-0 int64 content, no plugin", tensorEvent("a", nil, varintField(1, DTInt64), field(tContent, binary.LittleEndian.AppendUint64(nil, 42))),
			KindScalar, "", 42, []float64{42}, nil},
		{"rank-0 half, no plugin is a tensor", tensorEvent("a", nil, varintField(1, DTHalf), field(tHalf, protowire.AppendVarint(nil, 0x3c00))),
			KindTensor, "", 0, []float64{1}, nil},
		{"half scalars plugin", tensorEvent("a", metaOf("scalars"), varintField(1, DTHalf), field(tContent, le16(0xc000))),
			KindScalar, "scalars", -2, []float64{-2}, nil},
		{"bfloat16 scalars plugin", tensorEvent("a", metaOf("scalars"), varintField(1, DTBfloat16), field(tHalf, protowire.AppendVarint(nil, 0x3fc0))),
			KindScalar, "scalars", 1.5, []float64{1.5}, nil},
		{"half subnormal and inf", tensorEvent("a", metaOf("x"), varintField(1, DTHalf), shapeOf(3), field(tContent, le16(0x0001, 0x7c00, 0xfc00))),
			KindTensor, "x", 0, []float64{math.Ldexp(1, -24), math.Inf(1), math.Inf(-1)}, nil},
		{"uint8 / bool / int16 content", tensorEvent("a", metaOf("x"), varintField(1, DTInt16), shapeOf(2), field(tContent, le16(0xffff, 7))),
			KindTensor, "x", 0, []float64{-1, 7}, nil},
		{"short float_val repeats the last value", tensorEvent("a", metaOf("x"), varintField(1, DTFloat), shapeOf(2, 2), field(tFloat, binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5)))),
			KindTensor, "x", 0, []float64{0.5, 0.5, 0.5, 0.5}, nil},
		{"unpacked int_val", tensorEvent("a", metaOf("x"), varintField(1, DTInt32), shapeOf(2), varintField(tInt, 1), varintField(tInt, 2)),
			KindTensor, "x", 0, []float64{1, 2}, nil},
		{"bool_val", tensorEvent("a", metaOf("x"), varintField(1, DTBool), shapeOf(2), field(tBool, []byte{1, 0})),
			KindTensor, "x", 0, []float64{1, 0}, nil},
		{"uint64_val", tensorEvent("a", metaOf("x"), varintField(1, DTUint64), field(tUint64, protowire.AppendVarint(nil, 1<<63))),
			KindTensor, "x", 0, []float64{1 << 63}, nil},
		{"dtype after values", tensorEvent("a", metaOf("scalars"), field(tDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(-1))), varintField(1, DTDouble)),
			KindScalar, "scalars", -1, []float64{-1}, nil},
		{"histogram [k,3] float", tensorEvent("h", metaOf("histograms"), varintField(1, DTFloat), shapeOf(1, 3), field(tContent, cat(
			binary.LittleEndian.AppendUint32(nil, math.Float32bits(1)), binary.LittleEndian.AppendUint32(nil, math.Float32bits(2)), binary.LittleEndian.AppendUint32(nil, math.Float32bits(5))))),
			KindHistogram, "histograms", 0, []float64{1, 2, 5}, nil},
		{"histograms plugin, wrong shape", tensorEvent("h", metaOf("histograms"), varintField(1, DTDouble), shapeOf(2), field(tDouble, make([]byte, 16))),
			KindTensor, "histograms", 0, []float64{0, 0}, nil},
		{"string tensor_content", tensorEvent("t", metaOf("text"), varintField(1, DTString), shapeOf(2), field(tContent, []byte("\x02\x03hibye"))),
			KindText, "text", 0, nil, []string{"hi", "bye"}},
		{"text, non-string dtype", tensorEvent("t", metaOf("text"), varintField(1, DTFloat), field(tFloat, make([]byte, 4))),
			KindTensor, "text", 0, []float64{0}, nil},
		{"string scalar without plugin", tensorEvent("checkpoint_path", nil, varintField(1, DTString), field(tString, []byte("/tmp/x"))),
			KindTensor, "", 0, nil, []string{"/tmp/x"}},
		{"metadata only (hparams)", cat(field(5, field(1, cat(field(1, []byte("_hparams_/experiment")), metaOf("hparams"))))),
			KindTensor, "hparams", 0, nil, nil},
		{"unknown dtype", tensorEvent("x", nil, varintField(1, 99), field(tContent, []byte{1, 2})),
			KindTensor, "", 0, nil, nil},
		{"unknown fields everywhere", cat(varintField(99, 1), tensorEvent("a", cat(metaOf("scalars")), varintField(1, DTFloat), varintField(50, 3), field(tFloat, binary.LittleEndian.AppendUint32(nil, math.Float32bits(8))))),
			KindScalar, "scalars", 8, []float64{8}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(nil)
			vals, err := d.Decode(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if len(vals) != 1 {
				t.Fatalf("%d values", len(vals))
			}
			v := vals[0]
			if v.Kind != tc.wantKind || v.Plugin != tc.wantPlugin || v.Scalar != tc.wantScalar {
				t.Errorf("kind %v plugin %q scalar %v; want %v %q %v", v.Kind, v.Plugin, v.Scalar, tc.wantKind, tc.wantPlugin, tc.wantScalar)
			}
			if len(v.Floats) != len(tc.wantFloats) {
				t.Fatalf("floats %v, want %v", v.Floats, tc.wantFloats)
			}
			for i := range v.Floats {
				if v.Floats[i] != tc.wantFloats[i] {
					t.Errorf("floats %v, want %v", v.Floats, tc.wantFloats)
				}
			}
			var got []string
			for _, s := range v.Strings {
				got = append(got, string(s))
			}
			if !reflect.DeepEqual(got, tc.wantStrs) {
				t.Errorf("strings %q, want %q", got, tc.wantStrs)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := tensorEvent("a", metaOf("scalars"), varintField(1, DTFloat), field(tFloat, make([]byte, 4)))
	tests := []struct {
		name  string
		event []byte
	}{
		{"truncated", good[:len(good)-1]},
		{"bad tag", []byte{0x00}},
		{"varint overflow", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"summary length past end", []byte{0x2a, 0x05, 0x0a}},
		{"value truncated inside", cat(field(5, field(1, []byte{0x0a, 0x09, 'a'})))},
		{"packed floats not a multiple of 4", tensorEvent("a", nil, varintField(1, DTFloat), field(tFloat, make([]byte, 5)))},
		{"histogram packed length", cat(field(5, field(1, cat(field(1, []byte("h")), field(fHisto, field(6, make([]byte, 7)))))))},
		{"bad metadata", cat(field(5, field(1, cat(field(1, []byte("h")), field(9, []byte{0x0a, 0x05})))))},
		{"end group without start", []byte{0x0c}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(nil)
			vals, err := d.Decode(tc.event)
			if err == nil {
				t.Fatalf("no error, %d values", len(vals))
			}
			if len(vals) != 0 {
				t.Fatalf("values on error")
			}
			// The same bytes as a record: a bad record, skipped, counted.
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.WriteScalar("x", 1, 0, 1)
			w.WriteEvent(tc.event)
			w.WriteScalar("x", 2, 0, 2)
			vs, s := scanAll(t, buf.Bytes(), Options{})
			st := s.Stats()
			if len(vs) != 2 || st.Records != 2 || st.BadRecords != 1 || s.Err() != nil {
				t.Fatalf("values %d stats %+v err %v", len(vs), st, s.Err())
			}
			if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "undecodable") {
				t.Fatalf("warnings %q", st.Warnings)
			}
		})
	}
}

func TestScannerStats(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteFileVersion(1)
	w.WriteScalar("a", 1, 0, 1)
	badAt := buf.Len()
	w.WriteScalar("a", 2, 0, 2)
	w.WriteScalar("a", 3, 0, 3)
	whole := buf.Len()
	w.WriteScalar("a", 4, 0, 4)
	data := append([]byte(nil), buf.Bytes()...)
	data[len(data)-1] ^= 1 // payload CRC of the last record
	data[badAt+14] ^= 1    // payload byte of step 2

	tests := []struct {
		name      string
		data      []byte
		steps     []int64
		st        FileStats
		fatal     error
		warnings  []string
		wantStart bool
	}{
		{"bad payloads skipped", data, []int64{1, 3}, FileStats{Records: 3, BadRecords: 2, Offset: int64(len(data))}, nil,
			[]string{fmt.Sprintf("record at offset %d: payload CRC mismatch, skipped", badAt), fmt.Sprintf("record at offset %d: payload CRC mismatch, skipped", whole)}, false},
		{"truncated tail", data[:whole+5], []int64{1, 3}, FileStats{Records: 3, BadRecords: 1, Offset: int64(whole), Truncated: true}, nil,
			[]string{fmt.Sprintf("record at offset %d: payload CRC mismatch, skipped", badAt), fmt.Sprintf("file ends inside a record after offset %d (truncated tail; resume from there)", whole)}, false},
		{"corrupt", append(append([]byte(nil), data[:whole]...), make([]byte, 20)...), []int64{1, 3}, FileStats{Records: 3, BadRecords: 1, Offset: int64(whole), Corrupt: true}, ErrCorrupt,
			[]string{fmt.Sprintf("record at offset %d: payload CRC mismatch, skipped", badAt), fmt.Sprintf("record at offset %d: length CRC mismatch, the rest of the file cannot be read", whole)}, false},
		{"empty", nil, nil, FileStats{}, nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals, s := scanAll(t, tc.data, Options{})
			var steps []int64
			for _, v := range vals {
				steps = append(steps, v.Step)
			}
			if !reflect.DeepEqual(steps, tc.steps) {
				t.Errorf("steps %v, want %v", steps, tc.steps)
			}
			st := s.Stats()
			if !reflect.DeepEqual(st.Warnings, tc.warnings) {
				t.Errorf("warnings %q, want %q", st.Warnings, tc.warnings)
			}
			st.Warnings = nil
			if !reflect.DeepEqual(st, tc.st) {
				t.Errorf("stats %+v, want %+v", st, tc.st)
			}
			if !errors.Is(s.Err(), tc.fatal) || (tc.fatal == nil && s.Err() != nil) {
				t.Errorf("err %v, want %v", s.Err(), tc.fatal)
			}
		})
	}
}

func TestScannerWarningCap(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := 0; i < 300; i++ {
		w.WriteEvent([]byte{0xff})
	}
	_, s := scanAll(t, buf.Bytes(), Options{})
	st := s.Stats()
	if st.BadRecords != 300 || len(st.Warnings) != maxWarnings+1 || st.Warnings[maxWarnings] != "200 more warnings left out" {
		t.Fatalf("bad %d, %d warnings, last %q", st.BadRecords, len(st.Warnings), st.Warnings[len(st.Warnings)-1])
	}
}

// TestPluginMemory checks that a tag's plugin is remembered from its first
// metadata, within a scan and across chunks through Options.Plugins.
func TestPluginMemory(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.MetadataOnce = true
	w.WriteText("notes", 1, 0, "first")
	w.WriteHistogram("h", 1, 0, [][3]float64{{0, 1, 1}})
	split := buf.Len()
	w.WriteText("notes", 2, 0, "second")
	w.WriteHistogram("h", 2, 0, [][3]float64{{0, 1, 2}})

	tests := []struct {
		name    string
		data    []byte
		plugins map[string]string
		want    []Kind
	}{
		{"whole file", buf.Bytes(), nil, []Kind{KindText, KindHistogram, KindText, KindHistogram}},
		{"second chunk with plugins", buf.Bytes()[split:], map[string]string{"notes": "text", "h": "histograms"}, []Kind{KindText, KindHistogram}},
		{"second chunk without plugins", buf.Bytes()[split:], nil, []Kind{KindTensor, KindTensor}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals, s := scanAll(t, tc.data, Options{Plugins: tc.plugins})
			var kinds []Kind
			for _, v := range vals {
				kinds = append(kinds, v.Kind)
			}
			if !reflect.DeepEqual(kinds, tc.want) {
				t.Fatalf("kinds %v, want %v", kinds, tc.want)
			}
			if tc.plugins != nil && !reflect.DeepEqual(s.Plugins(), tc.plugins) {
				t.Fatalf("plugins %v", s.Plugins())
			}
		})
	}
	// The first scan fills the caller's map.
	m := map[string]string{}
	scanAll(t, buf.Bytes()[:split], Options{Plugins: m})
	if want := map[string]string{"notes": "text", "h": "histograms"}; !reflect.DeepEqual(m, want) {
		t.Fatalf("Options.Plugins = %v, want %v", m, want)
	}
}

// TestScalarEventsDoNotAllocate checks the steady state: no allocation per
// scalar event, TF1 or TF2, through the Scanner.
func TestScalarEventsDoNotAllocate(t *testing.T) {
	for _, tf2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("tf2=%v", tf2), func(t *testing.T) {
			data := genScalars(2000, 10, tf2)
			s := NewScanner(bytes.NewReader(data), Options{})
			defer s.Close()
			for i := 0; i < 100; i++ { // warm up: tag cache, buffers
				if !s.Scan() {
					t.Fatal("short")
				}
			}
			var sum float64
			n := testing.AllocsPerRun(5000, func() {
				if !s.Scan() || s.Value().Kind != KindScalar {
					t.Fatalf("scan stopped: %v", s.Err())
				}
				sum += s.Value().Scalar
			})
			if n != 0 {
				t.Fatalf("%v allocs per scalar event", n)
			}
		})
	}
}
