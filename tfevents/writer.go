package tfevents

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Writer writes an event file: each Write* method frames one serialized
// tensorflow.Event as a TFRecord (with both masked CRC32Cs) and writes it
// with a single Write call to the underlying writer. It is meant for tests
// and tools; it is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	rec []byte
	ev  []byte
	// MetadataOnce sends a tag's SummaryMetadata only with its first value
	// (as TF1's FileWriter and tensorboardX do); by default every value
	// carries it (as TF2 and PyTorch do).
	MetadataOnce bool
	// TypedFields writes a numeric tensor's values in its typed repeated
	// field (float_val, double_val, int_val, int64_val) rather than in
	// tensor_content, and leaves out the tensor_shape of a rank-0 tensor,
	// as PyTorch writes its new-style scalars and pr_curves.
	TypedFields bool
	seen        map[string]bool
}

// NewWriter returns a Writer to w. It writes nothing until asked (see
// WriteFileVersion for the usual first record).
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, seen: map[string]bool{}}
}

// WriteRecord writes payload framed as one TFRecord.
func (w *Writer) WriteRecord(payload []byte) error {
	w.rec = AppendRecord(w.rec[:0], payload)
	_, err := w.w.Write(w.rec)
	return err
}

// WriteEvent writes payload, a serialized tensorflow.Event, as one record.
func (w *Writer) WriteEvent(payload []byte) error { return w.WriteRecord(payload) }

// AppendRecord appends payload framed as a TFRecord to dst.
func AppendRecord(dst, payload []byte) []byte {
	var h [12]byte
	binary.LittleEndian.PutUint64(h[:8], uint64(len(payload)))
	binary.LittleEndian.PutUint32(h[8:], maskedCRC(h[:8]))
	dst = append(dst, h[:]...)
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(payload))
}

func appendEventHeader(b []byte, step int64, wall float64) []byte {
	if wall != 0 {
		b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(wall))
	}
	if step != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(step))
	}
	return b
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// WriteFileVersion writes the usual first record, file_version "brain.Event:2".
func (w *Writer) WriteFileVersion(wall float64) error {
	return w.WriteVersion(wall, "brain.Event:2")
}

// WriteVersion writes a file_version record holding version (e.g.
// "brain.Event:1", as files older than TF 1.0 start).
func (w *Writer) WriteVersion(wall float64, version string) error {
	b := appendEventHeader(w.ev[:0], 0, wall)
	b = appendStringField(b, 3, version)
	w.ev = b
	return w.WriteRecord(b)
}

// WriteScalar writes a TF1-style scalar: a Summary.Value with simple_value
// (a float32, as on the wire).
func (w *Writer) WriteScalar(tag string, step int64, wall float64, v float64) error {
	w.ev = AppendScalarEvent(w.ev[:0], tag, step, wall, v)
	return w.WriteRecord(w.ev)
}

// AppendScalarEvent appends a serialized Event holding one TF1 simple_value.
func AppendScalarEvent(dst []byte, tag string, step int64, wall float64, v float64) []byte {
	var val [64]byte
	vb := appendStringField(val[:0], 1, tag)
	vb = protowire.AppendTag(vb, 2, protowire.Fixed32Type)
	vb = protowire.AppendFixed32(vb, math.Float32bits(float32(v)))
	var sum [80]byte
	sb := appendBytesField(sum[:0], 1, vb)
	dst = appendEventHeader(dst, step, wall)
	return appendBytesField(dst, 5, sb)
}

// WriteMerged writes one Event whose Summary holds a TF1 simple_value per
// tag (tags[i] = values[i]), as TF1's merged summaries (tf.summary.merge_all)
// are written.
func (w *Writer) WriteMerged(step int64, wall float64, tags []string, values []float64) error {
	if len(tags) != len(values) {
		return fmt.Errorf("tfevents: WriteMerged: %d tags, %d values", len(tags), len(values))
	}
	var sb []byte
	for i, tag := range tags {
		vb := appendStringField(nil, 1, tag)
		vb = protowire.AppendTag(vb, fSimple, protowire.Fixed32Type)
		vb = protowire.AppendFixed32(vb, math.Float32bits(float32(values[i])))
		sb = appendBytesField(sb, 1, vb)
	}
	b := appendEventHeader(w.ev[:0], step, wall)
	b = appendBytesField(b, 5, sb)
	w.ev = b
	return w.WriteRecord(b)
}

