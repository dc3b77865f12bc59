package tfevents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits that keep hostile input from costing much memory.
const (
	maxCachedTags = 1 << 16 // distinct tags whose strings are cached
	maxExpand     = 1 << 20 // elements short typed fields are expanded to, per event
)

// Decoder decodes serialized tensorflow.Event payloads into normalised
// Values, reusing its memory: in steady state it allocates nothing per
// scalar event. It remembers the plugin of each tag from the first value
// that carries metadata naming one. A Decoder is not safe for concurrent use.
type Decoder struct {
	plugins map[string]string
	tags    map[string]*tagInfo
	last    *tagInfo
	strs    map[string]string // interned plugin names and content types
	vals    []Value
	limits  []float64 // scratch for TF1 histograms
	counts  []float64
	arena   []byte // image width/height strings of the current event
	expand  int64  // elements short typed fields may still be expanded by in this event
	slow    bool   // tests: no valueFast (nor decodeOneValue), the reference the fast path is checked against
	fastHit int    // values valueFast decoded: tests check the fast path runs
}

// breakFastPath makes valueFast decline every value, as a fast path that
// no longer recognises any layout would. Only tests set it, to prove that
// TestFastPathMatchesSlow notices a fast path that is off.
var breakFastPath = false

type tagInfo struct {
	tag    string
	plugin string   // remembered plugin, "" when none is known yet
	next   *tagInfo // the tag that followed this one last time

	// The last SummaryMetadata seen for the tag and what it said: TF2
	// writers repeat the same bytes on every value.
	meta   []byte
	metaOK bool
	parsed parsedMeta

	// prefix is the tag field, then the metadata field when one followed
	// it, of the tag's last value that decoded with the generic path and
	// had these fields once each; metaAt is where the metadata bytes start
	// in it (0: none). A value starting with the same bytes has the same
	// tag and metadata: see valueFast.
	prefix []byte
	metaAt int
}

type parsedMeta struct {
	plugin              string
	display, desc       string
	hasDisplay, hasDesc bool
	wav                 bool
}

// NewDecoder returns a Decoder. plugins (tag -> plugin already known) is
// used and added to; when nil a new map is made.
func NewDecoder(plugins map[string]string) *Decoder {
	if plugins == nil {
		plugins = make(map[string]string)
	}
	return &Decoder{
		plugins: plugins,
		tags:    make(map[string]*tagInfo),
		strs:    make(map[string]string),
	}
}

// Plugins returns the tag -> plugin map the Decoder uses and adds to.
func (d *Decoder) Plugins() map[string]string { return d.plugins }

var errTruncatedField = errors.New("truncated or malformed protobuf")

func wireErr(what string, n int) error {
	if n < 0 {
		return fmt.Errorf("%s: %w", what, protowire.ParseError(n))
	}
	return fmt.Errorf("%s: %w", what, errTruncatedField)
}

// Decode decodes one Event payload. It returns the Event's values (none for
// file_version and other records without data): an Event with N summary
// values yields N Values; graph_def, tagged_run_metadata and a SessionLog
// START yield one each. The Values and their slices alias the Decoder's
// memory and payload: they are valid until the next Decode. An error (the
// payload is not a well-formed Event) yields no Values.
func (d *Decoder) Decode(payload []byte) ([]Value, error) {
	d.vals = d.vals[:0]
	d.arena = d.arena[:0]
	d.expand = maxExpand
	var (
		wall float64
		step int64
	)
	if !d.slow {
		if vals, ok, err := d.decodeOneValue(payload); ok {
			return vals, err
		}
	}
	b := payload
	for len(b) > 0 {
		x, n := uvarint(b)
		if x < 8 { // truncated, or field number 0
			return d.fail(wireErr("event", -1))
		}
		num, typ := protowire.Number(x>>3), protowire.Type(x&7)
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			if len(b) < 8 {
				return d.fail(wireErr("event wall_time", -1))
			}
			wall = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
			continue
		case num == 2 && typ == protowire.VarintType:
			x, n := uvarint(b)
			if n < 0 {
				return d.fail(wireErr("event step", n))
			}
			step = int64(x)
			b = b[n:]
			continue
		case typ == protowire.BytesType && (num == 4 || num == 5 || num == 7 || num == 8):
			l, n := uvarint(b)
			if n < 0 || l > uint64(len(b)-n) {
				return d.fail(wireErr("event field "+strconv.Itoa(int(num)), -1))
			}
			m := b[n : n+int(l)]
			b = b[n+int(l):]
			var err error
			switch num {
			case 4:
				v := d.newValue()
				v.Kind, v.Tag, v.Plugin, v.Blob = KindGraph, GraphTag, PluginGraphs, m
			case 5:
				err = d.summary(m)
			case 7:
				err = d.sessionLog(m)
			case 8:
				err = d.taggedRunMetadata(m)
			}
			if err != nil {
				return d.fail(err)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return d.fail(wireErr("event field "+strconv.Itoa(int(num)), n))
		}
		b = b[n:]
	}
	for i := range d.vals {
		d.vals[i].Step, d.vals[i].WallTime = step, wall
	}
	return d.vals, nil
}

