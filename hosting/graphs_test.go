package hosting_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tbhost/hosting/graphs/graphstest"
	"tbhost/tfevents"
)

// graphEvents writes a run's event file holding every form of graph: the
// run graph, a Keras model, RunMetadata with an op graph (and profile),
// one with only an op graph, and tagged run metadata (profile only).
func graphEvents(t *testing.T, runGraph []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.WriteFileVersion(1000))
	check(w.WriteGraph(0, 1000, runGraph))
	tensor := func(tag, plugin string, blob []byte) {
		check(w.WriteValue(&tfevents.Value{Tag: tag, Step: 1, WallTime: 1001, Kind: tfevents.KindTensor, DType: tfevents.DTString,
			Shape: []int64{}, Strings: [][]byte{blob}, Metadata: tfevents.SummaryMetadata(plugin, []byte("1"))}))
	}
	tensor("keras", "graph_keras_model", []byte(`{"class_name": "Sequential", "config": {"name": "seq", "layers": [
		{"class_name": "Dense", "config": {"name": "d1"}}, {"class_name": "Dense", "config": {"name": "d2"}}]}}`))
	fn := graphstest.Graph{Nodes: []graphstest.Node{{Name: "x", Op: "Placeholder"}, {Name: "y", Op: "Neg", Inputs: []string{"x"}}}}
	tensor("trace", "graph_run_metadata", graphstest.RunMetadata(fn))
	tensor("trace_graph", "graph_run_metadata_graph", graphstest.RunMetadata(fn, fn))
	check(w.WriteValue(&tfevents.Value{Tag: "step_1", Step: 1, WallTime: 1002, Kind: tfevents.KindRunMetadata, Blob: graphstest.RunMetadata()}))
	return buf.Bytes()
}