// WriteSimpleValue writes v.Scalar as a TF1 simple_value (a float32)
// carrying SummaryMetadata as WriteValue builds it (v.Metadata, else from
// v.Plugin, v.DisplayName and v.Description; see MetadataOnce), as
// tensorboardX and some PyTorch wrappers write scalars.
func (w *Writer) WriteSimpleValue(v *Value) error {
	vb := appendStringField(nil, 1, v.Tag)
	vb = w.appendMetadata(vb, v)
	vb = protowire.AppendTag(vb, fSimple, protowire.Fixed32Type)
	vb = protowire.AppendFixed32(vb, math.Float32bits(float32(v.Scalar)))
	b := appendEventHeader(w.ev[:0], v.Step, v.WallTime)
	b = appendBytesField(b, 5, appendBytesField(nil, 1, vb))
	w.ev = b
	return w.WriteRecord(b)
}

// WriteMetadataOnly writes a summary value that holds a tag and its
// SummaryMetadata (plugin name and content) and no data, as the hparams
// plugin writes its experiment, session start and session end values.
func (w *Writer) WriteMetadataOnly(tag string, step int64, wall float64, plugin string, content []byte) error {
	vb := appendStringField(nil, 1, tag)
	vb = appendBytesField(vb, 9, SummaryMetadata(plugin, content))
	b := appendEventHeader(w.ev[:0], step, wall)
	b = appendBytesField(b, 5, appendBytesField(nil, 1, vb))
	w.ev = b
	return w.WriteRecord(b)
}

// SummaryMetadata returns a serialized SummaryMetadata naming plugin with
// the given plugin content (nil for none): what Value.Metadata holds.
func SummaryMetadata(plugin string, content []byte) []byte {
	pd := appendStringField(nil, 1, plugin)
	if content != nil {
		pd = appendBytesField(pd, 2, content)
	}
	return appendBytesField(nil, 1, pd)
}

// WriteTensorScalar writes a TF2-style scalar: a rank-0 FLOAT tensor (in
// tensor_content) with metadata naming the scalars plugin.
func (w *Writer) WriteTensorScalar(tag string, step int64, wall float64, v float64) error {
	return w.WriteValue(&Value{Tag: tag, Plugin: PluginScalars, Step: step, WallTime: wall, Kind: KindScalar, Scalar: v, DType: DTFloat})
}

// WriteHistogram writes a TF2-style histogram: a DOUBLE tensor [k, 3] of
// rows (left, right, count) with metadata naming the histograms plugin.
func (w *Writer) WriteHistogram(tag string, step int64, wall float64, buckets [][3]float64) error {
	return w.WriteValue(&Value{Tag: tag, Plugin: PluginHistograms, Step: step, WallTime: wall, Kind: KindHistogram, Buckets: buckets})
}

// HistogramTF1 is a TF1 HistogramProto: Limits[i] is the right edge of
// bucket i and Counts[i] its count.
type HistogramTF1 struct {
	Min, Max, Num, Sum, SumSquares float64
	Limits, Counts                 []float64
}

// WriteHistogramTF1 writes a TF1-style histo value (no metadata).
func (w *Writer) WriteHistogramTF1(tag string, step int64, wall float64, h HistogramTF1) error {
	var hb []byte
	for i, f := range []float64{h.Min, h.Max, h.Num, h.Sum, h.SumSquares} {
		hb = protowire.AppendTag(hb, protowire.Number(i+1), protowire.Fixed64Type)
		hb = protowire.AppendFixed64(hb, math.Float64bits(f))
	}
	hb = appendBytesField(hb, 6, packDoubles(h.Limits))
	hb = appendBytesField(hb, 7, packDoubles(h.Counts))
	return w.writeTF1(tag, step, wall, fHisto, hb)
}