// decodeOneValue decodes an Event laid out as writers lay out one value per
// event: wall_time, step (absent when 0), then a summary of one value that
// ends the payload, with the result Decode's loop would give. It reports
// false, having decoded nothing, for any other layout.
func (d *Decoder) decodeOneValue(b []byte) ([]Value, bool, error) {
	if len(b) < 9+4 || b[0] != 1<<3|byte(protowire.Fixed64Type) {
		return nil, false, nil
	}
	wall := math.Float64frombits(binary.LittleEndian.Uint64(b[1:]))
	b = b[9:]
	var step int64
	if b[0] == 2<<3|byte(protowire.VarintType) {
		x, n := uvarint(b[1:])
		if n < 0 {
			return nil, false, nil
		}
		step, b = int64(x), b[1+n:]
	}
	// summary (5), whose one value (1) ends the payload.
	if len(b) < 4 || b[0] != 5<<3|byte(protowire.BytesType) {
		return nil, false, nil
	}
	l, n := uvarint(b[1:])
	if n < 0 || l != uint64(len(b)-1-n) {
		return nil, false, nil
	}
	b = b[1+n:]
	if len(b) < 2 || b[0] != 1<<3|byte(protowire.BytesType) {
		return nil, false, nil
	}
	l, n = uvarint(b[1:])
	if n < 0 || l != uint64(len(b)-1-n) {
		return nil, false, nil
	}
	if err := d.value(b[1+n:]); err != nil {
		vals, err := d.fail(err)
		return vals, true, err
	}
	for i := range d.vals {
		d.vals[i].Step, d.vals[i].WallTime = step, wall
	}
	return d.vals, true, nil
}

func (d *Decoder) fail(err error) ([]Value, error) {
	d.vals = d.vals[:0]
	return nil, err
}

// newValue appends a reset Value to d.vals, reusing the memory of earlier ones.
func (d *Decoder) newValue() *Value {
	n := len(d.vals)
	if n < cap(d.vals) {
		d.vals = d.vals[:n+1]
	} else {
		d.vals = append(d.vals, Value{})
	}
	v := &d.vals[n]
	v.reset()
	return v
}

func (d *Decoder) sessionLog(b []byte) error {
	var status uint64
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("session_log", n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			status, n = consumeVarint(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireErr("session_log", n)
		}
		b = b[n:]
	}
	if status == 1 { // START
		v := d.newValue()
		v.Kind = KindSessionStart
	}
	return nil
}

func (d *Decoder) taggedRunMetadata(b []byte) error {
	tag, meta, err := bytesFields("tagged_run_metadata", b, 1, 2)
	if err != nil {
		return err
	}
	v := d.newValue()
	v.Kind, v.Tag, v.Plugin, v.Blob = KindRunMetadata, d.tag(tag).tag, PluginTaggedRunMetadata, meta
	return nil
}

func (d *Decoder) summary(b []byte) error {
	for len(b) > 0 {
		x, n := uvarint(b)
		if x < 8 { // truncated, or field number 0
			return wireErr("summary", -1)
		}
		num, typ := protowire.Number(x>>3), protowire.Type(x&7)
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			l, n := uvarint(b)
			if n < 0 || l > uint64(len(b)-n) {
				return wireErr("summary value", -1)
			}
			m := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := d.value(m); err != nil {
				return err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return wireErr("summary", n)
		}
		b = b[n:]
	}
	return nil
}

// tag returns the cached info of a tag, creating it on first sight.
func (d *Decoder) tag(b []byte) *tagInfo {
	if l := d.last; l != nil && l.next != nil && l.next.tag == string(b) {
		d.last = l.next
		return l.next
	}
	ti, ok := d.tags[string(b)]
	if !ok {
		s := string(b)
		ti = &tagInfo{tag: s, plugin: d.plugins[s]}
		if len(d.tags) < maxCachedTags {
			d.tags[s] = ti
		}
	}
	if d.last != nil {
		d.last.next = ti
	}
	d.last = ti
	return ti
}

// intern returns b as a string, allocating only the first time.
func (d *Decoder) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strs) < 1024 {
		d.strs[s] = s
	}
	return s
}

