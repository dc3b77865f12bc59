package graphs

import (
	"encoding/json"
	"fmt"

	"tbhost/hosting/graphs/graphspb"
	"tbhost/hosting/kind"
)

// FromKeras turns a Keras model config (model.to_json()) into a GraphDef
// of its layers, as TensorBoard's keras_util.keras_model_to_graph_def:
// one node per layer that is not a model, named by its nested model scopes
// ("model/dense"), with attributes keras_class and dtype, and inputs from
// the layers' inbound nodes (Keras 3's keras_history arguments, or Keras
// 2's [name, node, tensor, kwargs] lists), else from the layer before it.
// A sub-model's output is its output layers; its input layers read what
// the model's inbound nodes name.
func FromKeras(config []byte) (*graphspb.GraphDef, error) {
	if len(config) > MaxBytes {
		return nil, kind.Errorf(kind.TooLarge, "%d bytes; at most %d are read", len(config), MaxBytes)
	}
	var root any
	if err := json.Unmarshal(config, &root); err != nil {
		return nil, kind.Errorf(kind.Invalid, "corrupt Keras model config: %w", err)
	}
	top, ok := root.(map[string]any)
	if !ok || obj(top["config"]) == nil {
		return nil, kind.Errorf(kind.Invalid, "a Keras model config is an object with a \"config\" object")
	}
	k := kerasGraph{g: &graphspb.GraphDef{}, inputOf: map[string]string{}, outputs: map[string][]string{}}
	k.walk("", top)
	return k.g, nil
}