// WriteImageTF1 writes a TF1-style Summary.Image value (no metadata).
func (w *Writer) WriteImageTF1(tag string, step int64, wall float64, width, height int, encoded []byte) error {
	var ib []byte
	ib = protowire.AppendTag(ib, 1, protowire.VarintType)
	ib = protowire.AppendVarint(ib, uint64(height))
	ib = protowire.AppendTag(ib, 2, protowire.VarintType)
	ib = protowire.AppendVarint(ib, uint64(width))
	ib = protowire.AppendTag(ib, 3, protowire.VarintType)
	ib = protowire.AppendVarint(ib, 3)
	ib = appendBytesField(ib, 4, encoded)
	return w.writeTF1(tag, step, wall, fImage, ib)
}

// WriteAudioTF1 writes a TF1-style Summary.Audio value (no metadata).
func (w *Writer) WriteAudioTF1(tag string, step int64, wall float64, encoded []byte, contentType string) error {
	var ab []byte
	ab = protowire.AppendTag(ab, 1, protowire.Fixed32Type)
	ab = protowire.AppendFixed32(ab, math.Float32bits(44100))
	ab = protowire.AppendTag(ab, 2, protowire.VarintType)
	ab = protowire.AppendVarint(ab, 1)
	ab = appendBytesField(ab, 4, encoded)
	ab = appendStringField(ab, 5, contentType)
	return w.writeTF1(tag, step, wall, fAudio, ab)
}

func (w *Writer) writeTF1(tag string, step int64, wall float64, field protowire.Number, body []byte) error {
	vb := appendStringField(nil, 1, tag)
	vb = appendBytesField(vb, field, body)
	b := appendEventHeader(w.ev[:0], step, wall)
	b = appendBytesField(b, 5, appendBytesField(nil, 1, vb))
	w.ev = b
	return w.WriteRecord(b)
}

// WriteImage writes a TF2-style image value: a STRING tensor [width,
// height, image...] with metadata naming the images plugin.
func (w *Writer) WriteImage(tag string, step int64, wall float64, width, height int, images ...[]byte) error {
	s := [][]byte{[]byte(strconv.Itoa(width)), []byte(strconv.Itoa(height))}
	s = append(s, images...)
	return w.WriteValue(&Value{Tag: tag, Plugin: PluginImages, Step: step, WallTime: wall, Kind: KindImage, Strings: s, Shape: []int64{int64(len(s))}})
}

// WriteAudio writes a TF2-style audio value: a STRING tensor [k, 2] of
// (encoded audio, label) rows, with metadata naming the audio plugin and
// the WAV encoding. labels may be shorter than clips (missing labels are "").
func (w *Writer) WriteAudio(tag string, step int64, wall float64, clips [][]byte, labels []string) error {
	var s [][]byte
	for i, c := range clips {
		var l []byte
		if i < len(labels) {
			l = []byte(labels[i])
		}
		s = append(s, c, l)
	}
	return w.WriteValue(&Value{Tag: tag, Plugin: PluginAudio, Step: step, WallTime: wall, Kind: KindAudio, Strings: s, Shape: []int64{int64(len(clips)), 2}, ContentType: "audio/wav"})
}

// WriteText writes a TF2-style text value: a STRING tensor (rank 0 for one
// string, rank 1 otherwise) with metadata naming the text plugin.
func (w *Writer) WriteText(tag string, step int64, wall float64, text ...string) error {
	s := make([][]byte, len(text))
	for i, t := range text {
		s[i] = []byte(t)
	}
	shape := []int64{} // rank 0
	if len(text) != 1 {
		shape = []int64{int64(len(text))}
	}
	return w.WriteValue(&Value{Tag: tag, Plugin: PluginText, Step: step, WallTime: wall, Kind: KindText, Strings: s, Shape: shape})
}

