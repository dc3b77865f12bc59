// Package hparams reads what a board's runs log about hyperparameters (the
// TensorBoard hparams plugin's metadata, decoded by hand) into one Table:
// sessions with their hyperparameter values and metric values, and the
// experiment's columns. The native /hparams answer and TensorBoard's
// hparams routes are views of it.
package hparams

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"tbhost/hosting/engine"
	"tbhost/hosting/web"
	"tbhost/sampler"

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
	// Differs reports whether the sessions give the hyperparameter more
	// than one value (as logged, for a logged experiment).
	Differs bool `json:"differs"`
}

// MetricInfo describes one metric of an experiment.
type MetricInfo struct {
	Group       string `json:"group,omitempty"`
	Tag         string `json:"tag"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	// DatasetType is "training", "validation" or "" (unknown).
	DatasetType string `json:"dataset_type,omitempty"`
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
	monitorURL string
	startTime  float64
	ended      bool
	status     int64
	endTime    float64
}

var hpTypes = map[uint64]string{1: "string", 2: "bool", 3: "float64"}

var hpStatuses = map[int64]string{0: "unknown", 1: "success", 2: "failure", 3: "running"}

var datasetTypes = map[uint64]string{1: "training", 2: "validation"}

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
				case 7:
					hp.Differs = x != 0
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
				case 5:
					m.DatasetType = datasetTypes[x]
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
				case 3:
					ses.monitorURL = string(v)
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
	HParams    map[string]any       `json:"hparams"`
	Metrics    map[string]web.Float `json:"metrics"`
	Group      string               `json:"group,omitempty"`
	Status     string               `json:"status"`
	ModelURI   string               `json:"model_uri,omitempty"`
	MonitorURL string               `json:"monitor_url,omitempty"`
	StartTime  *web.Float           `json:"start_time,omitempty"`
	EndTime    *web.Float           `json:"end_time,omitempty"`
}

// Columns names the table's columns: the experiment's, in its order, then
// the hyperparameters sessions give that it does not declare, sorted.
type Columns struct {
	HParams []string `json:"hparams"`
	Metrics []string `json:"metrics"`
}

// Eval is a metric's value in one session: the last point of its scalar
// series (NaN and ±Inf included), as TensorBoard's read_last_scalars.
type Eval struct {
	Value float64
	Step  int64
	Wall  float64
}

// IsScalar reports whether a series holds scalars: the series the hparams
// plugin reads metrics from.
func IsScalar(t sampler.TagInfo) bool { return t.Stats != nil }

// lastScalar returns the last point of a scalar series.
func lastScalar(r *engine.Run, tag string) (Eval, bool) {
	for _, t := range r.Samples().Tags() {
		if t.Tag != tag {
			continue
		}
		if !IsScalar(t) {
			return Eval{}, false
		}
		pts := r.Samples().Scalars(tag)
		if len(pts) == 0 {
			return Eval{}, false
		}
		p := pts[len(pts)-1]
		return Eval{Value: p.Value, Step: p.Step, Wall: p.Wall}, true
	}
	return Eval{}, false
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
	// Experiment is the experiment as TensorBoard's hparams plugin gives
	// it (backend_context.experiment_from_metadata): the one the first run
	// (by name) logged, else one computed from the sessions — their
	// hparams' values and the scalar series of their runs and sub-runs —
	// else nil.
	Experiment *Experiment
	// Logged reports whether Experiment was logged by a run.
	Logged bool
	Rows   []Row // sessions, by run name
	// Columns are the native answer's columns.
	Columns Columns
	// Metrics describes each metric column.
	Metrics map[string]MetricInfo
}

// Read reads the hparams metadata of a board's runs.
func Read(runs []*engine.Run) (*Table, error) {
	runs = slices.Clone(runs)
	slices.SortFunc(runs, func(a, b *engine.Run) int { return strings.Compare(a.Name(), b.Name()) })
	byName := make(map[string]*engine.Run, len(runs))
	sessions := map[string]*session{}
	var order []string // runs with hparams metadata, by name
	for _, r := range runs {
		byName[r.Name()] = r
		hp := r.Digest().Hparams
		if len(hp) == 0 {
			continue
		}
		tags := make([]string, 0, len(hp))
		for t := range hp {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		ses := &session{}
		for _, t := range tags {
			if err := decodeHParamsMeta(hp[t], ses); err != nil {
				return nil, fmt.Errorf("decode hparams metadata %q of run %q: %w", t, r.Name(), err)
			}
		}
		sessions[r.Name()] = ses
		order = append(order, r.Name())
	}
	var started []string // session runs, by name
	for _, name := range order {
		if sessions[name].started {
			started = append(started, name)
		}
	}

	t := &Table{Metrics: map[string]MetricInfo{}}
	for _, name := range order {
		if e := sessions[name].experiment; e != nil {
			t.Experiment, t.Logged = e, true
			break
		}
	}
	if t.Experiment == nil {
		t.Experiment = computeExperiment(started, sessions, runs)
	}
	var hpCols, metricCols columnSet
	if e := t.Experiment; e != nil {
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
	var extraHP columnSet
	for _, name := range started {
		ses := sessions[name]
		row := SessionInfo{HParams: ses.hparams, Metrics: map[string]web.Float{}, Group: ses.group, ModelURI: ses.modelURI,
			MonitorURL: ses.monitorURL, Status: hpStatuses[0]}
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
		if e := t.Experiment; e != nil {
			for _, m := range e.Metrics {
				src := byName[MetricRun(name, m.Group)]
				if src == nil {
					continue
				}
				if v, ok := lastScalar(src, m.Tag); ok {
					evals[m.Key()] = v
					row.Metrics[m.Key()] = web.Float(v.Value)
				}
			}
		}
		t.Rows = append(t.Rows, Row{Run: name, Row: row, Evals: evals})
	}
	hpCols.merge(extraHP)
	t.Columns = Columns{HParams: hpCols.list(), Metrics: metricCols.list()}
	return t, nil
}

// MetricRun is the run that holds a session's metric of a group:
// TensorBoard's metrics.run_tag_from_session_and_metric, which joins the
// names without cleaning them (so the root session "." finds a grouped
// metric in no run).
func MetricRun(session, group string) string {
	if group == "" {
		return session
	}
	return session + "/" + group
}

// computeExperiment is the experiment TensorBoard computes when no run
// logged one (backend_context._compute_experiment_from_runs): an info per
// hyperparameter the sessions give a value of a known type, and, when
// there is one, a metric per scalar tag of a session's run or of a run
// below it, grouped by the sub-folder. Nil when no hyperparameter has a
// known type.
func computeExperiment(started []string, sessions map[string]*session, runs []*engine.Run) *Experiment {
	values := map[string][]any{}
	var names []string
	for _, run := range started {
		hp := sessions[run].hparams
		keys := make([]string, 0, len(hp))
		for k := range hp {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := values[k]; !ok {
				names = append(names, k)
			}
			values[k] = append(values[k], hp[k])
		}
	}
	e := &Experiment{HParams: []ParamInfo{}, Metrics: []MetricInfo{}}
	for _, name := range names {
		if info, ok := paramInfoFromValues(name, values[name]); ok {
			e.HParams = append(e.HParams, info)
		}
	}
	if len(e.HParams) == 0 {
		return nil
	}
	e.Metrics = metricNames(started, runs)
	return e
}

// valueType is the hparams data type of a decoded google.protobuf.Value:
// "" for null, lists and structs.
func valueType(v any) string {
	switch v.(type) {
	case web.Float:
		return "float64"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return ""
}

// paramInfoFromValues describes a hyperparameter from the values sessions
// give it, as TensorBoard's _compute_hparam_info_from_values: the one type
// of its typed values (string when they mix types); a string or bool
// domain as the distinct values, a float64 domain as the interval from the
// least to the greatest; differs when there is more than one distinct
// value. ok is false when no value has a known type.
func paramInfoFromValues(name string, values []any) (ParamInfo, bool) {
	info := ParamInfo{Name: name}
	for _, v := range values {
		typ := valueType(v)
		if typ == "" {
			continue
		}
		if info.Type == "" {
			info.Type = typ
		} else if info.Type != typ {
			info.Type = "string"
			break
		}
	}
	switch info.Type {
	case "":
		return info, false
	case "string":
		seen := map[string]bool{}
		strs := []string{}
		for _, v := range values {
			s, ok := ValueString(v)
			if ok && !seen[s] {
				seen[s] = true
				strs = append(strs, s)
			}
		}
		sort.Strings(strs)
		for _, s := range strs {
			info.Values = append(info.Values, s)
		}
		info.Differs = len(strs) > 1
	case "bool":
		seen := map[bool]bool{}
		for _, v := range values {
			b, _ := v.(bool) // (TensorBoard reads bool_value of every value: false when unset)
			seen[b] = true
		}
		for _, b := range []bool{false, true} {
			if seen[b] {
				info.Values = append(info.Values, b)
			}
		}
		info.Differs = len(seen) > 1
	case "float64":
		lo, hi := math.Inf(1), math.Inf(-1)
		seen := map[float64]bool{}
		for _, v := range values {
			f, _ := v.(web.Float) // (number_value of every value: 0 when unset)
			x := float64(f)
			if math.IsNaN(x) {
				continue
			}
			lo, hi = min(lo, x), max(hi, x)
			seen[x] = true
		}
		if len(seen) > 0 {
			l, h := web.Float(lo), web.Float(hi)
			info.Min, info.Max = &l, &h
		}
		info.Differs = len(seen) > 1
	}
	return info, true
}

// ValueString is a typed hparam value as TensorBoard spells it in a
// string domain: a string as it is, a bool or number as its JSON (numbers
// as Python prints a float: 32.0, 0.1, 1e-05). ok is false for null,
// lists, structs and non-finite numbers.
func ValueString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case web.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		return PyFloat(f), true
	}
	return "", false
}

// PyFloat formats a finite float as Python's repr does: the shortest
// digits that read back exactly, in positional notation with at least one
// decimal for exponents -4..15, else in scientific notation with a signed
// two-digit (or longer) exponent.
func PyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := strconv.Itoa(abs(exp))
		if len(es) < 2 {
			es = "0" + es
		}
		if exp < 0 {
			return sign + m + "e-" + es
		}
		return sign + m + "e+" + es
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// metricNames lists a metric for each scalar tag of a session run or of a
// run below one (the longest such session), its group the sub-folder
// ("" in the session's own run), sorted by tag then group:
// TensorBoard's backend_context._compute_metric_names.
func metricNames(started []string, runs []*engine.Run) []MetricInfo {
	isSession := make(map[string]bool, len(started))
	for _, s := range started {
		isSession[s] = true
	}
	seen := map[MetricInfo]bool{}
	out := []MetricInfo{}
	for _, r := range runs {
		ses, ok := sessionOf(r.Name(), isSession)
		if !ok {
			continue
		}
		group := ""
		if r.Name() != ses {
			group = r.Name()[len(ses)+1:]
		}
		for _, t := range r.Samples().Tags() {
			if !IsScalar(t) {
				continue
			}
			m := MetricInfo{Tag: t.Tag, Group: group}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tag != out[j].Tag {
			return out[i].Tag < out[j].Tag
		}
		return out[i].Group < out[j].Group
	})
	return out
}

// sessionOf finds the longest session run that is run or a folder above
// it. The root run "." is a parent of none but itself.
func sessionOf(run string, isSession map[string]bool) (string, bool) {
	for p := run; p != ""; {
		if isSession[p] {
			return p, true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", false
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
