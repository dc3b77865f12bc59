package graphs

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Text prints m in the protobuf text format as Python's str(message) does
// (text_format.MessageToString with its defaults), which is what
// TensorBoard's graph routes answer: fields in field-number order, one per
// line, nested messages in braces indented by two spaces, map entries
// sorted by key, bytes and strings C-escaped with non-ASCII bytes in
// octal, floats in Python's shortest spelling. Unknown fields are left out.
func Text(m proto.Message) []byte {
	var p printer
	p.message(m.ProtoReflect())
	return p.buf
}

type printer struct {
	buf    []byte
	indent int
}

type populated struct {
	fd protoreflect.FieldDescriptor
	v  protoreflect.Value
}

func (p *printer) message(m protoreflect.Message) {
	var fields []populated
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fields = append(fields, populated{fd, v})
		return true
	})
	slices.SortFunc(fields, func(a, b populated) int { return int(a.fd.Number()) - int(b.fd.Number()) })
	for _, f := range fields {
		switch {
		case f.fd.IsMap():
			p.mapField(f.fd, f.v.Map())
		case f.fd.IsList():
			l := f.v.List()
			for i := range l.Len() {
				p.field(f.fd, l.Get(i))
			}
		default:
			p.field(f.fd, f.v)
		}
	}
}

// mapField prints a map as its entries, sorted by key, each with its key
// and value.
func (p *printer) mapField(fd protoreflect.FieldDescriptor, m protoreflect.Map) {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return compareKeys(fd.MapKey(), a, b) })
	for _, k := range keys {
		p.line(string(fd.Name()))
		p.buf = append(p.buf, " {\n"...)
		p.indent += 2
		p.field(fd.MapKey(), k.Value())
		p.field(fd.MapValue(), m.Get(k))
		p.indent -= 2
		p.line("}\n")
	}
}

func compareKeys(fd protoreflect.FieldDescriptor, a, b protoreflect.MapKey) int {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return strings.Compare(a.String(), b.String())
	case protoreflect.BoolKind:
		x, y := a.Bool(), b.Bool()
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		x, y := a.Uint(), b.Uint()
		return cmpOrdered(x, y)
	}
	return cmpOrdered(a.Int(), b.Int())
}

func cmpOrdered[T int64 | uint64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (p *printer) line(s string) {
	for range p.indent {
		p.buf = append(p.buf, ' ')
	}
	p.buf = append(p.buf, s...)
}

// field prints one value of a field on its line(s).
func (p *printer) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	p.line(string(fd.Name()))
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		p.buf = append(p.buf, " {\n"...)
		p.indent += 2
		p.message(v.Message())
		p.indent -= 2
		p.line("}\n")
		return
	}
	p.buf = append(p.buf, ": "...)
	p.buf = appendScalar(p.buf, fd, v)
	p.buf = append(p.buf, '\n')
}

func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) []byte {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return append(b, ev.Name()...)
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10)
	case protoreflect.StringKind:
		return appendQuoted(b, []byte(v.String()))
	case protoreflect.BytesKind:
		return appendQuoted(b, v.Bytes())
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool())
	case protoreflect.FloatKind:
		return appendPyFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		return appendPyFloat(b, v.Float(), 64)
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10)
	}
	return strconv.AppendInt(b, v.Int(), 10)
}

// appendQuoted appends s in double quotes, escaped as Python's
// text_encoding.CEscape does without as_utf8: \n \r \t \" \' \\ by name,
// other bytes outside printable ASCII as three octal digits.
func appendQuoted(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '"':
			b = append(b, `\"`...)
		case '\'':
			b = append(b, `\'`...)
		case '\\':
			b = append(b, `\\`...)
		default:
			if c < 32 || c >= 127 {
				b = append(b, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// appendPyFloat appends v as Python's repr of a float: the shortest digits
// that read back as the same value (of 32 bits for a float field, as
// text_format's ToShortestFloat), fixed notation with at least one
// fractional digit for exponents -4 to 15, else d.ddde±XX.
func appendPyFloat(b []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	// "-d.dddde±XX": the shortest digits and the decimal exponent.
	e := strconv.FormatFloat(v, 'e', -1, bits)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	if neg {
		b = append(b, '-')
	}
	if exp < -4 || exp >= 16 {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	if exp < 0 {
		b = append(b, "0."...)
		for range -exp - 1 {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	if len(digits) <= exp+1 {
		b = append(b, digits...)
		for range exp + 1 - len(digits) {
			b = append(b, '0')
		}
		return append(b, ".0"...)
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	return append(b, digits[exp+1:]...)
}
