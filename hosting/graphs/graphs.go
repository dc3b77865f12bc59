// Package graphs reads the graphs a board's runs log, as TensorBoard's
// graphs plugin does: the run's GraphDef (Event.graph_def), op graphs and
// profiles in tagged RunMetadata, and Keras model configs (conceptual
// graphs), turned into GraphDefs. It prints them as TensorBoard's routes
// answer (Text) and as the page draws them (View).
//
// Graph payloads are user data: a corrupt one is a kind.Invalid error, an
// oversized one a kind.TooLarge error, never a panic.
package graphs

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/engine"
	"tbhost/hosting/graphs/graphspb"
	"tbhost/hosting/kind"
	"tbhost/tfevents"
)

// The plugin names under which graphs are logged (TensorFlow's summary ops
// and Event fields; TensorBoard's graphs plugin metadata.py).
const (
	PluginRunGraph          = tfevents.PluginGraphs            // Event.graph_def, tag RunGraphTag
	PluginRunMetadata       = "graph_run_metadata"             // RunMetadata with op graph and profile
	PluginRunMetadataGraph  = "graph_run_metadata_graph"       // RunMetadata with op graph
	PluginKerasModel        = "graph_keras_model"              // Keras model.to_json()
	PluginTaggedRunMetadata = tfevents.PluginTaggedRunMetadata // Event.tagged_run_metadata: profile
	RunGraphTag             = tfevents.GraphTag
)

// MaxBytes bounds a graph payload this package decodes.
const MaxBytes = 256 << 20

// TagInfo is what a tag holds, in TensorBoard's /plugin/graphs/info.
type TagInfo struct {
	Tag             string `json:"tag"`
	ConceptualGraph bool   `json:"conceptual_graph"`
	OpGraph         bool   `json:"op_graph"`
	Profile         bool   `json:"profile"`
}

// RunInfo is one run of TensorBoard's /plugin/graphs/info.
type RunInfo struct {
	Run      string              `json:"run"`
	Tags     map[string]*TagInfo `json:"tags"`
	RunGraph bool                `json:"run_graph"`
}

// Info lists the graphs of runs as TensorBoard's info route does: runs
// with a run graph or a tag of a graphs plugin, each tag flagged with what
// it holds. Runs without graphs are left out.
func Info(runs []*engine.Run) map[string]*RunInfo {
	out := map[string]*RunInfo{}
	runItem := func(name string) *RunInfo {
		ri := out[name]
		if ri == nil {
			ri = &RunInfo{Run: name, Tags: map[string]*TagInfo{}}
			out[name] = ri
		}
		return ri
	}
	for _, r := range runs {
		for _, t := range r.Samples().Tags() {
			if t.Stats != nil {
				continue
			}
			tagItem := func() *TagInfo {
				ri := runItem(r.Name())
				ti := ri.Tags[t.Tag]
				if ti == nil {
					ti = &TagInfo{Tag: t.Tag}
					ri.Tags[t.Tag] = ti
				}
				return ti
			}
			switch t.Plugin {
			case PluginRunMetadataGraph:
				tagItem().OpGraph = true
			case PluginRunMetadata:
				ti := tagItem()
				ti.OpGraph, ti.Profile = true, true
			case PluginKerasModel:
				tagItem().ConceptualGraph = true
			case PluginTaggedRunMetadata:
				tagItem().Profile = true
			case PluginRunGraph:
				if t.Tag == RunGraphTag {
					runItem(r.Name()).RunGraph = true
				}
			}
		}
	}
	return out
}

// payload returns the payload of (r, tag) logged by one of plugins: the
// last one kept, as TensorBoard reads a blob sequence downsampled to one.
func payload(r *engine.Run, tag string, plugins ...string) ([]byte, error) {
	var plugin string
	for _, t := range r.Samples().Tags() {
		if t.Tag == tag && t.Stats == nil {
			plugin = t.Plugin
		}
	}
	found := false
	for _, p := range plugins {
		found = found || p == plugin
	}
	if !found {
		if tag == RunGraphTag {
			return nil, kind.Errorf(kind.NotFound, "run %q has no graph", r.Name())
		}
		return nil, kind.Errorf(kind.NotFound, "run %q has no tag %q of plugin %s", r.Name(), tag, plugins[0])
	}
	its, err := r.Items(tag)
	if err != nil {
		return nil, err
	}
	if len(its) == 0 || len(its[len(its)-1].Strings) == 0 {
		return nil, kind.Errorf(kind.NotFound, "run %q keeps no value of tag %q", r.Name(), tag)
	}
	b := its[len(its)-1].Strings[0]
	if len(b) > MaxBytes {
		return nil, kind.Errorf(kind.TooLarge, "the graph of run %q, tag %q, is %d bytes; at most %d are read", r.Name(), tag, len(b), MaxBytes)
	}
	return b, nil
}

// Graph returns a graph of run r as a GraphDef, as TensorBoard's graph
// route reads it: with conceptual, the Keras model of tag; else with a tag,
// the op graph of its RunMetadata (its functions' pre-optimization graphs,
// merged); else the run graph.
func Graph(r *engine.Run, tag string, conceptual bool) (*graphspb.GraphDef, error) {
	switch {
	case conceptual:
		b, err := payload(r, tag, PluginKerasModel)
		if err != nil {
			return nil, err
		}
		g, err := FromKeras(b)
		if err != nil {
			return nil, fmt.Errorf("the Keras model of run %q, tag %q: %w", r.Name(), tag, err)
		}
		return g, nil
	case tag == "":
		b, err := payload(r, RunGraphTag, PluginRunGraph)
		if err != nil {
			return nil, err
		}
		g := &graphspb.GraphDef{}
		if err := unmarshal(b, g); err != nil {
			return nil, fmt.Errorf("the graph of run %q: %w", r.Name(), err)
		}
		return g, nil
	}
	b, err := payload(r, tag, PluginRunMetadata, PluginRunMetadataGraph)
	if err != nil {
		return nil, err
	}
	rm := &graphspb.RunMetadata{}
	if err := unmarshal(b, rm); err != nil {
		return nil, fmt.Errorf("the run metadata of run %q, tag %q: %w", r.Name(), tag, err)
	}
	g, err := MergeFunctionGraphs(rm)
	if err != nil {
		return nil, fmt.Errorf("the op graph of run %q, tag %q: %w", r.Name(), tag, err)
	}
	return g, nil
}