// Summary.Value oneof field numbers.
const (
	fSimple   = 2
	fObsolete = 3
	fImage    = 4
	fHisto    = 5
	fAudio    = 6
	fTensor   = 8
)

// maxPrefix caps tagInfo.prefix.
const maxPrefix = 512

func (d *Decoder) value(b []byte) error {
	// Tags come back in a fixed order: try the tag that followed the last
	// one, with the layout it had.
	if l := d.last; l != nil && l.next != nil && !d.slow {
		if ti := l.next; len(ti.prefix) > 0 && len(b) > len(ti.prefix) && string(b[:len(ti.prefix)]) == string(ti.prefix) && d.valueFast(b, ti) {
			return nil
		}
	}
	return d.valueSlow(b)
}

// valueFast decodes a value that starts with ti.prefix when the rest is a
// lone TF1 simple_value or a TF2 rank-0 FLOAT tensor (the layouts of
// scalars, as TF, Keras and PyTorch write them), exactly as valueSlow
// would. It reports false, having done nothing, for any other rest.
func (d *Decoder) valueFast(b []byte, ti *tagInfo) bool {
	if breakFastPath {
		return false
	}
	rest := b[len(ti.prefix):]
	var which protowire.Number
	var f float64
	switch {
	case len(rest) == 5 && rest[0] == fSimple<<3|byte(protowire.Fixed32Type):
		which = fSimple
		f = float64(math.Float32frombits(binary.LittleEndian.Uint32(rest[1:])))
	case len(rest) == 2+scalarTensorLen && rest[0] == fTensor<<3|byte(protowire.BytesType) && rest[1] == scalarTensorLen && isScalarTensor(rest[2:]):
		which = fTensor
		f = float64(math.Float32frombits(binary.LittleEndian.Uint32(rest[2+6:])))
	default:
		return false
	}
	d.last = ti
	d.fastHit++
	v := d.newValue()
	v.Tag = ti.tag
	var metaPlugin string
	wav := false
	if ti.metaAt > 0 {
		// The same bytes as ti.meta: what they say is in ti.parsed.
		v.Metadata = b[ti.metaAt:len(ti.prefix)]
		pm := &ti.parsed
		if pm.hasDisplay {
			v.DisplayName = pm.display
		}
		if pm.hasDesc {
			v.Description = pm.desc
		}
		metaPlugin, wav = pm.plugin, pm.wav
	}
	d.setPlugin(v, ti, metaPlugin, which)
	v.DType = DTFloat
	v.Floats = append(v.Floats, f)
	if v.Shape != nil {
		v.Shape = v.Shape[:0]
	}
	if which == fSimple || v.Plugin == PluginScalars { // what classify says of it
		v.Kind, v.Scalar = KindScalar, f
		return true
	}
	classify(v, wav)
	return true
}

// A rank-0 FLOAT TensorProto as TF2 writes a scalar: dtype DT_FLOAT, an
// empty tensor_shape, then 4 bytes of tensor_content or of packed float_val.
const scalarTensorLen = 10

func isScalarTensor(t []byte) bool {
	return len(t) == scalarTensorLen && t[0] == tDType<<3 && t[1] == DTFloat && t[2] == tShape<<3|byte(protowire.BytesType) && t[3] == 0 &&
		(t[4] == tContent<<3|byte(protowire.BytesType) || t[4] == tFloat<<3|byte(protowire.BytesType)) && t[5] == 4
}

// setPlugin sets v.Plugin: the metadata's, else the tag's, else the kind's;
// the tag remembers the first plugin its metadata names.
func (d *Decoder) setPlugin(v *Value, ti *tagInfo, metaPlugin string, which protowire.Number) {
	switch {
	case metaPlugin != "":
		v.Plugin = metaPlugin
		if ti.plugin == "" {
			ti.plugin = metaPlugin
			d.plugins[ti.tag] = metaPlugin
		}
	case ti.plugin != "":
		v.Plugin = ti.plugin
	default:
		switch which {
		case fSimple:
			v.Plugin = PluginScalars
		case fHisto:
			v.Plugin = PluginHistograms
		case fImage:
			v.Plugin = PluginImages
		case fAudio:
			v.Plugin = PluginAudio
		}
	}
}

