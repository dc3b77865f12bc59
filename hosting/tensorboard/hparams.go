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
	IncludeMetrics  *bool         `json:"includeMetrics"`
}

// includeMetrics reports whether the answer holds metrics: unless the
// request says includeMetrics false.
func (r *tbHParamsRequest) includeMetrics() bool { return r.IncludeMetrics == nil || *r.IncludeMetrics }

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

var tbDatasetTypes = map[string]string{"training": "DATASET_TRAINING", "validation": "DATASET_VALIDATION"}

// The hparams answers are api.proto messages printed as TensorBoard's
// plugin_util.proto_to_json prints them: every field, default-valued ones
// included (a oneof only when set).

// tbExperiment is api.proto's Experiment.
type tbExperiment struct {
	Name            string         `json:"name"`
	Description     string         `json:"description"`
	User            string         `json:"user"`
	TimeCreatedSecs web.Float      `json:"timeCreatedSecs"`
	HParamInfos     []tbHParamInfo `json:"hparamInfos"`
	MetricInfos     []tbMetricInfo `json:"metricInfos"`
}

// tbHParamInfo is api.proto's HParamInfo.
type tbHParamInfo struct {
	Name           string          `json:"name"`
	DisplayName    string          `json:"displayName"`
	Description    string          `json:"description"`
	Type           string          `json:"type"`
	DomainDiscrete []any           `json:"domainDiscrete,omitempty"`
	DomainInterval *tbIntervalJSON `json:"domainInterval,omitempty"`
	Differs        bool            `json:"differs"`
}

// tbIntervalJSON is api.proto's Interval as printed.
type tbIntervalJSON struct {
	MinValue web.Float `json:"minValue"`
	MaxValue web.Float `json:"maxValue"`
}

// tbMetricInfo is api.proto's MetricInfo.
type tbMetricInfo struct {
	Name        tbMetricName `json:"name"`
	DisplayName string       `json:"displayName"`
	Description string       `json:"description"`
	DatasetType string       `json:"datasetType"`
}

// tbExperimentOf gives the table's experiment as TensorBoard answers it:
// hyperparameters that differ first, then by name (its
// _sort_and_reduce_to_hparams_limit); metrics left out unless asked for.
func tbExperimentOf(t *hparams.Table, includeMetrics bool) tbExperiment {
	out := tbExperiment{HParamInfos: []tbHParamInfo{}, MetricInfos: []tbMetricInfo{}}
	e := t.Experiment
	if e == nil {
		return out
	}
	out.Name, out.Description, out.User = e.Name, e.Description, e.User
	if e.TimeCreated != nil {
		out.TimeCreatedSecs = *e.TimeCreated
	}
	for _, hp := range e.HParams {
		info := tbHParamInfo{Name: hp.Name, DisplayName: hp.DisplayName, Description: hp.Description, Type: "DATA_TYPE_UNSET", Differs: hp.Differs}
		if dt, ok := tbDataTypes[hp.Type]; ok {
			info.Type = dt
		}
		switch {
		case hp.Values != nil:
			info.DomainDiscrete = hp.Values
		case hp.Min != nil || hp.Max != nil:
			iv := &tbIntervalJSON{}
			if hp.Min != nil {
				iv.MinValue = *hp.Min
			}
			if hp.Max != nil {
				iv.MaxValue = *hp.Max
			}
			info.DomainInterval = iv
		}
		out.HParamInfos = append(out.HParamInfos, info)
	}
	sort.SliceStable(out.HParamInfos, func(i, j int) bool {
		a, b := out.HParamInfos[i], out.HParamInfos[j]
		if a.Differs != b.Differs {
			return a.Differs
		}
		return a.Name < b.Name
	})
	if includeMetrics {
		for _, m := range e.Metrics {
			out.MetricInfos = append(out.MetricInfos, tbMetricInfo{Name: tbMetricName{Group: m.Group, Tag: m.Tag},
				DisplayName: m.DisplayName, Description: m.Description, DatasetType: tbDatasetType(m.DatasetType)})
		}
	}
	return out
}

func tbDatasetType(t string) string {
	if dt, ok := tbDatasetTypes[t]; ok {
		return dt
	}
	return "DATASET_UNKNOWN"
}