// WriteSessionStart writes a SessionLog START event at step.
func (w *Writer) WriteSessionStart(step int64, wall float64) error {
	return w.WriteValue(&Value{Step: step, WallTime: wall, Kind: KindSessionStart})
}

// WriteGraph writes an Event.graph_def.
func (w *Writer) WriteGraph(step int64, wall float64, graphDef []byte) error {
	return w.WriteValue(&Value{Step: step, WallTime: wall, Kind: KindGraph, Blob: graphDef})
}

// WriteValue writes v (its Step and WallTime included) in TF2 form:
//   - KindScalar: a rank-0 tensor of v.DType (FLOAT when 0; DOUBLE, INT32
//     and INT64 also work) in tensor_content;
//   - KindHistogram: a DOUBLE tensor [k, 3] of v.Buckets;
//   - KindImage, KindAudio, KindText: a STRING tensor of v.Strings with
//     shape v.Shape (default [len(v.Strings)]; [k, 2] for audio);
//   - KindTensor: v.Strings when v.DType is STRING, else v.Floats as
//     v.DType (DOUBLE when 0), shape v.Shape (default [len]);
//   - KindGraph: Event.graph_def = v.Blob; KindRunMetadata:
//     tagged_run_metadata {v.Tag, v.Blob}; KindSessionStart: SessionLog START.
//
// Summary values carry SummaryMetadata: v.Metadata when set, else one built
// from v.Plugin, v.DisplayName and v.Description (see MetadataOnce).
func (w *Writer) WriteValue(v *Value) error {
	b, err := w.appendValueEvent(w.ev[:0], v)
	if err != nil {
		return err
	}
	w.ev = b
	return w.WriteRecord(b)
}

func (w *Writer) appendValueEvent(b []byte, v *Value) ([]byte, error) {
	b = appendEventHeader(b, v.Step, v.WallTime)
	switch v.Kind {
	case KindGraph:
		return appendBytesField(b, 4, v.Blob), nil
	case KindRunMetadata:
		m := appendStringField(nil, 1, v.Tag)
		m = appendBytesField(m, 2, v.Blob)
		return appendBytesField(b, 8, m), nil
	case KindSessionStart:
		m := protowire.AppendTag(nil, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, 1)
		return appendBytesField(b, 7, m), nil
	}
	t, err := encodeTensor(v, w.TypedFields)
	if err != nil {
		return nil, err
	}
	vb := appendStringField(nil, 1, v.Tag)
	vb = w.appendMetadata(vb, v)
	vb = appendBytesField(vb, fTensor, t)
	return appendBytesField(b, 5, appendBytesField(nil, 1, vb)), nil
}

// appendMetadata appends v's SummaryMetadata field to the value vb, unless
// MetadataOnce and the tag had it already.
func (w *Writer) appendMetadata(vb []byte, v *Value) []byte {
	if w.MetadataOnce && w.seen[v.Tag] {
		return vb
	}
	w.seen[v.Tag] = true
	meta := v.Metadata
	if meta == nil {
		meta = encodeMetadata(v)
	}
	if meta != nil {
		vb = appendBytesField(vb, 9, meta)
	}
	return vb
}

func encodeMetadata(v *Value) []byte {
	if v.Plugin == "" && v.DisplayName == "" && v.Description == "" {
		return nil
	}
	pd := appendStringField(nil, 1, v.Plugin)
	if v.Plugin == PluginAudio && v.ContentType == "audio/wav" {
		var c []byte
		c = protowire.AppendTag(c, 2, protowire.VarintType)
		c = protowire.AppendVarint(c, 11)
		pd = appendBytesField(pd, 2, c)
	}
	m := appendBytesField(nil, 1, pd)
	if v.DisplayName != "" {
		m = appendStringField(m, 2, v.DisplayName)
	}
	if v.Description != "" {
		m = appendStringField(m, 3, v.Description)
	}
	dataClass := uint64(2) // TENSOR
	switch v.Kind {
	case KindScalar:
		dataClass = 1 // SCALAR
	case KindImage, KindAudio:
		dataClass = 3 // BLOB_SEQUENCE
	}
	m = protowire.AppendTag(m, 4, protowire.VarintType)
	return protowire.AppendVarint(m, dataClass)
}

