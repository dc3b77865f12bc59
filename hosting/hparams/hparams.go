// Package hparams reads what a board's runs log about hyperparameters (the
// TensorBoard hparams plugin's metadata, decoded by hand) into one Table:
// sessions with their hyperparameter values and metric values, and the
// experiment's columns. The native /hparams answer and TensorBoard's
// hparams routes are views of it.
package hparams

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"tbhost/hosting/engine"
	"tbhost/hosting/web"

	"google.golang.org/protobuf/encoding/protowire"
)

// The hparams plugin's data (tensorboard/plugins/hparams/api.proto and
// plugin_data.proto) is decoded here by hand from the SummaryMetadata kept
// per run in Digest.Hparams. Field numbers, as the fixtures confirm:
//
//	SummaryMetadata   {1 plugin_data PluginData{1 plugin_name, 2 content}}
//	HParamsPluginData {1 version, 2 experiment, 3 session_start_info, 4 session_end_info}
//	Experiment        {6 name, 1 description, 2 user, 3 time_created_secs,
//	                   4 hparam_infos, 5 metric_infos}
//	HParamInfo        {1 name, 2 display_name, 3 description, 4 type,
//	                   5 domain_discrete ListValue, 6 domain_interval Interval{1 min, 2 max}}
//	MetricInfo        {1 name MetricName{1 group, 2 tag}, 3 display_name, 4 description}
//	SessionStartInfo  {1 hparams map<string, Value>, 2 model_uri, 3 monitor_url,
//	                   4 group_name, 5 start_time_secs}
//	SessionEndInfo    {1 status, 2 end_time_secs}
//	google.protobuf.Value {1 null, 2 number, 3 string, 4 bool, 5 struct, 6 list}
//	google.protobuf.ListValue {1 values}

// Experiment is a decoded Experiment.
type Experiment struct {
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	User        string       `json:"user,omitempty"`
	TimeCreated *web.Float   `json:"time_created,omitempty"`
	HParams     []ParamInfo  `json:"hparams"`
	Metrics     []MetricInfo `json:"metrics"`
}

// ParamInfo describes one hyperparameter of an experiment.
type ParamInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is "string", "bool", "float64" or "" (unset).
	Type string `json:"type,omitempty"`
	// Values is the discrete domain, if any.
	Values []any `json:"values,omitempty"`
	// Min and Max are the interval domain, if any.
	Min *web.Float `json:"min,omitempty"`
	Max *web.Float `json:"max,omitempty"`
}