type kerasGraph struct {
	g       *graphspb.GraphDef
	inputOf map[string]string   // a model's input layer → the node feeding it
	outputs map[string][]string // a model → its output nodes
	prev    string              // the last node added (a Sequential's input)
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func str(v any) string { s, _ := v.(string); return s }

func scoped(scope, name string) string {
	if scope == "" {
		return name
	}
	return scope + "/" + name
}

// walk visits layer and, for a model, its layers in order.
func (k *kerasGraph) walk(scope string, layer map[string]any) {
	cfg := obj(layer["config"])
	if cfg == nil {
		return
	}
	if layers, ok := cfg["layers"].([]any); ok && len(layers) > 0 {
		k.model(scope, layer, cfg, layers)
		inner := scoped(scope, str(cfg["name"]))
		for _, l := range layers {
			if m := obj(l); m != nil {
				k.walk(inner, m)
			}
		}
		return
	}
	n := &graphspb.NodeDef{Name: scoped(scope, str(cfg["name"])), Attr: map[string]*graphspb.AttrValue{}}
	if cls, ok := layer["class_name"].(string); ok {
		n.Attr["keras_class"] = &graphspb.AttrValue{Value: &graphspb.AttrValue_S{S: []byte(cls)}}
	}
	dtype := cfg["dtype"]
	if p := obj(dtype); p != nil && obj(p["config"]) != nil {
		dtype = obj(p["config"])["name"]
	}
	if dt, ok := kerasDTypes[str(dtype)]; ok {
		n.Attr["dtype"] = &graphspb.AttrValue{Value: &graphspb.AttrValue_Type{Type: dt}}
	}
	if layer["inbound_nodes"] != nil {
		for _, in := range inboundNodes(layer) {
			name := scoped(scope, in.name)
			outs := k.outputs[name]
			if len(outs) == 0 {
				outs = []string{name}
			}
			n.Input = append(n.Input, outs[min(max(in.index, 0), len(outs)-1)])
		}
	} else if k.prev != "" {
		n.Input = append(n.Input, k.prev)
	}
	if from, ok := k.inputOf[n.Name]; ok {
		n.Input = append(n.Input, from)
	}
	k.prev = n.Name
	k.g.Node = append(k.g.Node, n)
}

// model notes how a (sub-)model connects: what feeds its input layers and
// which nodes are its outputs.
func (k *kerasGraph) model(scope string, layer, cfg map[string]any, layers []any) {
	name := scoped(scope, str(cfg["name"]))
	inputs, outputs := layerNames(cfg["input_layers"]), layerNames(cfg["output_layers"])
	inbound := inboundNodes(layer)
	functional := len(inputs) > 0 && len(outputs) > 0
	switch {
	case len(inbound) > 0 && functional:
		for i := range min(len(inputs), len(inbound)) {
			k.inputOf[scoped(name, inputs[i])] = scoped(scope, inbound[i].name)
		}
	case len(inbound) > 0:
		k.prev = scoped(scope, inbound[0].name)
	case k.prev != "" && functional && len(inputs) == 1:
		k.inputOf[scoped(name, inputs[0])] = k.prev
	}
	if functional {
		outs := make([]string, len(outputs))
		for i, o := range outputs {
			outs[i] = scoped(name, o)
		}
		k.outputs[name] = outs
		return
	}
	last := obj(obj(layers[len(layers)-1])["config"])
	k.outputs[name] = []string{scoped(name, str(last["name"]))}
}

// layerNames reads input_layers / output_layers: [name, node, tensor] or a
// list of them.
func layerNames(v any) []string {
	l, _ := v.([]any)
	if len(l) == 0 {
		return nil
	}
	if s, ok := l[0].(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range l {
		if e, ok := x.([]any); ok && len(e) > 0 {
			out = append(out, str(e[0]))
		}
	}
	return out
}

type inbound struct {
	name  string
	index int
}

// inboundNodes lists the layers a layer reads, in order.
func inboundNodes(layer map[string]any) []inbound {
	var out []inbound
	nodes, _ := layer["inbound_nodes"].([]any)
	for _, node := range nodes {
		switch node := node.(type) {
		case map[string]any: // Keras 3: {"args": [tensor or [tensor...]], ...}
			args, _ := node["args"].([]any)
			for _, a := range args {
				group, ok := a.([]any)
				if !ok {
					group = []any{a}
				}
				for _, t := range group {
					h, _ := obj(obj(t)["config"])["keras_history"].([]any)
					if len(h) >= 3 {
						out = append(out, historyEntry(h))
					}
				}
			}
		case []any: // Keras 2: [name, node, tensor, kwargs] or a list of them
			if len(node) > 0 {
				if _, ok := node[0].(string); ok {
					node = []any{node}
				}
			}
			for _, e := range node {
				if h, ok := e.([]any); ok && len(h) >= 3 {
					out = append(out, historyEntry(h))
				}
			}
		}
	}
	return out
}

func historyEntry(h []any) inbound {
	idx, _ := h[2].(float64)
	return inbound{name: str(h[0]), index: int(idx)}
}

// kerasDTypes maps Keras dtype names to TensorFlow's DataType.
var kerasDTypes = func() map[string]graphspb.DataType {
	m := map[string]graphspb.DataType{
		"half": graphspb.DataType_DT_HALF, "float": graphspb.DataType_DT_FLOAT, "double": graphspb.DataType_DT_DOUBLE,
	}
	for name, dt := range map[string]graphspb.DataType{
		"float16": graphspb.DataType_DT_HALF, "float32": graphspb.DataType_DT_FLOAT, "float64": graphspb.DataType_DT_DOUBLE,
		"bfloat16": graphspb.DataType_DT_BFLOAT16, "complex64": graphspb.DataType_DT_COMPLEX64, "complex128": graphspb.DataType_DT_COMPLEX128,
		"int8": graphspb.DataType_DT_INT8, "uint8": graphspb.DataType_DT_UINT8, "int16": graphspb.DataType_DT_INT16,
		"uint16": graphspb.DataType_DT_UINT16, "int32": graphspb.DataType_DT_INT32, "uint32": graphspb.DataType_DT_UINT32,
		"int64": graphspb.DataType_DT_INT64, "uint64": graphspb.DataType_DT_UINT64, "bool": graphspb.DataType_DT_BOOL,
		"string": graphspb.DataType_DT_STRING, "qint8": graphspb.DataType_DT_QINT8, "quint8": graphspb.DataType_DT_QUINT8,
		"qint16": graphspb.DataType_DT_QINT16, "quint16": graphspb.DataType_DT_QUINT16, "qint32": graphspb.DataType_DT_QINT32,
		"resource": graphspb.DataType_DT_RESOURCE, "variant": graphspb.DataType_DT_VARIANT,
	} {
		m[name] = dt
		m[name+"_ref"] = dt + 100
	}
	return m
}()

// String names a dtype as DataType's enum does.
func dtypeName(dt graphspb.DataType) string {
	if s, ok := graphspb.DataType_name[int32(dt)]; ok {
		return s
	}
	return fmt.Sprint(int32(dt))
}