func packDoubles(f []float64) []byte {
	b := make([]byte, 0, 8*len(f))
	for _, x := range f {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func appendShape(b []byte, shape []int64) []byte {
	var s []byte
	for _, d := range shape {
		var dim []byte
		if d != 0 {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		s = appendBytesField(s, 2, dim)
	}
	return appendBytesField(b, tShape, s)
}

func encodeTensor(v *Value, typed bool) ([]byte, error) {
	var t []byte
	dtype := v.DType
	shape := v.Shape
	var content []byte
	var strs [][]byte
	switch v.Kind {
	case KindScalar:
		if dtype == 0 {
			dtype = DTFloat
		}
		shape = nil
		var err error
		content, err = encodeNumbers(dtype, []float64{v.Scalar})
		if err != nil {
			return nil, err
		}
	case KindHistogram:
		dtype = DTDouble
		shape = []int64{int64(len(v.Buckets)), 3}
		for _, r := range v.Buckets {
			content = append(content, packDoubles(r[:])...)
		}
	case KindImage, KindAudio, KindText:
		dtype = DTString
		strs = v.Strings
		if shape == nil {
			shape = []int64{int64(len(strs))}
			if v.Kind == KindAudio {
				shape = []int64{int64(len(strs) / 2), 2}
			}
		}
	case KindTensor:
		if dtype == DTString {
			strs = v.Strings
			if shape == nil {
				shape = []int64{int64(len(strs))}
			}
			break
		}
		if dtype == 0 {
			dtype = DTDouble
		}
		if shape == nil {
			shape = []int64{int64(len(v.Floats))}
		}
		var err error
		content, err = encodeNumbers(dtype, v.Floats)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("tfevents: cannot write a value of kind %v", v.Kind)
	}
	t = protowire.AppendTag(t, tDType, protowire.VarintType)
	t = protowire.AppendVarint(t, uint64(dtype))
	if !typed || len(shape) > 0 {
		t = appendShape(t, shape)
	}
	if dtype == DTString {
		for _, s := range strs {
			t = appendBytesField(t, tString, s)
		}
		return t, nil
	}
	if typed {
		return appendTyped(t, dtype, content), nil
	}
	return appendBytesField(t, tContent, content), nil
}

// appendTyped appends content (little-endian values of dtype dt, as
// encodeNumbers makes them) as the typed repeated field of dt, packed.
func appendTyped(t []byte, dt int32, content []byte) []byte {
	var packed []byte
	switch dt {
	case DTFloat, DTDouble:
		packed = content // fixed32 / fixed64: the same bytes
	case DTInt32:
		for i := 0; i+4 <= len(content); i += 4 {
			packed = protowire.AppendVarint(packed, uint64(int64(int32(binary.LittleEndian.Uint32(content[i:])))))
		}
	case DTInt64:
		for i := 0; i+8 <= len(content); i += 8 {
			packed = protowire.AppendVarint(packed, binary.LittleEndian.Uint64(content[i:]))
		}
	}
	return appendBytesField(t, typedField(dt), packed)
}

// encodeNumbers encodes f as tensor_content of dtype dt.
func encodeNumbers(dt int32, f []float64) ([]byte, error) {
	var b []byte
	for _, x := range f {
		switch dt {
		case DTFloat:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(x)))
		case DTDouble:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		case DTInt32:
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(x)))
		case DTInt64:
			b = binary.LittleEndian.AppendUint64(b, uint64(int64(x)))
		default:
			return nil, fmt.Errorf("tfevents: Writer cannot encode dtype %d", dt)
		}
	}
	return b, nil
}