// RunMetadata returns the RunMetadata of (r, tag), logged as profile
// (tagged run metadata or graph_run_metadata).
func RunMetadata(r *engine.Run, tag string) (*graphspb.RunMetadata, error) {
	b, err := payload(r, tag, PluginTaggedRunMetadata, PluginRunMetadata)
	if err != nil {
		return nil, err
	}
	rm := &graphspb.RunMetadata{}
	if err := unmarshal(b, rm); err != nil {
		return nil, fmt.Errorf("the run metadata of run %q, tag %q: %w", r.Name(), tag, err)
	}
	return rm, nil
}

// unmarshal decodes a graph payload, a corrupt one as kind.Invalid.
func unmarshal(b []byte, m proto.Message) error {
	if len(b) > MaxBytes {
		return kind.Errorf(kind.TooLarge, "%d bytes; at most %d are read", len(b), MaxBytes)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return kind.Errorf(kind.Invalid, "corrupt %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// ParseGraphDef decodes a serialized GraphDef.
func ParseGraphDef(b []byte) (*graphspb.GraphDef, error) {
	g := &graphspb.GraphDef{}
	return g, unmarshal(b, g)
}

// MergeFunctionGraphs merges the pre-optimization graphs of rm's function
// graphs as TensorBoard's graph_util.merge_graph_defs: one is returned as
// it is; several get the prefix graph_<i>/ on node names and inputs, and
// graph_<i>_ on function names, and must share one producer version.
func MergeFunctionGraphs(rm *graphspb.RunMetadata) (*graphspb.GraphDef, error) {
	fgs := rm.GetFunctionGraphs()
	switch len(fgs) {
	case 0:
		return &graphspb.GraphDef{}, nil
	case 1:
		if g := fgs[0].GetPreOptimizationGraph(); g != nil {
			return g, nil
		}
		return &graphspb.GraphDef{}, nil
	}
	dst := &graphspb.GraphDef{}
	if v := fgs[0].GetPreOptimizationGraph().GetVersions(); v.GetProducer() != 0 {
		dst.Versions = v
	}
	for i, fg := range fgs {
		g := fg.GetPreOptimizationGraph()
		if dst.GetVersions().GetProducer() != g.GetVersions().GetProducer() {
			return nil, kind.Errorf(kind.Invalid, "cannot combine GraphDefs of different versions (%d, %d)", dst.GetVersions().GetProducer(), g.GetVersions().GetProducer())
		}
		prefix := fmt.Sprintf("graph_%d", i+1)
		for _, n := range g.GetNode() {
			n = proto.CloneOf(n)
			n.Name = prefix + "/" + n.Name
			for j, in := range n.Input {
				n.Input[j] = prefix + "/" + in
			}
			if f := n.Attr["f"]; n.Op == "PartitionedCall" && f != nil && f.GetFunc() != nil {
				f.GetFunc().Name = prefix + "_" + f.GetFunc().Name
			}
			dst.Node = append(dst.Node, n)
		}
		lib := g.GetLibrary()
		if len(lib.GetFunction()) == 0 && len(lib.GetGradient()) == 0 {
			continue
		}
		if dst.Library == nil {
			dst.Library = &graphspb.FunctionDefLibrary{}
		}
		for _, f := range lib.GetFunction() {
			f = proto.CloneOf(f)
			if f.Signature == nil {
				f.Signature = &graphspb.OpDef{}
			}
			f.Signature.Name = prefix + "_" + f.Signature.Name
			dst.Library.Function = append(dst.Library.Function, f)
		}
		for _, gd := range lib.GetGradient() {
			dst.Library.Gradient = append(dst.Library.Gradient, &graphspb.GradientDef{
				FunctionName: prefix + "_" + gd.FunctionName, GradientFunc: prefix + "_" + gd.GradientFunc})
		}
	}
	return dst, nil
}

// LimitAttrs drops the attributes of more than limit bytes from g's nodes
// and names them in the list attribute key, as TensorBoard's
// process_graph.prepare_graph_for_ui (limit_attr_size, large_attrs_key).
func LimitAttrs(g *graphspb.GraphDef, limit int, key string) error {
	if limit <= 0 {
		return kind.Errorf(kind.Invalid, "limit_attr_size must be > 0, but is %d", limit)
	}
	if key == "" {
		return kind.Errorf(kind.Invalid, "give large_attrs_key with limit_attr_size")
	}
	for _, n := range g.Node {
		keys := make([]string, 0, len(n.Attr))
		for k := range n.Attr {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if proto.Size(n.Attr[k]) <= limit {
				continue
			}
			delete(n.Attr, k)
			large := n.Attr[key]
			if large.GetList() == nil {
				large = &graphspb.AttrValue{Value: &graphspb.AttrValue_List{List: &graphspb.AttrValue_ListValue{}}}
				n.Attr[key] = large
			}
			large.GetList().S = append(large.GetList().S, []byte(k))
		}
	}
	return nil
}