// MetricInfo describes one metric of an experiment.
type MetricInfo struct {
	Group       string `json:"group,omitempty"`
	Tag         string `json:"tag"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Key is the metric's column name: its tag, under its group (a sub-run of
// the session's run) when it has one.
func (m MetricInfo) Key() string {
	if m.Group == "" {
		return m.Tag
	}
	return m.Group + "/" + m.Tag
}

// session is what one run's hparams metadata says.
type session struct {
	experiment *Experiment
	started    bool
	hparams    map[string]any
	group      string
	modelURI   string
	startTime  float64
	ended      bool
	status     int64
	endTime    float64
}

var hpTypes = map[uint64]string{1: "string", 2: "bool", 3: "float64"}

var hpStatuses = map[int64]string{0: "unknown", 1: "success", 2: "failure", 3: "running"}

// pbFields calls f for each field of the message b.
func pbFields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func pbDouble(typ protowire.Type, x uint64) float64 {
	if typ == protowire.Fixed64Type {
		return math.Float64frombits(x)
	}
	return 0
}

// pbValue decodes a google.protobuf.Value into a JSON-ready value.
func pbValue(b []byte) (any, error) {
	var out any
	err := pbFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			out = nil
		case 2:
			out = web.Float(pbDouble(typ, x))
		case 3:
			out = string(v)
		case 4:
			out = x != 0
		case 6:
			list, err := pbList(v)
			if err != nil {
				return err
			}
			out = list
		case 5:
			out = fmt.Sprintf("<struct of %d bytes>", len(v))
		}
		return nil
	})
	return out, err
}

// pbList decodes a google.protobuf.ListValue.
func pbList(b []byte) ([]any, error) {
	out := []any{}
	err := pbFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if num == 1 && typ == protowire.BytesType {
			val, err := pbValue(v)
			if err != nil {
				return err
			}
			out = append(out, val)
		}
		return nil
	})
	return out, err
}

func decodeExperiment(b []byte) (*Experiment, error) {
	e := &Experiment{HParams: []ParamInfo{}, Metrics: []MetricInfo{}}
	err := pbFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 6:
			e.Name = string(v)
		case 1:
			e.Description = string(v)
		case 2:
			e.User = string(v)
		case 3:
			t := web.Float(pbDouble(typ, x))
			e.TimeCreated = &t
		case 4:
			var hp ParamInfo
			err := pbFields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					hp.Name = string(v)
				case 2:
					hp.DisplayName = string(v)
				case 3:
					hp.Description = string(v)
				case 4:
					hp.Type = hpTypes[x]
				case 5:
					vals, err := pbList(v)
					if err != nil {
						return err
					}
					hp.Values = vals
				case 6:
					var lo, hi web.Float
					err := pbFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
						switch num {
						case 1:
							lo = web.Float(pbDouble(typ, x))
						case 2:
							hi = web.Float(pbDouble(typ, x))
						}
						return nil
					})
					if err != nil {
						return err
					}
					hp.Min, hp.Max = &lo, &hi
				}
				return nil
			})
			if err != nil {
				return err
			}
			e.HParams = append(e.HParams, hp)
		case 5:
			var m MetricInfo
			err := pbFields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					return pbFields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
						switch num {
						case 1:
							m.Group = string(v)
						case 2:
							m.Tag = string(v)
						}
						return nil
					})
				case 3:
					m.DisplayName = string(v)
				case 4:
					m.Description = string(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if m.Tag != "" {
				e.Metrics = append(e.Metrics, m)
			}
		}
		return nil
	})
	return e, err
}

// decodeHParamsMeta merges one serialized SummaryMetadata of the hparams
// plugin into ses.
func decodeHParamsMeta(meta []byte, ses *session) error {
	var content []byte
	err := pbFields(meta, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		if num == 1 { // plugin_data
			return pbFields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				if num == 2 {
					content = v
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pbFields(content, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 2:
			e, err := decodeExperiment(v)
			if err != nil {
				return err
			}
			ses.experiment = e
		case 3:
			ses.started = true
			if ses.hparams == nil {
				ses.hparams = map[string]any{}
			}
			return pbFields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1: // map entry {1 key, 2 value}
					var key string
					var val any
					err := pbFields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
						var err error
						switch num {
						case 1:
							key = string(v)
						case 2:
							val, err = pbValue(v)
						}
						return err
					})
					if err != nil {
						return err
					}
					ses.hparams[key] = val
				case 2:
					ses.modelURI = string(v)
				case 4:
					ses.group = string(v)
				case 5:
					ses.startTime = pbDouble(typ, x)
				}
				return nil
			})
		case 4:
			ses.ended = true
			return pbFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				switch num {
				case 1:
					ses.status = int64(x)
				case 2:
					ses.endTime = pbDouble(typ, x)
				}
				return nil
			})
		}
		return nil
	})
}

// SessionInfo is one session (run) in GET /hparams.
type SessionInfo struct {
	HParams   map[string]any       `json:"hparams"`
	Metrics   map[string]web.Float `json:"metrics"`
	Group     string               `json:"group,omitempty"`
	Status    string               `json:"status"`
	ModelURI  string               `json:"model_uri,omitempty"`
	StartTime *web.Float           `json:"start_time,omitempty"`
	EndTime   *web.Float           `json:"end_time,omitempty"`
}

// Columns names the table's columns, the experiment's order first.
type Columns struct {
	HParams []string `json:"hparams"`
	Metrics []string `json:"metrics"`
}

// Eval is a metric's value in one session: the series' last finite value.
type Eval struct {
	Value float64
	Step  int64
	Wall  float64
}

// lastScalar returns the last finite value of a scalar series.
func lastScalar(r *engine.Run, tag string) (Eval, bool) {
	for _, t := range r.Samples().Tags() {
		if t.Tag == tag {
			if t.Stats == nil || t.Stats.Count == 0 {
				return Eval{}, false
			}
			return Eval{Value: t.Stats.Last, Step: t.Stats.LastStep, Wall: t.LastWall}, true
		}
	}
	return Eval{}, false
}

// experimentFor finds the experiment a session belongs to: its own run's,
// else that of the nearest ancestor run, else the first on the board.
func experimentFor(run string, sessions map[string]*session, order []string) *Experiment {
	for p := run; ; {
		if s := sessions[p]; s != nil && s.experiment != nil {
			return s.experiment
		}
		if p == engine.RootRun {
			break
		}
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			p = p[:i]
		} else {
			p = engine.RootRun
		}
	}
	for _, name := range order {
		if s := sessions[name]; s.experiment != nil {
			return s.experiment
		}
	}
	return nil
}

// Row is one session (a run with session_start_info) of a board.
type Row struct {
	Run   string
	Row   SessionInfo
	Evals map[string]Eval // by metric column
}

// Table is what a board's runs say about hyperparameters: the native
// /hparams answer and the TensorBoard hparams routes are views of it.
type Table struct {
	Experiment *Experiment // the first run's experiment, if any
	Rows       []Row       // in run order
	Columns    Columns
	// Metrics describes each metric column.
	Metrics map[string]MetricInfo
}

// Read reads the hparams metadata of a board's runs, sorted by name.
func Read(runs []*engine.Run) (*Table, error) {
	byName := make(map[string]*engine.Run, len(runs))
	sessions := map[string]*session{}
	var order []string
	for _, r := range runs {
		byName[r.Name()] = r
		if len(r.Digest().Hparams) == 0 {
			continue
		}
		tags := make([]string, 0, len(r.Digest().Hparams))
		for t := range r.Digest().Hparams {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		ses := &session{}
		for _, t := range tags {
			if err := decodeHParamsMeta(r.Digest().Hparams[t], ses); err != nil {
				return nil, fmt.Errorf("decode hparams metadata %q of run %q: %w", t, r.Name(), err)
			}
		}
		sessions[r.Name()] = ses
		order = append(order, r.Name())
	}

	t := &Table{Metrics: map[string]MetricInfo{}}
	var hpCols, metricCols columnSet
	for _, name := range order {
		if e := sessions[name].experiment; e != nil {
			if t.Experiment == nil {
				t.Experiment = e
			}
			for _, hp := range e.HParams {
				hpCols.add(hp.Name)
			}
			for _, m := range e.Metrics {
				metricCols.add(m.Key())
				if _, ok := t.Metrics[m.Key()]; !ok {
					t.Metrics[m.Key()] = m
				}
			}
		}
	}
	var extraHP, extraMetrics columnSet
	for _, name := range order {
		ses := sessions[name]
		if !ses.started {
			continue // an experiment alone: it names columns, it is no row
		}
		row := SessionInfo{HParams: ses.hparams, Metrics: map[string]web.Float{}, Group: ses.group, ModelURI: ses.modelURI, Status: hpStatuses[0]}
		if ses.ended {
			row.Status = hpStatuses[ses.status]
			if row.Status == "" {
				row.Status = fmt.Sprintf("status_%d", ses.status)
			}
			if ses.endTime != 0 {
				t := web.Float(ses.endTime)
				row.EndTime = &t
			}
		}
		if ses.startTime != 0 {
			t := web.Float(ses.startTime)
			row.StartTime = &t
		}
		for k := range ses.hparams {
			extraHP.add(k)
		}
		evals := map[string]Eval{}
		r := byName[name]
		if e := experimentFor(name, sessions, order); e != nil && len(e.Metrics) > 0 {
			for _, m := range e.Metrics {
				src := r
				if m.Group != "" {
					src = byName[name+"/"+m.Group]
					if name == engine.RootRun {
						src = byName[m.Group]
					}
				}
				if src == nil {
					continue
				}
				if v, ok := lastScalar(src, m.Tag); ok {
					evals[m.Key()] = v
				}
			}
		} else {
			for _, ti := range r.Samples().Tags() {
				if ti.Stats != nil && ti.Stats.Count > 0 {
					evals[ti.Tag] = Eval{Value: ti.Stats.Last, Step: ti.Stats.LastStep, Wall: ti.LastWall}
					extraMetrics.add(ti.Tag)
					if _, ok := t.Metrics[ti.Tag]; !ok {
						t.Metrics[ti.Tag] = MetricInfo{Tag: ti.Tag}
					}
				}
			}
		}
		for k, v := range evals {
			row.Metrics[k] = web.Float(v.Value)
		}
		t.Rows = append(t.Rows, Row{Run: name, Row: row, Evals: evals})
	}
	hpCols.merge(extraHP)
	metricCols.merge(extraMetrics)
	t.Columns = Columns{HParams: hpCols.list(), Metrics: metricCols.list()}
	return t, nil
}

// columnSet is an ordered set of column names.
type columnSet struct {
	names []string
	seen  map[string]bool
}

func (s *columnSet) add(name string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[name] {
		s.seen[name] = true
		s.names = append(s.names, name)
	}
}

// merge adds the names of o not yet in s, sorted.
func (s *columnSet) merge(o columnSet) {
	extra := append([]string(nil), o.names...)
	sort.Strings(extra)
	for _, n := range extra {
		s.add(n)
	}
}

func (s *columnSet) list() []string {
	if s.names == nil {
		return []string{}
	}
	return s.names
}
