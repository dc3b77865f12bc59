// Package graphstest writes TensorFlow GraphDefs and RunMetadata for tests,
// byte by byte with protowire from TensorFlow's field numbers, independent
// of the generated code in graphspb (so a test that decodes them also
// checks that schema), and generates large graphs shaped like real models.
package graphstest

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of TensorFlow's graph protos (graph.proto, node_def.proto,
// attr_value.proto, tensor_shape.proto, config.proto).
const (
	graphNode, graphLibrary, graphVersions                    = 1, 2, 4
	nodeName, nodeOp, nodeInput, nodeDevice, nodeAttr         = 1, 2, 3, 4, 5
	attrList, attrS, attrI, attrF, attrB, attrType, attrShape = 1, 2, 3, 4, 5, 6, 7
	shapeDim, dimSize                                         = 2, 1
	versionProducer                                           = 1
	rmFunctionGraphs, fgPreOptimization                       = 4, 2
	libFunction, funcSignature, funcNodeDef, opDefName        = 1, 1, 3, 1
)

// Attr is one attribute of a node: exactly one of its fields is used, in
// the order S, I, F, B, Type, Shape, ListI.
type Attr struct {
	S     *string
	I     *int64
	F     *float32
	B     *bool
	Type  int32 // a DataType, when non-zero
	Shape []int64
	ListI []int64
}

// Node is one NodeDef.
type Node struct {
	Name, Op, Device string
	Inputs           []string
	Attrs            map[string]Attr
}

// Function is one FunctionDef of a graph's library.
type Function struct {
	Name  string
	Nodes []Node
}

// Graph is a GraphDef.
type Graph struct {
	Nodes     []Node
	Functions []Function
	Producer  int32
}