func (d *Decoder) valueSlow(b []byte) error {
	var (
		tag, meta, body []byte
		which           protowire.Number
		simple          uint32
		hasMeta         bool
		nTag, nMeta     int
		tagEnd, metaEnd int // ends of a leading tag field and of a metadata field just after it
		metaAt          int
	)
	all := b
	for len(b) > 0 {
		at := len(all) - len(b)
		x, n := uvarint(b)
		if x < 8 { // truncated, or field number 0
			return wireErr("summary value", -1)
		}
		num, typ := protowire.Number(x>>3), protowire.Type(x&7)
		b = b[n:]
		switch {
		case num == fSimple && typ == protowire.Fixed32Type:
			if len(b) < 4 {
				return wireErr("summary value simple_value", -1)
			}
			simple, which = binary.LittleEndian.Uint32(b), fSimple
			b = b[4:]
			continue
		case typ == protowire.BytesType && (num == 1 || num == 9 || (num >= fObsolete && num <= fTensor && num != 7)):
			l, n := uvarint(b)
			if n < 0 || l > uint64(len(b)-n) {
				return wireErr("summary value", -1)
			}
			m := b[n : n+int(l)]
			b = b[n+int(l):]
			switch num {
			case 1:
				tag = m
				if nTag++; at == 0 {
					tagEnd = len(all) - len(b)
				}
			case 9:
				meta, hasMeta = m, true
				if nMeta++; at == tagEnd && at > 0 {
					metaEnd = len(all) - len(b)
					metaAt = metaEnd - len(m)
				}
			default:
				body, which = m, num
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return wireErr("summary value", n)
		}
		b = b[n:]
	}
	ti := d.tag(tag)
	v := d.newValue()
	v.Tag = ti.tag
	ti.prefix, ti.metaAt = ti.prefix[:0], 0

	var metaPlugin string
	var audioWAV bool
	if hasMeta {
		v.Metadata = meta
		var err error
		metaPlugin, audioWAV, err = d.metadata(meta, ti, v)
		if err != nil {
			return err
		}
	}
	// The value starts with its only tag field and, if any, its only
	// metadata field, which ti.meta and ti.parsed now hold: remember the
	// bytes for valueFast.
	if end := max(tagEnd, metaEnd); nTag == 1 && tagEnd > 0 && (nMeta == 0 || metaEnd > 0) && end <= maxPrefix {
		ti.prefix, ti.metaAt = append(ti.prefix[:0], all[:end]...), metaAt
	}
	d.setPlugin(v, ti, metaPlugin, which)

	switch which {
	case fSimple:
		v.Kind, v.DType = KindScalar, DTFloat
		v.Scalar = float64(math.Float32frombits(simple))
		v.Floats = append(v.Floats, v.Scalar)
		return nil
	case fHisto:
		return d.histo(body, v)
	case fImage:
		return d.image(body, v)
	case fAudio:
		return d.audio(body, v)
	case fTensor:
		if err := d.tensor(body, v); err != nil {
			return err
		}
		classify(v, audioWAV)
		return nil
	case fObsolete:
		v.Kind, v.Blob = KindTensor, body
		return nil
	}
	// Metadata only (e.g. hparams) or nothing at all.
	v.Kind = KindTensor
	return nil
}

// metadata parses a SummaryMetadata (or reuses the tag's last one when the
// bytes are the same), filling v's display name and description. It returns
// the plugin name and whether the audio plugin's content says WAV.
func (d *Decoder) metadata(b []byte, ti *tagInfo, v *Value) (plugin string, wav bool, err error) {
	if !ti.metaOK || !bytes.Equal(ti.meta, b) {
		pm, err := d.parseMetadata(b)
		if err != nil {
			return "", false, err
		}
		ti.meta, ti.metaOK, ti.parsed = append(ti.meta[:0], b...), true, pm
	}
	pm := &ti.parsed
	if pm.hasDisplay {
		v.DisplayName = pm.display
	}
	if pm.hasDesc {
		v.Description = pm.desc
	}
	return pm.plugin, pm.wav, nil
}

func (d *Decoder) parseMetadata(b []byte) (parsedMeta, error) {
	var pm parsedMeta
	var name, content []byte
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return pm, wireErr("summary metadata", n)
		}
		b = b[n:]
		if typ == protowire.BytesType && num >= 1 && num <= 3 {
			var m []byte
			m, n = consumeBytes(b)
			if n < 0 {
				return pm, wireErr("summary metadata", n)
			}
			switch num {
			case 1:
				var err error
				name, content, err = pluginData(m)
				if err != nil {
					return pm, err
				}
			case 2:
				pm.display, pm.hasDisplay = string(m), true
			case 3:
				pm.desc, pm.hasDesc = string(m), true
			}
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return pm, wireErr("summary metadata", n)
			}
		}
		b = b[n:]
	}
	pm.plugin = d.intern(name)
	if pm.plugin == PluginAudio {
		pm.wav = audioEncodingWAV(content)
	}
	return pm, nil
}

func pluginData(b []byte) (name, content []byte, err error) {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return nil, nil, wireErr("plugin data", n)
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			var m []byte
			m, n = consumeBytes(b)
			if num == 1 {
				name = m
			} else {
				content = m
			}
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, nil, wireErr("plugin data", n)
		}
		b = b[n:]
	}
	return name, content, nil
}

