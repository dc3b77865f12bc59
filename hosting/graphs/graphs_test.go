package graphs

import (
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/graphs/graphspb"
	"tbhost/hosting/graphs/graphstest"
	"tbhost/hosting/kind"
)

// TestTextIsPythonsStr checks the protobuf text of graphs written byte by
// byte (graphstest) against Python's str(GraphDef), spelled out by hand.
func TestTextIsPythonsStr(t *testing.T) {
	for _, tc := range []struct {
		name  string
		graph graphstest.Graph
		want  string
	}{
		{"empty", graphstest.Graph{}, ""},
		{"nodes, attributes sorted by key, then versions", graphstest.Graph{Producer: 27, Nodes: []graphstest.Node{
			{Name: "a", Op: "Const", Device: "/cpu:0", Attrs: map[string]graphstest.Attr{"dtype": graphstest.Type(1)}},
			{Name: "scope/b", Op: "Identity", Inputs: []string{"a", "^c"}, Attrs: map[string]graphstest.Attr{
				"s": graphstest.S("x\"y\n\xff'\\\t"), "eps": graphstest.F(0.1), "T": graphstest.Type(101),
				"i": graphstest.I(-3), "flag": graphstest.B(false), "shape": {Shape: []int64{-1, 224}},
				"strides": {ListI: []int64{1, 2}}}},
		}}, `node {
  name: "a"
  op: "Const"
  device: "/cpu:0"
  attr {
    key: "dtype"
    value {
      type: DT_FLOAT
    }
  }
}
node {
  name: "scope/b"
  op: "Identity"
  input: "a"
  input: "^c"
  attr {
    key: "T"
    value {
      type: DT_FLOAT_REF
    }
  }
  attr {
    key: "eps"
    value {
      f: 0.1
    }
  }
  attr {
    key: "flag"
    value {
      b: false
    }
  }
  attr {
    key: "i"
    value {
      i: -3
    }
  }
  attr {
    key: "s"
    value {
      s: "x\"y\n\377\'\\\t"
    }
  }
  attr {
    key: "shape"
    value {
      shape {
        dim {
          size: -1
        }
        dim {
          size: 224
        }
      }
    }
  }
  attr {
    key: "strides"
    value {
      list {
        i: 1
        i: 2
      }
    }
  }
}
versions {
  producer: 27
}
`},
		{"library after nodes", graphstest.Graph{Functions: []graphstest.Function{{Name: "__inference_f_12", Nodes: []graphstest.Node{{Name: "x", Op: "Neg"}}}}},
			`library {
  function {
    signature {
      name: "__inference_f_12"
    }
    node_def {
      name: "x"
      op: "Neg"
    }
  }
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGraphDef(tc.graph.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := string(Text(g)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestPyFloat checks floats against Python's repr (and, for 32-bit
// fields, text_format's ToShortestFloat).
func TestPyFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		bits int
		want string
	}{
		{0, 64, "0.0"},
		{1, 64, "1.0"},
		{-2.5, 64, "-2.5"},
		{0.1, 64, "0.1"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(math.Pi)), 32, "3.1415927"},
		{float64(float32(0.001)), 32, "0.001"},
		{0.0001, 64, "0.0001"},
		{0.00001, 64, "1e-05"},
		{1.5e-7, 64, "1.5e-07"},
		{123456789, 64, "123456789.0"},
		{1e15, 64, "1000000000000000.0"},
		{1e16, 64, "1e+16"},
		{1.25e22, 64, "1.25e+22"},
		{1e100, 64, "1e+100"},
		{5e-324, 64, "5e-324"},
		{math.NaN(), 32, "nan"},
		{math.Inf(1), 64, "inf"},
		{math.Inf(-1), 32, "-inf"},
	} {
		if got := string(appendPyFloat(nil, tc.v, tc.bits)); got != tc.want {
			t.Errorf("%v (%d bits): got %s, want %s", tc.v, tc.bits, got, tc.want)
		}
	}
}

func nodesOf(g *graphspb.GraphDef) map[string]*graphspb.NodeDef {
	m := map[string]*graphspb.NodeDef{}
	for _, n := range g.Node {
		m[n.Name] = n
	}
	return m
}

// TestFromKeras checks Keras configs become TensorBoard's conceptual graphs.
func TestFromKeras(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string
		want   map[string][]string // node → inputs
		class  map[string]string   // node → keras_class
		dtype  map[string]graphspb.DataType
	}{
		{"sequential: each layer reads the one before",
			`{"class_name": "Sequential", "config": {"name": "seq", "layers": [
			  {"class_name": "InputLayer", "config": {"name": "in", "dtype": "float32"}},
			  {"class_name": "Dense", "config": {"name": "d1", "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float16"}}}},
			  {"class_name": "Dense", "config": {"name": "d2", "dtype": "mixed_bfloat16"}}]}}`,
			map[string][]string{"seq/in": nil, "seq/d1": {"seq/in"}, "seq/d2": {"seq/d1"}},
			map[string]string{"seq/in": "InputLayer", "seq/d2": "Dense"},
			map[string]graphspb.DataType{"seq/in": graphspb.DataType_DT_FLOAT, "seq/d1": graphspb.DataType_DT_HALF}},
		{"functional, Keras 3 keras_history",
			`{"class_name": "Functional", "config": {"name": "m", "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]], "layers": [
			  {"class_name": "InputLayer", "config": {"name": "x"}, "inbound_nodes": []},
			  {"class_name": "Dense", "config": {"name": "a"}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}]}]},
			  {"class_name": "Add", "config": {"name": "out"}, "inbound_nodes": [{"args": [[
			    {"config": {"keras_history": ["a", 0, 0]}}, {"config": {"keras_history": ["x", 0, 0]}}]]}]}]}}`,
			map[string][]string{"m/x": nil, "m/a": {"m/x"}, "m/out": {"m/a", "m/x"}}, nil, nil},
		{"functional, Keras 2 lists, with a nested Sequential",
			`{"class_name": "Model", "config": {"name": "m", "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0]], "layers": [
			  {"class_name": "InputLayer", "config": {"name": "x"}, "inbound_nodes": []},
			  {"class_name": "Sequential", "config": {"name": "body", "layers": [
			    {"class_name": "Dense", "config": {"name": "d1"}},
			    {"class_name": "Dense", "config": {"name": "d2"}}]}, "inbound_nodes": [[["x", 0, 0, {}]]]},
			  {"class_name": "Dense", "config": {"name": "head"}, "inbound_nodes": [[["body", 1, 0, {}]]]}]}}`,
			map[string][]string{"m/x": nil, "m/body/d1": {"m/x"}, "m/body/d2": {"m/body/d1"}, "m/head": {"m/body/d2"}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := FromKeras([]byte(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			got := nodesOf(g)
			if len(got) != len(tc.want) {
				t.Fatalf("nodes %v, want %v", got, tc.want)
			}
			for name, inputs := range tc.want {
				n := got[name]
				if n == nil {
					t.Fatalf("no node %q in %v", name, got)
				}
				if strings.Join(n.Input, ",") != strings.Join(inputs, ",") {
					t.Errorf("%s: inputs %q, want %q", name, n.Input, inputs)
				}
			}
			for name, cls := range tc.class {
				if s := string(got[name].Attr["keras_class"].GetS()); s != cls {
					t.Errorf("%s: keras_class %q, want %q", name, s, cls)
				}
			}
			for name, dt := range tc.dtype {
				if got[name].Attr["dtype"].GetType() != dt {
					t.Errorf("%s: dtype %v, want %v", name, got[name].Attr["dtype"], dt)
				}
			}
		})
	}
}

// TestCorruptAndOversized checks bad payloads are kind errors.
func TestCorruptAndOversized(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want kind.Kind
	}{
		{"truncated GraphDef", func() error {
			b := graphstest.ResNet(100).Bytes()
			_, err := ParseGraphDef(b[:len(b)-3])
			return err
		}(), kind.Invalid},
		{"garbage GraphDef", func() error { _, err := ParseGraphDef([]byte{0xff, 0xff, 0xff}); return err }(), kind.Invalid},
		{"Keras config not JSON", func() error { _, err := FromKeras([]byte("{not json")); return err }(), kind.Invalid},
		{"Keras config without config", func() error { _, err := FromKeras([]byte(`{"class_name": "Dense"}`)); return err }(), kind.Invalid},
		{"more nodes than the page draws", func() error {
			g, err := ParseGraphDef(graphstest.ResNet(500).Bytes())
			if err != nil {
				return err
			}
			_, err = NewView(g, 100)
			return err
		}(), kind.TooLarge},
		{"graphs of different producers", func() error {
			_, err := MergeFunctionGraphs(mustRunMetadata(t, graphstest.RunMetadata(graphstest.Graph{Producer: 1}, graphstest.Graph{Producer: 2})))
			return err
		}(), kind.Invalid},
		{"limit_attr_size without key", LimitAttrs(&graphspb.GraphDef{}, 10, ""), kind.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || kind.Of(tc.err) != tc.want {
				t.Fatalf("error %v (kind %v), want kind %v", tc.err, kind.Of(tc.err), tc.want)
			}
		})
	}
}

func mustRunMetadata(t *testing.T, b []byte) *graphspb.RunMetadata {
	t.Helper()
	rm := &graphspb.RunMetadata{}
	if err := unmarshal(b, rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// TestMergeFunctionGraphs checks TensorBoard's merge of function graphs.
func TestMergeFunctionGraphs(t *testing.T) {
	one := graphstest.Graph{Producer: 5, Nodes: []graphstest.Node{{Name: "x", Op: "Placeholder"}, {Name: "y", Op: "Neg", Inputs: []string{"x"}}}}
	g, err := MergeFunctionGraphs(mustRunMetadata(t, graphstest.RunMetadata(one)))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(g); got != "x y" {
		t.Errorf("one graph: nodes %q, want it as it is", got)
	}
	two := graphstest.Graph{Producer: 5, Nodes: []graphstest.Node{{Name: "x", Op: "Placeholder"}},
		Functions: []graphstest.Function{{Name: "__inference_f_1"}}}
	g, err = MergeFunctionGraphs(mustRunMetadata(t, graphstest.RunMetadata(one, two)))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(g); got != "graph_1/x graph_1/y graph_2/x" {
		t.Errorf("two graphs: nodes %q", got)
	}
	if in := g.Node[1].Input; len(in) != 1 || in[0] != "graph_1/x" {
		t.Errorf("inputs %q, want graph_1/x", in)
	}
	if f := g.Library.GetFunction(); len(f) != 1 || f[0].Signature.Name != "graph_2___inference_f_1" {
		t.Errorf("library %v", g.Library)
	}
	if g.Versions.GetProducer() != 5 {
		t.Errorf("versions %v", g.Versions)
	}
	g, err = MergeFunctionGraphs(&graphspb.RunMetadata{})
	if err != nil || len(g.Node) != 0 {
		t.Errorf("no function graphs: %v, %v; want an empty graph", g, err)
	}
}

func names(g *graphspb.GraphDef) string {
	var s []string
	for _, n := range g.Node {
		s = append(s, n.Name)
	}
	return strings.Join(s, " ")
}

// TestLimitAttrs checks large attributes move to the large_attrs_key list.
func TestLimitAttrs(t *testing.T) {
	g, err := ParseGraphDef(graphstest.Graph{Nodes: []graphstest.Node{{Name: "c", Op: "Const", Attrs: map[string]graphstest.Attr{
		"big": graphstest.S(strings.Repeat("x", 100)), "small": graphstest.S("x"), "huge": graphstest.S(strings.Repeat("y", 200))}}}}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := LimitAttrs(g, 50, "_too_large_attrs"); err != nil {
		t.Fatal(err)
	}
	a := g.Node[0].Attr
	if _, ok := a["small"]; !ok || len(a) != 2 {
		t.Fatalf("attrs %v, want small and _too_large_attrs", a)
	}
	if got := a["_too_large_attrs"].GetList().GetS(); len(got) != 2 || string(got[0]) != "big" || string(got[1]) != "huge" {
		t.Errorf("_too_large_attrs %q, want [big huge]", got)
	}
}

// TestView checks the page's shape of a graph: ops, inputs, devices,
// short attributes, Keras classes as ops and library functions.
func TestView(t *testing.T) {
	g, err := ParseGraphDef(graphstest.Graph{Nodes: []graphstest.Node{
		{Name: "a/conv", Op: "Conv2D", Device: "/gpu:0", Inputs: []string{"x", "w:1"}, Attrs: map[string]graphstest.Attr{
			"T": graphstest.Type(1), "strides": {ListI: []int64{1, 2, 2, 1}}, "shape": {Shape: []int64{-1, 7}},
			"padding": graphstest.S("SAME"), "long": graphstest.S(strings.Repeat("z", 500))}},
		{Name: "dense", Attrs: map[string]graphstest.Attr{"keras_class": graphstest.S("Dense")}},
	}, Functions: []graphstest.Function{{Name: "f", Nodes: []graphstest.Node{{Name: "n", Op: "Neg"}}}}}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewView(g, 10)
	if err != nil {
		t.Fatal(err)
	}
	conv := v.Nodes[0]
	want := [][2]string{{"T", "DT_FLOAT"}, {"long", ""}, {"padding", `"SAME"`}, {"shape", "[?,7]"}, {"strides", "[1, 2, 2, 1]"}}
	if conv.Op != "Conv2D" || conv.Device != "/gpu:0" || strings.Join(conv.Inputs, ",") != "x,w:1" || len(conv.Attrs) != len(want) {
		t.Fatalf("node %+v", conv)
	}
	for i, a := range want {
		if a[0] == "long" {
			if got := conv.Attrs[i][1]; len(got) > maxAttrText+2 || !strings.HasSuffix(got, "…") {
				t.Errorf("long attribute not cut: %d bytes", len(got))
			}
			continue
		}
		if conv.Attrs[i] != a {
			t.Errorf("attr %d: %q, want %q", i, conv.Attrs[i], a)
		}
	}
	if v.Nodes[1].Op != "Dense" {
		t.Errorf("a Keras layer's op is %q, want its class", v.Nodes[1].Op)
	}
	if len(v.Functions) != 1 || v.Functions[0].Name != "f" || v.Functions[0].Nodes[0].Op != "Neg" {
		t.Errorf("functions %+v", v.Functions)
	}
}

// FuzzGraph checks that no payload makes decoding, printing or viewing
// panic or hang: corrupt input is an error of kind Invalid.
func FuzzGraph(f *testing.F) {
	f.Add(graphstest.ResNet(60).Bytes())
	f.Add(graphstest.RunMetadata(graphstest.ResNet(30), graphstest.Graph{Producer: 27}))
	f.Add([]byte(`{"class_name": "Sequential", "config": {"name": "s", "layers": [{"config": {"name": "a"}}, {"config": {"name": "b"}, "inbound_nodes": [[["a", 0, 5, {}]]]}]}}`))
	f.Add([]byte{0x0a, 0x05, 0x2a, 0x03, 0x0a, 0x01, 0x41})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []proto.Message{&graphspb.GraphDef{}, &graphspb.RunMetadata{}} {
			err := unmarshal(b, m)
			if err != nil {
				if kind.Of(err) != kind.Invalid {
					t.Fatalf("error of kind %v: %v", kind.Of(err), err)
				}
				continue
			}
			Text(m)
		}
		g := &graphspb.GraphDef{}
		if unmarshal(b, g) == nil {
			if _, err := NewView(g, MaxViewNodes); err != nil && kind.Of(err) != kind.TooLarge {
				t.Fatal(err)
			}
			LimitAttrs(g, 8, "_too_large_attrs")
		}
		if rm := (&graphspb.RunMetadata{}); unmarshal(b, rm) == nil {
			MergeFunctionGraphs(rm)
		}
		if g, err := FromKeras(b); err == nil {
			Text(g)
		} else if kind.Of(err) != kind.Invalid {
			t.Fatalf("error of kind %v: %v", kind.Of(err), err)
		}
	})
}