// tbHParamsExperiment answers GetExperimentRequest with the Experiment: the
// one a run logged, else the one computed from the sessions (see
// hparams.Table.Experiment).
func (s *API) tbHParamsExperiment(c *gin.Context) error {
	t, req, done, err := s.tbHParamsTable(c)
	if err != nil || done {
		return err
	}
	c.JSON(http.StatusOK, tbExperimentOf(t, req.includeMetrics()))
	return nil
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
	name       string
	monitorURL string
	hparams    map[string]any
	sessions   []hparams.Row
	evals      map[string]hparams.Eval // aggregated over the sessions
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
	out := make([]tbSessionGroup, 0, end-start)
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
		if !req.includeMetrics() {
			r.Evals = nil
		}
		// (An empty allowedStatuses allows none, as in TensorBoard.)
		if !slices.Contains(req.AllowedStatuses, tbStatus(r.Row.Status)) {
			continue
		}
		name := r.Row.Group
		if name == "" {
			name = r.Run
		}
		g := byName[name]
		if g == nil {
			// The group's hparams are its first session's, less the
			// non-finite numbers JSON cannot carry (TensorBoard's
			// _add_session). Rows come sorted by run name.
			g = &tbGroup{name: name, monitorURL: r.Row.MonitorURL, hparams: map[string]any{}}
			for k, v := range r.Row.HParams {
				if f, ok := v.(web.Float); ok && (math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)) {
					continue
				}
				g.hparams[k] = v
			}
			byName[name] = g
			groups = append(groups, g)
		}
		g.sessions = append(g.sessions, r)
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].name < groups[j].name })
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
	// The mean of each metric over the sessions that have it: value, wall
	// time, and step rounded down (TensorBoard's _set_avg_session_metrics).
	sums := map[string]hparams.Eval{}
	counts := map[string]int64{}
	for _, s := range sessions {
		for k, v := range s.Evals {
			a := sums[k]
			a.Value += v.Value
			a.Step += v.Step
			a.Wall += v.Wall
			sums[k] = a
			counts[k]++
		}
	}
	for k, a := range sums {
		n := counts[k]
		a.Value /= float64(n)
		a.Wall /= float64(n)
		a.Step = floorDiv(a.Step, n)
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

// floorDiv is a/b rounded toward -Inf, as Python's //.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// tbStatus is api.proto's Status of a native status.
func tbStatus(status string) string {
	if s, ok := tbStatuses[status]; ok {
		return s
	}
	return "STATUS_UNKNOWN"
}

// tbSessionGroup is api.proto's SessionGroup.
type tbSessionGroup struct {
	Name         string          `json:"name"`
	HParams      map[string]any  `json:"hparams"`
	MetricValues []tbMetricValue `json:"metricValues"`
	Sessions     []tbSession     `json:"sessions"`
	MonitorURL   string          `json:"monitorUrl"`
}

// tbSession is api.proto's Session.
type tbSession struct {
	Name          string          `json:"name"`
	StartTimeSecs web.Float       `json:"startTimeSecs"`
	EndTimeSecs   web.Float       `json:"endTimeSecs"`
	Status        string          `json:"status"`
	ModelURI      string          `json:"modelUri"`
	MetricValues  []tbMetricValue `json:"metricValues"`
	MonitorURL    string          `json:"monitorUrl"`
}

// tbMetricValue is api.proto's MetricValue.
type tbMetricValue struct {
	Name         tbMetricName `json:"name"`
	Value        web.Float    `json:"value"`
	TrainingStep int64        `json:"trainingStep"`
	WallTimeSecs web.Float    `json:"wallTimeSecs"`
}

func tbGroupJSON(t *hparams.Table, g *tbGroup) tbSessionGroup {
	out := tbSessionGroup{Name: g.name, HParams: g.hparams, MetricValues: tbMetricValues(t, g.evals), Sessions: make([]tbSession, 0, len(g.sessions)), MonitorURL: g.monitorURL}
	for _, r := range g.sessions {
		ses := tbSession{Name: r.Run, Status: tbStatus(r.Row.Status), ModelURI: r.Row.ModelURI, MetricValues: tbMetricValues(t, r.Evals), MonitorURL: r.Row.MonitorURL}
		if r.Row.StartTime != nil {
			ses.StartTimeSecs = *r.Row.StartTime
		}
		if r.Row.EndTime != nil {
			ses.EndTimeSecs = *r.Row.EndTime
		}
		out.Sessions = append(out.Sessions, ses)
	}
	return out
}

// tbMetricValues lists MetricValue messages in the table's column order.
func tbMetricValues(t *hparams.Table, evals map[string]hparams.Eval) []tbMetricValue {
	out := []tbMetricValue{}
	for _, key := range t.Columns.Metrics {
		e, ok := evals[key]
		if !ok {
			continue
		}
		m := t.Metrics[key]
		out = append(out, tbMetricValue{Name: tbMetricName{Group: m.Group, Tag: m.Tag}, Value: web.Float(e.Value), TrainingStep: e.Step, WallTimeSecs: web.Float(e.Wall)})
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
	run := hparams.MetricRun(req.SessionName, req.MetricName.Group)
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