// audioEncodingWAV reports whether an AudioPluginData (2 encoding: 11 WAV)
// says WAV. Undecodable content is not an error: it is the plugin's business.
func audioEncodingWAV(b []byte) bool {
	wav := false
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == 2 && typ == protowire.VarintType {
			var x uint64
			x, n = consumeVarint(b)
			wav = x == 11
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return wav
}

// classify sets the Kind of a decoded tensor value from its plugin, dtype
// and shape.
func classify(v *Value, wav bool) {
	v.Kind = KindTensor
	switch v.Plugin {
	case PluginScalars:
		if isNumeric(v.DType) && len(v.Floats) > 0 {
			v.Kind, v.Scalar = KindScalar, v.Floats[0]
		}
	case "":
		if len(v.Shape) == 0 && len(v.Floats) > 0 {
			switch v.DType {
			case DTFloat, DTDouble, DTInt32, DTInt64:
				v.Kind, v.Scalar = KindScalar, v.Floats[0]
			}
		}
	case PluginHistograms:
		if isNumeric(v.DType) && len(v.Shape) == 2 && v.Shape[1] == 3 && int64(len(v.Floats)) == 3*v.Shape[0] {
			v.Kind = KindHistogram
			f := v.Floats
			for i := 0; i+2 < len(f); i += 3 {
				v.Buckets = append(v.Buckets, [3]float64{f[i], f[i+1], f[i+2]})
			}
		}
	case PluginImages:
		if v.DType == DTString {
			v.Kind = KindImage
		}
	case PluginAudio:
		if v.DType == DTString {
			v.Kind = KindAudio
			if wav {
				v.ContentType = "audio/wav"
			}
		}
	case PluginText:
		if v.DType == DTString {
			v.Kind = KindText
		}
	}
}

func isNumeric(dt int32) bool {
	switch dt {
	case DTFloat, DTDouble, DTInt32, DTUint8, DTInt16, DTInt8, DTInt64, DTBool, DTBfloat16, DTHalf, DTUint32, DTUint64:
		return true
	}
	return false
}

// elemSize is the size in tensor_content of one element of a numeric dtype.
func elemSize(dt int32) int {
	switch dt {
	case DTUint8, DTInt8, DTBool:
		return 1
	case DTInt16, DTBfloat16, DTHalf:
		return 2
	case DTFloat, DTInt32, DTUint32:
		return 4
	case DTDouble, DTInt64, DTUint64:
		return 8
	}
	return 0
}

// TensorProto field numbers.
const (
	tDType    = 1
	tShape    = 2
	tContent  = 4
	tFloat    = 5
	tDouble   = 6
	tInt      = 7
	tString   = 8
	tInt64    = 10
	tBool     = 11
	tHalf     = 13
	tUint32   = 16
	tUint64   = 17
	tMaxField = 17
)

// typedField is the TensorProto repeated field holding values of dtype dt.
func typedField(dt int32) protowire.Number {
	switch dt {
	case DTFloat:
		return tFloat
	case DTDouble:
		return tDouble
	case DTInt32, DTUint8, DTInt16, DTInt8:
		return tInt
	case DTString:
		return tString
	case DTInt64:
		return tInt64
	case DTBool:
		return tBool
	case DTHalf, DTBfloat16:
		return tHalf
	case DTUint32:
		return tUint32
	case DTUint64:
		return tUint64
	}
	return 0
}

// tensor decodes a TensorProto into v.DType, v.Shape and v.Floats or
// v.Strings.
func (d *Decoder) tensor(b []byte, v *Value) error {
	if isScalarTensor(b) {
		v.DType = DTFloat
		if v.Shape != nil {
			v.Shape = v.Shape[:0]
		}
		v.Floats = append(v.Floats, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[6:]))))
		return nil
	}
	var (
		content    []byte
		hasContent bool
		dtype      int32
	)
	all := b
	for len(b) > 0 {
		x, n := uvarint(b)
		if x < 8 { // truncated, or field number 0
			return wireErr("tensor", -1)
		}
		num, typ := protowire.Number(x>>3), protowire.Type(x&7)
		b = b[n:]
		switch {
		case num == tDType && typ == protowire.VarintType:
			var x uint64
			x, n = uvarint(b)
			dtype = int32(x)
		case (num == tShape || num == tContent) && typ == protowire.BytesType:
			l, k := uvarint(b)
			if k < 0 || l > uint64(len(b)-k) {
				return wireErr("tensor", -1)
			}
			m := b[k : k+int(l)]
			b = b[k+int(l):]
			if num == tContent {
				content, hasContent = m, true
				continue
			}
			v.Shape = v.Shape[:0]
			if len(m) > 0 {
				if err := shape(m, v); err != nil {
					return err
				}
			}
			continue
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireErr("tensor", n)
		}
		b = b[n:]
	}
	v.DType = dtype
	elems := int64(1)
	for _, s := range v.Shape {
		if s < 0 || (s > 0 && elems > math.MaxInt64/s) {
			elems = -1
			break
		}
		elems *= s
	}
	if dtype == DTString {
		if hasContent && len(content) > 0 {
			v.Strings = stringContent(content, elems, v.Strings)
			return nil
		}
		return d.typed(all, tString, v, elems)
	}
	if !isNumeric(dtype) {
		return nil
	}
	if hasContent && len(content) > 0 {
		size := elemSize(dtype)
		for i := 0; i+size <= len(content); i += size {
			v.Floats = append(v.Floats, numberAt(content[i:i+size], dtype))
		}
		return nil
	}
	return d.typed(all, typedField(dtype), v, elems)
}