// Bytes encodes the graph as a serialized GraphDef.
func (g Graph) Bytes() []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = protowire.AppendTag(b, graphNode, protowire.BytesType)
		b = protowire.AppendBytes(b, n.bytes())
	}
	if len(g.Functions) > 0 {
		var lib []byte
		for _, f := range g.Functions {
			var fb []byte
			var sig []byte
			sig = appendString(sig, opDefName, f.Name)
			fb = protowire.AppendTag(fb, funcSignature, protowire.BytesType)
			fb = protowire.AppendBytes(fb, sig)
			for _, n := range f.Nodes {
				fb = protowire.AppendTag(fb, funcNodeDef, protowire.BytesType)
				fb = protowire.AppendBytes(fb, n.bytes())
			}
			lib = protowire.AppendTag(lib, libFunction, protowire.BytesType)
			lib = protowire.AppendBytes(lib, fb)
		}
		b = protowire.AppendTag(b, graphLibrary, protowire.BytesType)
		b = protowire.AppendBytes(b, lib)
	}
	if g.Producer != 0 {
		var v []byte
		v = protowire.AppendTag(v, versionProducer, protowire.VarintType)
		v = protowire.AppendVarint(v, uint64(g.Producer))
		b = protowire.AppendTag(b, graphVersions, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	return b
}

// RunMetadata encodes a RunMetadata whose function graphs have the given
// GraphDefs as their pre-optimization graphs.
func RunMetadata(graphs ...Graph) []byte {
	var b []byte
	for _, g := range graphs {
		var fg []byte
		fg = protowire.AppendTag(fg, fgPreOptimization, protowire.BytesType)
		fg = protowire.AppendBytes(fg, g.Bytes())
		b = protowire.AppendTag(b, rmFunctionGraphs, protowire.BytesType)
		b = protowire.AppendBytes(b, fg)
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (n Node) bytes() []byte {
	var b []byte
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOp, n.Op)
	for _, in := range n.Inputs {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	b = appendString(b, nodeDevice, n.Device)
	for k, a := range n.Attrs {
		var e []byte
		e = appendString(e, 1, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, a.bytes())
		b = protowire.AppendTag(b, nodeAttr, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

func (a Attr) bytes() []byte {
	var b []byte
	switch {
	case a.S != nil:
		b = protowire.AppendTag(b, attrS, protowire.BytesType)
		b = protowire.AppendString(b, *a.S)
	case a.I != nil:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(*a.I))
	case a.F != nil:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(*a.F))
	case a.B != nil:
		b = protowire.AppendTag(b, attrB, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(*a.B))
	case a.Type != 0:
		b = protowire.AppendTag(b, attrType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.Type))
	case a.Shape != nil:
		var s []byte
		for _, d := range a.Shape {
			var dim []byte
			dim = protowire.AppendTag(dim, dimSize, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
			s = protowire.AppendTag(s, shapeDim, protowire.BytesType)
			s = protowire.AppendBytes(s, dim)
		}
		b = protowire.AppendTag(b, attrShape, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	case a.ListI != nil:
		var packed []byte
		for _, i := range a.ListI {
			packed = protowire.AppendVarint(packed, uint64(i))
		}
		var l []byte
		l = protowire.AppendTag(l, 3, protowire.BytesType)
		l = protowire.AppendBytes(l, packed)
		b = protowire.AppendTag(b, attrList, protowire.BytesType)
		b = protowire.AppendBytes(b, l)
	}
	return b
}

// S, I, F and B make attribute values.
func S(s string) Attr   { return Attr{S: &s} }
func I(i int64) Attr    { return Attr{I: &i} }
func F(f float32) Attr  { return Attr{F: &f} }
func B(b bool) Attr     { return Attr{B: &b} }
func Type(t int32) Attr { return Attr{Type: t} }

// DTFloat is DataType DT_FLOAT.
const DTFloat = 1

// ResNet generates a graph shaped like ResNet-50 as TF1 writes it, of
// about ops nodes: stages of bottleneck blocks, each block a name scope
// holding conv/batch-norm/relu units (each unit a scope of a few ops with
// their variables), joined by a residual add; plus input, loss and a
// gradients scope mirroring the forward pass. Every node has a device and
// typed attributes.
func ResNet(ops int) Graph {
	var g Graph
	g.Producer = 27
	add := func(name, op string, inputs ...string) string {
		g.Nodes = append(g.Nodes, Node{Name: name, Op: op, Inputs: inputs, Device: "/device:GPU:0",
			Attrs: map[string]Attr{"T": Type(DTFloat)}})
		return name
	}
	x := add("input", "Placeholder")
	x = add("preprocess/sub", "Sub", x)
	unit := func(scope, in string) string {
		w := add(scope+"/conv/kernel", "VariableV2")
		wr := add(scope+"/conv/kernel/read", "Identity", w)
		c := add(scope+"/conv/Conv2D", "Conv2D", in, wr)
		g.Nodes[len(g.Nodes)-1].Attrs["strides"] = Attr{ListI: []int64{1, 1, 1, 1}}
		g.Nodes[len(g.Nodes)-1].Attrs["padding"] = S("SAME")
		gm := add(scope+"/bn/gamma", "VariableV2")
		bt := add(scope+"/bn/beta", "VariableV2")
		bn := add(scope+"/bn/FusedBatchNorm", "FusedBatchNorm", c, gm, bt)
		g.Nodes[len(g.Nodes)-1].Attrs["epsilon"] = F(0.001)
		return add(scope+"/relu", "Relu", bn)
	}
	// Each unit is 7 ops and a block 3 units + 2 ops; 4 more ops around
	// them; the gradients double the forward pass.
	blocks := max((ops/2-4)/23, 1)
	stage := 1
	for i := range blocks {
		if i > 0 && i%max(blocks/4, 1) == 0 && stage < 4 {
			stage++
		}
		scope := fmt.Sprintf("resnet/stage%d/block%d", stage, i)
		in := x
		for u := range 3 {
			x = unit(fmt.Sprintf("%s/unit%d", scope, u+1), x)
		}
		x = add(scope+"/add", "AddV2", x, in)
		x = add(scope+"/out", "Relu", x)
	}
	logits := add("resnet/logits/MatMul", "MatMul", x)
	loss := add("loss/softmax_cross_entropy", "SoftmaxCrossEntropyWithLogits", logits, "input")
	forward := len(g.Nodes)
	prev := loss
	for i := forward - 1; i >= 0 && len(g.Nodes) < ops; i-- {
		n := g.Nodes[i]
		prev = add("gradients/"+n.Name+"_grad/"+n.Op+"Grad", n.Op+"Grad", prev, n.Name)
	}
	add("train/Adam", "NoOp", "^"+prev)
	return g
}
