package tensorboard

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"

	"tbhost/hosting/engine"
	"tbhost/hosting/hparams"
	"tbhost/hosting/kind"
	"tbhost/hosting/web"

	"github.com/gin-gonic/gin"
)

// TensorBoard's hparams plugin routes (plugin/hparams/experiment,
// session_groups, metric_evals): requests and answers are the protobuf
// JSON of TensorBoard's hparams api.proto messages, POSTed as the body or
// given as ?request= to a GET. They are views of hparams.Read.

// tbMetricName is api.proto's MetricName.
type tbMetricName struct {
	Group string `json:"group"`
	Tag   string `json:"tag"`
}

// tbHParamsRequest holds the fields of GetExperimentRequest,
// ListSessionGroupsRequest and ListMetricEvalsRequest that tbhost reads.
type tbHParamsRequest struct {
	ExperimentName  string        `json:"experimentName"`
	AllowedStatuses []string      `json:"allowedStatuses"`
	ColParams       []tbColParams `json:"colParams"`
	AggregationType string        `json:"aggregationType"`
	AggregationMet  *tbMetricName `json:"aggregationMetric"`
	StartIndex      int           `json:"startIndex"`
	SliceSize       *int          `json:"sliceSize"`
	SessionName     string        `json:"sessionName"`
	MetricName      *tbMetricName `json:"metricName"`
}

// tbColParams is api.proto's ColParams: a column to filter and sort by.
type tbColParams struct {
	Metric               *tbMetricName `json:"metric"`
	HParam               *string       `json:"hparam"`
	Order                string        `json:"order"`
	MissingValuesFirst   bool          `json:"missingValuesFirst"`
	FilterRegexp         *string       `json:"filterRegexp"`
	FilterInterval       *tbInterval   `json:"filterInterval"`
	FilterDiscrete       []any         `json:"filterDiscrete"`
	ExcludeMissingValues bool          `json:"excludeMissingValues"`
}

type tbInterval struct {
	MinValue *float64 `json:"minValue"`
	MaxValue *float64 `json:"maxValue"`
}

// hparamsRequest reads the request message of a hparams route.
func hparamsRequest(c *gin.Context) (*tbHParamsRequest, error) {
	var raw []byte
	if c.Request.Method == http.MethodGet {
		raw = []byte(c.Query("request"))
	} else {
		var err error
		if raw, err = io.ReadAll(io.LimitReader(c.Request.Body, 1<<20)); err != nil {
			return nil, kind.Errorf(kind.Invalid, "read request body: %w", err)
		}
	}
	req := &tbHParamsRequest{}
	if len(raw) == 0 {
		return req, nil
	}
	if err := json.Unmarshal(raw, req); err != nil {
		return nil, kind.Errorf(kind.Invalid, "the request is not the JSON of a hparams request message: %v", err)
	}
	return req, nil
}

// tbHParamsTable reads a hparams route's request and the board's table;
// done is set when it answered 304.
func (s *API) tbHParamsTable(c *gin.Context) (t *hparams.Table, req *tbHParamsRequest, done bool, err error) {
	if req, err = hparamsRequest(c); err != nil {
		return nil, nil, false, err
	}
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return nil, nil, done, err
	}
	t, err = hparams.Read(runs)
	return t, req, false, err
}

var tbDataTypes = map[string]string{"string": "DATA_TYPE_STRING", "bool": "DATA_TYPE_BOOL", "float64": "DATA_TYPE_FLOAT64"}