// typed decodes the repeated field f of a TensorProto (all of its bytes)
// into v, expanding a short field by repeating its last value.
func (d *Decoder) typed(b []byte, f protowire.Number, v *Value, elems int64) error {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("tensor", n)
		}
		b = b[n:]
		if num != f {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return wireErr("tensor", n)
			}
			b = b[n:]
			continue
		}
		if f == tString {
			if typ != protowire.BytesType {
				n = protowire.ConsumeFieldValue(num, typ, b)
			} else {
				var m []byte
				m, n = consumeBytes(b)
				v.Strings = append(v.Strings, m)
			}
			if n < 0 {
				return wireErr("tensor string_val", n)
			}
			b = b[n:]
			continue
		}
		var err error
		n, err = numbers(b, num, typ, v)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	if f == tString {
		if k := len(v.Strings); k > 0 && int64(k) < elems && elems-int64(k) <= d.expand {
			d.expand -= elems - int64(k)
			last := v.Strings[k-1]
			for int64(len(v.Strings)) < elems {
				v.Strings = append(v.Strings, last)
			}
		}
		return nil
	}
	if k := len(v.Floats); k > 0 && int64(k) < elems && elems-int64(k) <= d.expand {
		d.expand -= elems - int64(k)
		last := v.Floats[k-1]
		for int64(len(v.Floats)) < elems {
			v.Floats = append(v.Floats, last)
		}
	}
	return nil
}

// numbers decodes one occurrence (packed or not) of a numeric repeated
// TensorProto field at the start of b, appending to v.Floats. It returns
// the bytes consumed.
func numbers(b []byte, num protowire.Number, typ protowire.Type, v *Value) (int, error) {
	var fixed int // 4 or 8 for fixed-width fields, 0 for varints
	switch num {
	case tFloat:
		fixed = 4
	case tDouble:
		fixed = 8
	}
	wantTyp := protowire.VarintType
	switch fixed {
	case 4:
		wantTyp = protowire.Fixed32Type
	case 8:
		wantTyp = protowire.Fixed64Type
	}
	if typ != protowire.BytesType && typ != wantTyp {
		n := protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, wireErr("tensor", n)
		}
		return n, nil
	}
	data, n := b, 0
	if typ == protowire.BytesType {
		var m []byte
		m, n = consumeBytes(b)
		if n < 0 {
			return 0, wireErr("tensor values", n)
		}
		data = m
		if fixed > 0 && len(data)%fixed != 0 {
			return 0, fmt.Errorf("tensor values: packed length %d not a multiple of %d: %w", len(data), fixed, errTruncatedField)
		}
	}
	for len(data) > 0 {
		var f float64
		var k int
		switch fixed {
		case 4:
			if len(data) < 4 {
				return 0, wireErr("tensor float_val", -1)
			}
			f, k = float64(math.Float32frombits(binary.LittleEndian.Uint32(data))), 4
		case 8:
			if len(data) < 8 {
				return 0, wireErr("tensor double_val", -1)
			}
			f, k = math.Float64frombits(binary.LittleEndian.Uint64(data)), 8
		default:
			x, m := consumeVarint(data)
			if m < 0 {
				return 0, wireErr("tensor values", m)
			}
			k = m
			switch num {
			case tInt:
				f = float64(int32(x))
			case tInt64:
				f = float64(int64(x))
			case tBool:
				if x != 0 {
					f = 1
				}
			case tHalf:
				if v.DType == DTBfloat16 {
					f = float64(math.Float32frombits(uint32(uint16(x)) << 16))
				} else {
					f = halfToFloat(uint16(x))
				}
			case tUint32:
				f = float64(uint32(x))
			default: // tUint64
				f = float64(x)
			}
		}
		v.Floats = append(v.Floats, f)
		data = data[k:]
		if typ != protowire.BytesType {
			n = k
			break
		}
	}
	return n, nil
}

