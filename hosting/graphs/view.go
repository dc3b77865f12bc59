package graphs

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"tbhost/hosting/graphs/graphspb"
	"tbhost/hosting/kind"
)

// MaxViewNodes bounds the nodes of a graph the page is sent.
const MaxViewNodes = 200_000

// maxAttrText bounds the printed form of one attribute.
const maxAttrText = 160

// Node is one op of a graph as the page draws it.
type Node struct {
	Name   string   `json:"name"`
	Op     string   `json:"op"`
	Inputs []string `json:"inputs,omitempty"` // "name", "name:slot", "^name" (control)
	Device string   `json:"device,omitempty"`
	// Attrs are [name, value] pairs sorted by name, each value in a short
	// printable form.
	Attrs [][2]string `json:"attrs,omitempty"`
}

// Function is a function of the graph's library, with its body.
type Function struct {
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
}

// View is a graph as the page draws it.
type View struct {
	Nodes     []Node     `json:"nodes"`
	Functions []Function `json:"functions,omitempty"`
}

// NewView gives g's nodes (and its library's functions) in the page's
// shape; a graph of more than maxNodes nodes in all is kind.TooLarge. A
// Keras layer's op is its class.
func NewView(g *graphspb.GraphDef, maxNodes int) (*View, error) {
	total := len(g.GetNode())
	for _, f := range g.GetLibrary().GetFunction() {
		total += len(f.GetNodeDef())
	}
	if total > maxNodes {
		return nil, kind.Errorf(kind.TooLarge, "the graph has %d nodes; the page draws at most %d", total, maxNodes)
	}
	v := &View{Nodes: viewNodes(g.GetNode())}
	for _, f := range g.GetLibrary().GetFunction() {
		v.Functions = append(v.Functions, Function{Name: f.GetSignature().GetName(), Nodes: viewNodes(f.GetNodeDef())})
	}
	return v, nil
}

func viewNodes(nodes []*graphspb.NodeDef) []Node {
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		vn := Node{Name: n.GetName(), Op: n.GetOp(), Inputs: n.GetInput(), Device: n.GetDevice()}
		if vn.Op == "" {
			vn.Op = string(n.GetAttr()["keras_class"].GetS())
		}
		if len(n.GetAttr()) > 0 {
			keys := make([]string, 0, len(n.GetAttr()))
			for k := range n.GetAttr() {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			vn.Attrs = make([][2]string, len(keys))
			for i, k := range keys {
				vn.Attrs[i] = [2]string{k, AttrText(n.GetAttr()[k])}
			}
		}
		out = append(out, vn)
	}
	return out
}

// AttrText prints an attribute value briefly: strings quoted, types by
// name (DT_FLOAT), shapes as [d0,d1] with ? for unknown sizes, tensors by
// dtype and shape (with a scalar's value), lists in brackets, functions by
// name; cut to at most 160 characters.
func AttrText(a *graphspb.AttrValue) string {
	var sb strings.Builder
	writeAttr(&sb, a)
	return clip(sb.String())
}

func clip(s string) string {
	if len(s) <= maxAttrText {
		return s
	}
	cut := maxAttrText - 1
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func writeAttr(sb *strings.Builder, a *graphspb.AttrValue) {
	switch v := a.GetValue().(type) {
	case *graphspb.AttrValue_S:
		sb.WriteString(quote(v.S))
	case *graphspb.AttrValue_I:
		sb.WriteString(strconv.FormatInt(v.I, 10))
	case *graphspb.AttrValue_F:
		sb.Write(appendPyFloat(nil, float64(v.F), 32))
	case *graphspb.AttrValue_B:
		sb.WriteString(strconv.FormatBool(v.B))
	case *graphspb.AttrValue_Type:
		sb.WriteString(dtypeName(v.Type))
	case *graphspb.AttrValue_Shape:
		writeShape(sb, v.Shape)
	case *graphspb.AttrValue_Tensor:
		writeTensor(sb, v.Tensor)
	case *graphspb.AttrValue_Func:
		sb.WriteString(v.Func.GetName())
	case *graphspb.AttrValue_Placeholder:
		sb.WriteString("$" + v.Placeholder)
	case *graphspb.AttrValue_List:
		writeList(sb, v.List)
	}
}

// quote quotes bytes, printable as far as they are valid UTF-8.
func quote(b []byte) string {
	if len(b) > maxAttrText {
		b = b[:maxAttrText]
	}
	return strconv.Quote(string(b))
}

func writeShape(sb *strings.Builder, s *graphspb.TensorShapeProto) {
	if s.GetUnknownRank() {
		sb.WriteString("<unknown>")
		return
	}
	sb.WriteByte('[')
	for i, d := range s.GetDim() {
		if i > 0 {
			sb.WriteByte(',')
		}
		if d.GetSize() < 0 {
			sb.WriteByte('?')
		} else {
			sb.WriteString(strconv.FormatInt(d.GetSize(), 10))
		}
	}
	sb.WriteByte(']')
}

func writeTensor(sb *strings.Builder, t *graphspb.TensorProto) {
	sb.WriteString(dtypeName(t.GetDtype()))
	sb.WriteByte(' ')
	writeShape(sb, t.GetTensorShape())
	if len(t.GetTensorShape().GetDim()) > 0 {
		return
	}
	switch {
	case len(t.GetFloatVal()) == 1:
		sb.WriteString(" = ")
		sb.Write(appendPyFloat(nil, float64(t.GetFloatVal()[0]), 32))
	case len(t.GetDoubleVal()) == 1:
		sb.WriteString(" = ")
		sb.Write(appendPyFloat(nil, t.GetDoubleVal()[0], 64))
	case len(t.GetIntVal()) == 1:
		sb.WriteString(" = " + strconv.FormatInt(int64(t.GetIntVal()[0]), 10))
	case len(t.GetInt64Val()) == 1:
		sb.WriteString(" = " + strconv.FormatInt(t.GetInt64Val()[0], 10))
	case len(t.GetBoolVal()) == 1:
		sb.WriteString(" = " + strconv.FormatBool(t.GetBoolVal()[0]))
	case len(t.GetStringVal()) == 1:
		sb.WriteString(" = " + quote(t.GetStringVal()[0]))
	}
}

func writeList(sb *strings.Builder, l *graphspb.AttrValue_ListValue) {
	sb.WriteByte('[')
	n := 0
	sep := func() bool {
		if n > 0 {
			sb.WriteString(", ")
		}
		n++
		return sb.Len() < maxAttrText
	}
	for _, s := range l.GetS() {
		if !sep() {
			break
		}
		sb.WriteString(quote(s))
	}
	for _, i := range l.GetI() {
		if !sep() {
			break
		}
		sb.WriteString(strconv.FormatInt(i, 10))
	}
	for _, f := range l.GetF() {
		if !sep() {
			break
		}
		sb.Write(appendPyFloat(nil, float64(f), 32))
	}
	for _, b := range l.GetB() {
		if !sep() {
			break
		}
		sb.WriteString(strconv.FormatBool(b))
	}
	for _, t := range l.GetType() {
		if !sep() {
			break
		}
		sb.WriteString(dtypeName(t))
	}
	for _, s := range l.GetShape() {
		if !sep() {
			break
		}
		writeShape(sb, s)
	}
	for _, t := range l.GetTensor() {
		if !sep() {
			break
		}
		writeTensor(sb, t)
	}
	for _, f := range l.GetFunc() {
		if !sep() {
			break
		}
		sb.WriteString(f.GetName())
	}
	sb.WriteByte(']')
}