// tbHParamsExperiment answers GetExperimentRequest with the Experiment: the
// one a run logged, else one inferred from the sessions (their hparams
// and values) and the scalar tags that are the sessions' metrics.
func (s *API) tbHParamsExperiment(c *gin.Context) error {
	t, _, done, err := s.tbHParamsTable(c)
	if err != nil || done {
		return err
	}
	exp := gin.H{}
	var infos []gin.H
	byName := map[string]hparams.ParamInfo{}
	if e := t.Experiment; e != nil {
		if e.Name != "" {
			exp["name"] = e.Name
		}
		if e.Description != "" {
			exp["description"] = e.Description
		}
		if e.User != "" {
			exp["user"] = e.User
		}
		if e.TimeCreated != nil {
			exp["timeCreatedSecs"] = *e.TimeCreated
		}
		for _, hp := range e.HParams {
			byName[hp.Name] = hp
		}
	}
	for _, name := range t.Columns.HParams {
		hp, ok := byName[name]
		if !ok {
			hp = inferParamInfo(name, t.Rows)
		}
		info := gin.H{"name": hp.Name}
		if hp.DisplayName != "" {
			info["displayName"] = hp.DisplayName
		}
		if hp.Description != "" {
			info["description"] = hp.Description
		}
		info["type"] = "DATA_TYPE_UNSET"
		if dt, ok := tbDataTypes[hp.Type]; ok {
			info["type"] = dt
		}
		switch {
		case hp.Values != nil:
			info["domainDiscrete"] = hp.Values
		case hp.Min != nil || hp.Max != nil:
			iv := gin.H{}
			if hp.Min != nil {
				iv["minValue"] = *hp.Min
			}
			if hp.Max != nil {
				iv["maxValue"] = *hp.Max
			}
			info["domainInterval"] = iv
		}
		infos = append(infos, info)
	}
	metrics := make([]gin.H, 0, len(t.Columns.Metrics))
	for _, key := range t.Columns.Metrics {
		m := t.Metrics[key]
		info := gin.H{"name": tbMetricName{Group: m.Group, Tag: m.Tag}, "datasetType": "DATASET_UNKNOWN"}
		if m.DisplayName != "" {
			info["displayName"] = m.DisplayName
		}
		if m.Description != "" {
			info["description"] = m.Description
		}
		metrics = append(metrics, info)
	}
	exp["hparamInfos"] = infos
	exp["metricInfos"] = metrics
	if infos == nil {
		exp["hparamInfos"] = []gin.H{}
	}
	c.JSON(http.StatusOK, exp)
	return nil
}