// numberAt decodes one little-endian element of a numeric dtype.
func numberAt(b []byte, dt int32) float64 {
	switch dt {
	case DTFloat:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case DTDouble:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case DTInt32:
		return float64(int32(binary.LittleEndian.Uint32(b)))
	case DTUint32:
		return float64(binary.LittleEndian.Uint32(b))
	case DTInt64:
		return float64(int64(binary.LittleEndian.Uint64(b)))
	case DTUint64:
		return float64(binary.LittleEndian.Uint64(b))
	case DTUint8:
		return float64(b[0])
	case DTInt8:
		return float64(int8(b[0]))
	case DTBool:
		if b[0] != 0 {
			return 1
		}
		return 0
	case DTInt16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case DTHalf:
		return halfToFloat(binary.LittleEndian.Uint16(b))
	case DTBfloat16:
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
	}
	return 0
}

// halfToFloat converts IEEE 754 binary16 bits to a float64.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// stringContent decodes a STRING tensor's tensor_content (elems varint
// lengths, then the bytes). When it does not parse, it yields nothing.
func stringContent(b []byte, elems int64, dst [][]byte) [][]byte {
	if elems <= 0 || elems > int64(len(b)) {
		return dst
	}
	lens := b
	total := 0
	for i := int64(0); i < elems; i++ {
		x, n := consumeVarint(lens)
		if n < 0 || x > uint64(len(b)) {
			return dst
		}
		total += int(x)
		lens = lens[n:]
	}
	if total != len(lens) {
		return dst
	}
	data := lens
	for i := int64(0); i < elems; i++ {
		x, n := consumeVarint(b)
		b = b[n:]
		dst = append(dst, data[:x:x])
		data = data[x:]
	}
	return dst
}

// shape decodes a TensorShapeProto into v.Shape.
func shape(b []byte, v *Value) error {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("tensor shape", n)
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			m, n := consumeBytes(b)
			if n < 0 {
				return wireErr("tensor shape dim", n)
			}
			b = b[n:]
			var size int64
			for len(m) > 0 {
				num, typ, k := consumeTag(m)
				if k < 0 {
					return wireErr("tensor shape dim", k)
				}
				m = m[k:]
				if num == 1 && typ == protowire.VarintType {
					var x uint64
					x, k = consumeVarint(m)
					size = int64(x)
				} else {
					k = protowire.ConsumeFieldValue(num, typ, m)
				}
				if k < 0 {
					return wireErr("tensor shape dim", k)
				}
				m = m[k:]
			}
			v.Shape = append(v.Shape, size)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return wireErr("tensor shape", n)
		}
		b = b[n:]
	}
	return nil
}

// histo converts a TF1 HistogramProto to TF2 rows, dropping empty buckets
// at both ends.
func (d *Decoder) histo(b []byte, v *Value) error {
	var lo, hi float64
	d.limits, d.counts = d.limits[:0], d.counts[:0]
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("histogram", n)
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.Fixed64Type:
			var x uint64
			x, n = protowire.ConsumeFixed64(b)
			if num == 1 {
				lo = math.Float64frombits(x)
			} else {
				hi = math.Float64frombits(x)
			}
		case (num == 6 || num == 7) && (typ == protowire.BytesType || typ == protowire.Fixed64Type):
			dst := &d.limits
			if num == 7 {
				dst = &d.counts
			}
			if typ == protowire.Fixed64Type {
				var x uint64
				x, n = protowire.ConsumeFixed64(b)
				*dst = append(*dst, math.Float64frombits(x))
				break
			}
			var m []byte
			m, n = consumeBytes(b)
			if n < 0 {
				break
			}
			if len(m)%8 != 0 {
				return fmt.Errorf("histogram: packed length %d not a multiple of 8: %w", len(m), errTruncatedField)
			}
			for ; len(m) >= 8; m = m[8:] {
				*dst = append(*dst, math.Float64frombits(binary.LittleEndian.Uint64(m)))
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireErr("histogram", n)
		}
		b = b[n:]
	}
	v.Kind, v.DType = KindHistogram, DTDouble
	k := min(len(d.limits), len(d.counts))
	first, last := 0, k-1
	for first < k && d.counts[first] == 0 {
		first++
	}
	for last >= first && d.counts[last] == 0 {
		last--
	}
	for i := first; i <= last; i++ {
		left, right := lo, hi
		if i > first {
			left = d.limits[i-1]
		}
		if i < last {
			right = d.limits[i]
		}
		v.Buckets = append(v.Buckets, [3]float64{left, right, d.counts[i]})
		v.Floats = append(v.Floats, left, right, d.counts[i])
	}
	v.Shape = append(v.Shape, int64(len(v.Buckets)), 3)
	return nil
}