// TestGraphRoutes checks TensorBoard's graphs routes and the page's
// /graph route on a board holding every form of graph, and a corrupt one.
func TestGraphRoutes(t *testing.T) {
	s := newTBServer(t)
	b := s.newBoard("graphs", false)
	g := graphstest.Graph{Producer: 27, Nodes: []graphstest.Node{
		{Name: "in", Op: "Placeholder", Device: "/cpu:0", Attrs: map[string]graphstest.Attr{"dtype": graphstest.Type(graphstest.DTFloat)}},
		{Name: "scope/big", Op: "Const", Inputs: []string{"in"}, Attrs: map[string]graphstest.Attr{"value": graphstest.S(strings.Repeat("v", 2000))}},
	}}
	s.put(b, "train", "events.out.tfevents.1.host", graphEvents(t, g.Bytes()))
	s.put(b, "broken", "events.out.tfevents.1.host", graphEvents(t, []byte{0x0a, 0xff, 0x01}))
	s.put(b, "plain", "events.out.tfevents.1.host", tfevents.AppendScalarEvent(nil, "loss", 1, 1000, 0.5))

	t.Run("info lists what each run holds", func(t *testing.T) {
		var info map[string]struct {
			Run      string `json:"run"`
			RunGraph bool   `json:"run_graph"`
			Tags     map[string]map[string]any
		}
		s.getJSON(tbData(b, "plugin/graphs/info", nil), http.StatusOK, &info)
		if len(info) != 2 || !info["train"].RunGraph || info["train"].Run != "train" {
			t.Fatalf("info %+v: want train and broken, with their run graphs", info)
		}
		want := map[string]map[string]any{
			"keras":       {"tag": "keras", "conceptual_graph": true, "op_graph": false, "profile": false},
			"trace":       {"tag": "trace", "conceptual_graph": false, "op_graph": true, "profile": true},
			"trace_graph": {"tag": "trace_graph", "conceptual_graph": false, "op_graph": true, "profile": false},
			"step_1":      {"tag": "step_1", "conceptual_graph": false, "op_graph": false, "profile": true},
		}
		if !equalJSON(info["train"].Tags, want) {
			t.Errorf("tags %v, want %v", info["train"].Tags, want)
		}
	})

	pbtxt := func(t *testing.T, route string, q url.Values, want int) string {
		t.Helper()
		w := s.get(tbData(b, route, q))
		if w.Code != want {
			t.Fatalf("%s?%s: status %d, want %d: %s", route, q.Encode(), w.Code, want, w.Body.Bytes())
		}
		if want == http.StatusOK && w.Header().Get("Content-Type") != "text/x-protobuf; charset=utf-8" {
			t.Errorf("content type %q", w.Header().Get("Content-Type"))
		}
		return w.Body.String()
	}
	for _, tc := range []struct {
		name, route string
		q           url.Values
		status      int
		has, hasNot []string
	}{
		{"run graph", "plugin/graphs/graph", url.Values{"run": {"train"}}, 200,
			[]string{"node {\n  name: \"in\"\n  op: \"Placeholder\"\n  device: \"/cpu:0\"\n", "type: DT_FLOAT", "versions {\n  producer: 27\n}\n", strings.Repeat("v", 2000)}, nil},
		{"large attributes left out", "plugin/graphs/graph", url.Values{"run": {"train"}, "limit_attr_size": {"1024"}, "large_attrs_key": {"_too_large_attrs"}}, 200,
			[]string{"key: \"_too_large_attrs\"\n    value {\n      list {\n        s: \"value\"\n"}, []string{"vvvv"}},
		{"Keras model as a GraphDef", "plugin/graphs/graph", url.Values{"run": {"train"}, "tag": {"keras"}, "conceptual": {"true"}}, 200,
			[]string{"name: \"seq/d2\"\n  input: \"seq/d1\"\n", "s: \"Dense\""}, nil},
		{"op graph of run metadata", "plugin/graphs/graph", url.Values{"run": {"train"}, "tag": {"trace"}}, 200,
			[]string{"name: \"y\"\n  op: \"Neg\"\n  input: \"x\"\n"}, nil},
		{"op graphs merged", "plugin/graphs/graph", url.Values{"run": {"train"}, "tag": {"trace_graph"}}, 200,
			[]string{"name: \"graph_1/y\"", "name: \"graph_2/y\"\n  op: \"Neg\"\n  input: \"graph_2/x\""}, nil},
		{"run metadata", "plugin/graphs/run_metadata", url.Values{"run": {"train"}, "tag": {"trace"}}, 200,
			[]string{"function_graphs {\n  pre_optimization_graph {\n    node {\n"}, nil},
		{"run without graph", "plugin/graphs/graph", url.Values{"run": {"plain"}}, 404, nil, nil},
		{"no run", "plugin/graphs/graph", url.Values{}, 400, nil, nil},
		{"a tag that is no graph", "plugin/graphs/graph", url.Values{"run": {"train"}, "tag": {"step_1"}}, 404, nil, nil},
		{"bad limit", "plugin/graphs/graph", url.Values{"run": {"train"}, "limit_attr_size": {"x"}}, 400, nil, nil},
		{"limit without key", "plugin/graphs/graph", url.Values{"run": {"train"}, "limit_attr_size": {"10"}}, 400, nil, nil},
		{"corrupt graph", "plugin/graphs/graph", url.Values{"run": {"broken"}}, 400, []string{"corrupt GraphDef"}, nil},
		{"run metadata without tag", "plugin/graphs/run_metadata", url.Values{"run": {"train"}}, 400, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := pbtxt(t, tc.route, tc.q, tc.status)
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("answer lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("answer has %q:\n%s", s, body)
				}
			}
		})
	}

	t.Run("the page's graph", func(t *testing.T) {
		type node struct {
			Name   string      `json:"name"`
			Op     string      `json:"op"`
			Inputs []string    `json:"inputs"`
			Device string      `json:"device"`
			Attrs  [][2]string `json:"attrs"`
		}
		var v struct{ Nodes []node }
		s.getJSON("/api/boards/"+b.ID+"/graph?run=train", http.StatusOK, &v)
		if len(v.Nodes) != 2 || v.Nodes[0].Device != "/cpu:0" || v.Nodes[0].Attrs[0] != [2]string{"dtype", "DT_FLOAT"} ||
			v.Nodes[1].Inputs[0] != "in" || len(v.Nodes[1].Attrs[0][1]) > 200 {
			t.Errorf("graph %+v", v)
		}
		s.getJSON("/api/boards/"+b.ID+"/graph?run=train&tag=keras&conceptual=true", http.StatusOK, &v)
		if len(v.Nodes) != 2 || v.Nodes[1].Op != "Dense" {
			t.Errorf("Keras graph %+v", v)
		}
		var e struct{ Error string }
		s.getJSON("/api/boards/"+b.ID+"/graph?run=broken", http.StatusBadRequest, &e)
		if !strings.Contains(e.Error, `the graph of run "broken": corrupt GraphDef`) {
			t.Errorf("error %q: want it to say the graph is corrupt", e.Error)
		}
		s.getJSON("/api/boards/"+b.ID+"/graph?run=plain", http.StatusNotFound, &e)
	})
}