// inferParamInfo describes an hparam no experiment declares, from the
// values the sessions give it: its type, and its values as a discrete
// domain (sorted) when they share one type.
func inferParamInfo(name string, rows []hparams.Row) hparams.ParamInfo {
	info := hparams.ParamInfo{Name: name}
	var values []any
	seen := map[any]bool{}
	for _, r := range rows {
		v, ok := r.Row.HParams[name]
		if !ok || v == nil {
			continue
		}
		typ := ""
		switch plainValue(v).(type) {
		case string:
			typ = "string"
		case bool:
			typ = "bool"
		case float64:
			typ = "float64"
		}
		if info.Type == "" {
			info.Type = typ
		} else if info.Type != typ {
			return hparams.ParamInfo{Name: name} // mixed types: no domain
		}
		if !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	sort.Slice(values, func(i, j int) bool { return hpLess(values[i], values[j]) })
	info.Values = values
	return info
}

// plainValue is an hparam value as JSON decodes one: numbers as float64.
func plainValue(v any) any {
	if f, ok := v.(web.Float); ok {
		return float64(f)
	}
	return v
}

// hpLess orders hparam values of one type.
func hpLess(a, b any) bool {
	a, b = plainValue(a), plainValue(b)
	switch x := a.(type) {
	case float64:
		y, _ := b.(float64)
		return x < y
	case string:
		y, _ := b.(string)
		return x < y
	case bool:
		y, _ := b.(bool)
		return !x && y
	}
	return false
}

var tbStatuses = map[string]string{"unknown": "STATUS_UNKNOWN", "success": "STATUS_SUCCESS", "failure": "STATUS_FAILURE", "running": "STATUS_RUNNING"}

// tbGroup is a session group being built: sessions with one group name
// (or a session alone when it has none).
type tbGroup struct {
	name     string
	hparams  map[string]any
	sessions []hparams.Row
	evals    map[string]hparams.Eval // aggregated over the sessions
}

// tbHParamsSessionGroups answers ListSessionGroupsRequest: the session
// groups that pass the request's filters and statuses, sorted by its
// columns, sliced by startIndex and sliceSize; totalSize counts them all.
func (s *API) tbHParamsSessionGroups(c *gin.Context) error {
	t, req, done, err := s.tbHParamsTable(c)
	if err != nil || done {
		return err
	}
	groups, err := sessionGroups(t, req)
	if err != nil {
		return err
	}
	total := len(groups)
	start := min(max(req.StartIndex, 0), total)
	end := total
	if req.SliceSize != nil {
		end = min(start+max(*req.SliceSize, 0), total)
	}
	out := make([]gin.H, 0, end-start)
	for _, g := range groups[start:end] {
		out = append(out, tbGroupJSON(t, g))
	}
	c.JSON(http.StatusOK, gin.H{"sessionGroups": out, "totalSize": total})
	return nil
}

func sessionGroups(t *hparams.Table, req *tbHParamsRequest) ([]*tbGroup, error) {
	byName := map[string]*tbGroup{}
	var groups []*tbGroup
	for _, r := range t.Rows {
		if len(req.AllowedStatuses) > 0 && !slices.Contains(req.AllowedStatuses, tbStatuses[r.Row.Status]) {
			continue
		}
		name := r.Row.Group
		if name == "" {
			name = r.Run
		}
		g := byName[name]
		if g == nil {
			g = &tbGroup{name: name, hparams: r.Row.HParams}
			byName[name] = g
			groups = append(groups, g)
		}
		g.sessions = append(g.sessions, r)
	}
	for _, g := range groups {
		g.evals = aggregate(g.sessions, req)
	}
	// Filters.
	kept := groups[:0]
	for _, g := range groups {
		ok := true
		for _, cp := range req.ColParams {
			pass, err := cp.admits(g)
			if err != nil {
				return nil, err
			}
			ok = ok && pass
		}
		if ok {
			kept = append(kept, g)
		}
	}
	groups = kept
	// Sort by the columns with an order, in the request's order.
	sort.SliceStable(groups, func(i, j int) bool {
		for _, cp := range req.ColParams {
			if cp.Order != "ORDER_ASC" && cp.Order != "ORDER_DESC" {
				continue
			}
			a, aok := cp.value(groups[i])
			b, bok := cp.value(groups[j])
			switch {
			case !aok && !bok:
				continue
			case !aok || !bok:
				return aok != cp.MissingValuesFirst
			case hpLess(a, b):
				return cp.Order == "ORDER_ASC"
			case hpLess(b, a):
				return cp.Order == "ORDER_DESC"
			}
		}
		return false
	})
	return groups, nil
}

// aggregate gives a group's metric values: a lone session's own; for
// several, per the request's aggregation (AGGREGATION_AVG by default; MIN,
// MAX and MEDIAN take the session that is so by aggregationMetric).
func aggregate(sessions []hparams.Row, req *tbHParamsRequest) map[string]hparams.Eval {
	if len(sessions) == 1 {
		return sessions[0].Evals
	}
	if req.AggregationMet != nil && (req.AggregationType == "AGGREGATION_MIN" || req.AggregationType == "AGGREGATION_MAX" || req.AggregationType == "AGGREGATION_MEDIAN") {
		key := metricKey(*req.AggregationMet)
		var with []hparams.Row
		for _, s := range sessions {
			if _, ok := s.Evals[key]; ok {
				with = append(with, s)
			}
		}
		if len(with) > 0 {
			sort.SliceStable(with, func(i, j int) bool { return with[i].Evals[key].Value < with[j].Evals[key].Value })
			switch req.AggregationType {
			case "AGGREGATION_MIN":
				return with[0].Evals
			case "AGGREGATION_MAX":
				return with[len(with)-1].Evals
			default:
				return with[(len(with)-1)/2].Evals
			}
		}
	}
	sums := map[string]hparams.Eval{}
	counts := map[string]int{}
	for _, s := range sessions {
		for k, v := range s.Evals {
			a := sums[k]
			a.Value += v.Value
			a.Step = max(a.Step, v.Step)
			a.Wall = max(a.Wall, v.Wall)
			sums[k] = a
			counts[k]++
		}
	}
	for k, a := range sums {
		a.Value /= float64(counts[k])
		sums[k] = a
	}
	return sums
}

func metricKey(m tbMetricName) string {
	return hparams.MetricInfo{Group: m.Group, Tag: m.Tag}.Key()
}

// value is the column's value in group g.
func (cp tbColParams) value(g *tbGroup) (any, bool) {
	if cp.HParam != nil {
		v, ok := g.hparams[*cp.HParam]
		return plainValue(v), ok && v != nil
	}
	if cp.Metric != nil {
		e, ok := g.evals[metricKey(*cp.Metric)]
		return e.Value, ok
	}
	return nil, false
}

// admits reports whether group g passes the column's filter.
func (cp tbColParams) admits(g *tbGroup) (bool, error) {
	v, ok := cp.value(g)
	if !ok {
		return !cp.ExcludeMissingValues, nil
	}
	switch {
	case cp.FilterRegexp != nil:
		re, err := regexp.Compile(*cp.FilterRegexp)
		if err != nil {
			return false, kind.Errorf(kind.Invalid, "filterRegexp %q: %v", *cp.FilterRegexp, err)
		}
		return re.MatchString(fmt.Sprint(v)), nil
	case cp.FilterInterval != nil:
		x, isNum := v.(float64)
		if !isNum || math.IsNaN(x) {
			return false, nil
		}
		iv := cp.FilterInterval
		return (iv.MinValue == nil || x >= *iv.MinValue) && (iv.MaxValue == nil || x <= *iv.MaxValue), nil
	case cp.FilterDiscrete != nil:
		return slices.Contains(cp.FilterDiscrete, v), nil
	}
	return true, nil
}

func tbGroupJSON(t *hparams.Table, g *tbGroup) gin.H {
	sessions := make([]gin.H, 0, len(g.sessions))
	for _, r := range g.sessions {
		ses := gin.H{"name": r.Run, "status": tbStatuses[r.Row.Status], "metricValues": tbMetricValues(t, r.Evals)}
		if ses["status"] == "" {
			ses["status"] = "STATUS_UNKNOWN"
		}
		if r.Row.StartTime != nil {
			ses["startTimeSecs"] = *r.Row.StartTime
		}
		if r.Row.EndTime != nil {
			ses["endTimeSecs"] = *r.Row.EndTime
		}
		if r.Row.ModelURI != "" {
			ses["modelUri"] = r.Row.ModelURI
		}
		sessions = append(sessions, ses)
	}
	hparams := g.hparams
	if hparams == nil {
		hparams = map[string]any{}
	}
	return gin.H{"name": g.name, "hparams": hparams, "metricValues": tbMetricValues(t, g.evals), "sessions": sessions}
}

// tbMetricValues lists MetricValue messages in the table's column order.
func tbMetricValues(t *hparams.Table, evals map[string]hparams.Eval) []gin.H {
	out := []gin.H{}
	for _, key := range t.Columns.Metrics {
		e, ok := evals[key]
		if !ok {
			continue
		}
		m := t.Metrics[key]
		out = append(out, gin.H{"name": tbMetricName{Group: m.Group, Tag: m.Tag}, "value": web.Float(e.Value), "trainingStep": e.Step, "wallTimeSecs": web.Float(e.Wall)})
	}
	return out
}

// tbHParamsMetricEvals answers ListMetricEvalsRequest: the metric's
// series in the session, as [wall_time, step, value] rows like the
// scalars plugin's.
func (s *API) tbHParamsMetricEvals(c *gin.Context) error {
	req, err := hparamsRequest(c)
	if err != nil {
		return err
	}
	if req.SessionName == "" || req.MetricName == nil || req.MetricName.Tag == "" {
		return kind.Errorf(kind.Invalid, "give sessionName and metricName {group, tag}")
	}
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	run := req.SessionName
	if g := req.MetricName.Group; g != "" {
		run = run + "/" + g
		if req.SessionName == engine.RootRun {
			run = g
		}
	}
	r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, run)
	if err != nil {
		return err
	}
	if web.Revalidated(c, b, r) {
		return nil
	}
	rows, ok := scalarRows(r, req.MetricName.Tag)
	if !ok {
		return kind.Errorf(kind.NotFound, "run %q has no scalar series %q", r.Name(), req.MetricName.Tag)
	}
	c.JSON(http.StatusOK, rows)
	return nil
}