// image converts a TF1 Summary.Image to [width, height, encoded].
func (d *Decoder) image(b []byte, v *Value) error {
	var width, height int64
	var enc []byte
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("image", n)
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			var x uint64
			x, n = consumeVarint(b)
			if num == 1 {
				height = int64(int32(x))
			} else {
				width = int64(int32(x))
			}
		case num == 4 && typ == protowire.BytesType:
			enc, n = consumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireErr("image", n)
		}
		b = b[n:]
	}
	v.Kind, v.DType = KindImage, DTString
	start := len(d.arena)
	d.arena = strconv.AppendInt(d.arena, width, 10)
	mid := len(d.arena)
	d.arena = strconv.AppendInt(d.arena, height, 10)
	end := len(d.arena)
	v.Strings = append(v.Strings, d.arena[start:mid:mid], d.arena[mid:end:end], enc)
	v.Shape = append(v.Shape, 3)
	return nil
}

// audio converts a TF1 Summary.Audio to [[encoded, ""]].
func (d *Decoder) audio(b []byte, v *Value) error {
	enc, ct, err := bytesFields("audio", b, 4, 5)
	if err != nil {
		return err
	}
	v.Kind, v.DType = KindAudio, DTString
	v.Strings = append(v.Strings, enc, nil)
	v.Shape = append(v.Shape, 1, 2)
	v.ContentType = d.intern(ct)
	return nil
}

// bytesFields returns the length-delimited fields f1 and f2 of message b
// (the last of each wins), skipping the others.
func bytesFields(what string, b []byte, f1, f2 protowire.Number) (x, y []byte, err error) {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return nil, nil, wireErr(what, n)
		}
		b = b[n:]
		if (num == f1 || num == f2) && typ == protowire.BytesType {
			var m []byte
			m, n = consumeBytes(b)
			if num == f1 {
				x = m
			} else {
				y = m
			}
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, nil, wireErr(what, n)
		}
		b = b[n:]
	}
	return x, y, nil
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// Small inlinable protobuf wire helpers (protowire's are not inlined).

// uvarint decodes a varint at the start of b; n < 0 when it is truncated
// or longer than 10 bytes.
func uvarint(b []byte) (x uint64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, -1
}

// consumeTag decodes a field's tag; n < 0 when it is malformed (field
// number 0 included).
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	x, n := uvarint(b)
	if x < 8 {
		return 0, 0, -1
	}
	return protowire.Number(x >> 3), protowire.Type(x & 7), n
}

// consumeBytes decodes a length-prefixed field value.
func consumeBytes(b []byte) ([]byte, int) {
	l, n := uvarint(b)
	if n < 0 || l > uint64(len(b)-n) {
		return nil, -1
	}
	return b[n : n+int(l)], n + int(l)
}

func consumeVarint(b []byte) (uint64, int) { return uvarint(b) }

// reset zeroes v but keeps the capacity of its slices. It writes only the
// fields that are set: assigning a whole Value costs much more (a typed
// copy with write barriers) on the per-event path.
func (v *Value) reset() {
	v.Tag, v.Plugin, v.Kind, v.Step, v.WallTime = "", "", 0, 0, 0
	if v.Scalar != 0 {
		v.Scalar = 0
	}
	if len(v.Buckets) != 0 {
		v.Buckets = v.Buckets[:0]
		if cap(v.Buckets) > maxKeep {
			v.Buckets = nil
		}
	}
	if len(v.Strings) != 0 {
		clear(v.Strings) // drop references to old payloads
		v.Strings = v.Strings[:0]
		if cap(v.Strings) > maxKeep {
			v.Strings = nil
		}
	}
	if len(v.Floats) != 0 {
		v.Floats = v.Floats[:0]
		if cap(v.Floats) > maxKeep {
			v.Floats = nil
		}
	}
	if v.Shape != nil {
		v.Shape = v.Shape[:0]
	}
	if v.DType != 0 {
		v.DType = 0
	}
	if v.Blob != nil {
		v.Blob = nil
	}
	if v.ContentType != "" {
		v.ContentType = ""
	}
	if v.Metadata != nil {
		v.Metadata = nil
	}
	if v.DisplayName != "" {
		v.DisplayName = ""
	}
	if v.Description != "" {
		v.Description = ""
	}
}

// maxKeep is the capacity above which a Value's slices are not kept for reuse.
const maxKeep = 1 << 16
