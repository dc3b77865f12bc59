package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"tbhost/tfevents"
)

type tbMetricName struct{ Group, Tag string }

type tbHParamInfo struct {
	Name, DisplayName, Type string
	DomainDiscrete          []any
	DomainInterval          *struct{ MinValue, MaxValue float64 }
	Differs                 bool
}

type tbExperiment struct {
	Name        string
	HParamInfos []tbHParamInfo
	MetricInfos []struct {
		Name        tbMetricName
		DisplayName string
	}
}

type tbMetricValue struct {
	Name         tbMetricName
	Value        any // a number, or "NaN"
	TrainingStep int64
	WallTimeSecs float64
}

type tbSessionGroups struct {
	SessionGroups []struct {
		Name         string
		HParams      map[string]any
		MetricValues []tbMetricValue
		Sessions     []struct {
			Name, Status string
			MetricValues []tbMetricValue
		}
	}
	TotalSize int
}

// allStatuses is a session_groups request's allowedStatuses for every
// session (TensorBoard's page sends them; none allows none).
const allStatuses = `"allowedStatuses":["STATUS_UNKNOWN","STATUS_SUCCESS","STATUS_FAILURE","STATUS_RUNNING"]`

// hpPost POSTs a hparams request, checks the status and decodes the answer.
func (s *tbServer) hpPost(b tbBoard, route, body string, want int, v any) []byte {
	s.t.Helper()
	w := s.do(http.MethodPost, "/experiment/"+b.ID+"/data/plugin/hparams/"+route, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if w.Code != want {
		s.t.Fatalf("POST %s %s: status %d, want %d: %s", route, body, w.Code, want, w.Body.Bytes())
	}
	if v != nil {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			s.t.Fatalf("POST %s: decode %s: %v", route, w.Body.Bytes(), err)
		}
	}
	return w.Body.Bytes()
}

// checkFields fails unless the JSON object obj has exactly the fields
// want: proto_to_json prints every field, default-valued ones included.
func checkFields(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s has fields %v, want %v", what, got, want)
	}
}

// TestTBHParams drives TensorBoard's hparams routes on boards of the
// corpora and checks them against the native /hparams answer (the same
// table): the Keras and PyTorch forms of the generated corpus, and a Keras
// tuning log dir of the real one (an experiment in the root run, eight
// sessions).
func TestTBHParams(t *testing.T) {
	for _, cp := range tbCorpora(t) {
		t.Run(cp.name, func(t *testing.T) {
			s := newTBServer(t)
			b := s.newBoard("tb hparams", false)
			if cp.c.Generated {
				// The Keras form, with a second session beside run-0 (the
				// corpus has one), and a PyTorch session without the
				// experiment's metric.
				s.putDir(b, cp.c, "keras_hparams")
				s.putDir(b, cp.c, "pytorch")
				var buf bytes.Buffer
				w := tfevents.NewWriter(&buf)
				entry := func(k string, v any) []byte { return pbBytes(1, cat(pbString(1, k), pbBytes(2, hpValue(v)))) }
				hpWrite(t, w, "_hparams_/session_start_info", hpMeta(pbBytes(3, cat(entry("num_units", 32.0), entry("optimizer", "sgd")))))
				for step, v := range []float64{0.25, 0.5} {
					if err := w.WriteScalar("accuracy", int64(step), 1.65e9, v); err != nil {
						t.Fatal(err)
					}
				}
				s.put(b, "keras_hparams/run-1", "events.out.tfevents.2", buf.Bytes())
			} else {
				s.putDir(b, cp.c, "Alwaysproblem__tensorboard-review/logs/hparam_tuning")
			}
			checkTBHParams(t, s, b)
		})
	}
}

func checkTBHParams(t *testing.T, s *tbServer, b tbBoard) {
	native := s.hparams(b)
	if native.Experiment == nil || len(native.Runs) < 2 || len(native.Experiment.Metrics) == 0 {
		t.Fatalf("the board needs an experiment with a metric and two sessions: %+v", native)
	}
	metric := native.Experiment.Metrics[0]
	metricKey := metric.Tag
	if metric.Group != "" {
		metricKey = metric.Group + "/" + metric.Tag
	}
	value := func(run string) (float64, bool) {
		v, ok := native.Runs[run].Metrics[metricKey].(float64)
		return v, ok
	}
	var sessions []string
	for run := range native.Runs {
		sessions = append(sessions, run)
	}
	sort.Strings(sessions)

	var listing map[string]struct{ Enabled bool }
	s.getJSON("/experiment/"+b.ID+"/data/plugins_listing", 200, &listing)
	if !listing["hparams"].Enabled {
		t.Errorf("plugins_listing does not enable hparams")
	}

	t.Run("experiment", func(t *testing.T) {
		var e tbExperiment
		raw := s.hpPost(b, "experiment", `{"experimentName":""}`, 200, &e)
		var names []string
		for _, h := range e.HParamInfos {
			names = append(names, h.Name)
		}
		var want []string
		for _, h := range native.Experiment.HParams {
			want = append(want, h.Name)
		}
		sort.Strings(want) // none differs (as logged): by name
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("hparamInfos %v, want the experiment's %v by name", names, want)
		}
		if len(e.MetricInfos) != len(native.Experiment.Metrics) || e.MetricInfos[0].Name.Tag != metric.Tag || e.MetricInfos[0].DisplayName != metric.DisplayName {
			t.Errorf("metricInfos = %+v, native %+v", e.MetricInfos, native.Experiment.Metrics)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		checkFields(t, "experiment", m, "name", "description", "user", "timeCreatedSecs", "hparamInfos", "metricInfos")
		for _, h := range m["hparamInfos"].([]any) {
			h := h.(map[string]any)
			want := []string{"name", "displayName", "description", "type", "differs"}
			for _, d := range []string{"domainDiscrete", "domainInterval"} {
				if _, ok := h[d]; ok {
					want = append(want, d)
				}
			}
			checkFields(t, "hparamInfo", h, want...)
		}
		checkFields(t, "metricInfo", m["metricInfos"].([]any)[0].(map[string]any), "name", "displayName", "description", "datasetType")
		// The same request as a GET with ?request=; includeMetrics false.
		var g tbExperiment
		s.getJSON("/experiment/"+b.ID+"/data/plugin/hparams/experiment?"+url.Values{"request": {`{"experimentName":"","includeMetrics":false}`}}.Encode(), 200, &g)
		if len(g.HParamInfos) != len(e.HParamInfos) || len(g.MetricInfos) != 0 {
			t.Errorf("GET experiment without metrics: %d hparams, %d metrics", len(g.HParamInfos), len(g.MetricInfos))
		}
	})

	t.Run("session groups are the native sessions", func(t *testing.T) {
		var res tbSessionGroups
		raw := s.hpPost(b, "session_groups", `{`+allStatuses+`}`, 200, &res)
		var got []string
		for _, g := range res.SessionGroups {
			if len(g.Sessions) != 1 {
				t.Fatalf("group %q has %d sessions", g.Name, len(g.Sessions))
			}
			run := g.Sessions[0].Name
			got = append(got, run)
			v, ok := value(run)
			if ok != (len(g.MetricValues) > 0) || (ok && g.MetricValues[0].Value != v) {
				t.Errorf("%s metricValues = %+v, native %s %v", run, g.MetricValues, metricKey, native.Runs[run].Metrics)
			}
			if fmt.Sprint(g.HParams) != fmt.Sprint(native.Runs[run].HParams) {
				t.Errorf("%s hparams = %v, native %v", run, g.HParams, native.Runs[run].HParams)
			}
			if want := "STATUS_" + strings.ToUpper(native.Runs[run].Status); g.Sessions[0].Status != want {
				t.Errorf("%s status %q, want %q", run, g.Sessions[0].Status, want)
			}
		}
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(sessions) || res.TotalSize != len(sessions) {
			t.Errorf("sessions %v (total %d), want %v", got, res.TotalSize, sessions)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		checkFields(t, "response", m, "sessionGroups", "totalSize")
		g := m["sessionGroups"].([]any)[0].(map[string]any)
		checkFields(t, "sessionGroup", g, "name", "hparams", "metricValues", "sessions", "monitorUrl")
		checkFields(t, "session", g["sessions"].([]any)[0].(map[string]any),
			"name", "startTimeSecs", "endTimeSecs", "status", "modelUri", "metricValues", "monitorUrl")
	})

	// The sessions with the metric, by its value.
	var byValue []string
	for _, run := range sessions {
		if _, ok := value(run); ok {
			byValue = append(byValue, run)
		}
	}
	sort.SliceStable(byValue, func(i, j int) bool { a, _ := value(byValue[i]); b, _ := value(byValue[j]); return a < b })
	if len(byValue) < 2 {
		t.Fatalf("sessions with %s: %v; want two or more", metricKey, byValue)
	}
	median, _ := value(byValue[len(byValue)/2])
	mn := fmt.Sprintf(`{"group":%q,"tag":%q}`, metric.Group, metric.Tag)
	reversed := slices.Clone(byValue)
	slices.Reverse(reversed)
	first := func(groups []string) []string { return groups[:1] }

	tests := []struct {
		name    string
		request string
		want    []string // session names; in order unless sorted is false
		ordered bool
		total   int
	}{
		{"by the metric, ascending", `"colParams":[{"metric":` + mn + `,"order":"ORDER_ASC","excludeMissingValues":true}]`, byValue, true, len(byValue)},
		{"by the metric, descending", `"colParams":[{"metric":` + mn + `,"order":"ORDER_DESC","excludeMissingValues":true}]`, reversed, true, len(byValue)},
		{"the metric at least its median", `"colParams":[{"metric":` + mn + `,"filterInterval":{"minValue":` + fmt.Sprint(median) + `},"excludeMissingValues":true}]`,
			byValue[len(byValue)/2:], false, len(byValue) - len(byValue)/2},
		{"a page", `"colParams":[{"metric":` + mn + `,"order":"ORDER_ASC","excludeMissingValues":true}],"startIndex":0,"sliceSize":1`,
			first(byValue), true, len(byValue)},
		{"a page past the end", `"startIndex":100,"sliceSize":2`, nil, true, len(sessions)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res tbSessionGroups
			s.hpPost(b, "session_groups", `{`+allStatuses+`,`+tt.request+`}`, 200, &res)
			var got []string
			for _, g := range res.SessionGroups {
				got = append(got, g.Sessions[0].Name)
			}
			want := slices.Clone(tt.want)
			if !tt.ordered {
				sort.Strings(got)
				sort.Strings(want)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || res.TotalSize != tt.total {
				t.Errorf("sessions %v (total %d), want %v (total %d)", got, res.TotalSize, want, tt.total)
			}
		})
	}

	t.Run("statuses", func(t *testing.T) {
		var res tbSessionGroups
		s.hpPost(b, "session_groups", `{}`, 200, &res)
		if res.TotalSize != 0 {
			t.Errorf("no allowed status: %d groups, want none", res.TotalSize)
		}
		status := native.Runs[sessions[0]].Status
		var want []string
		for _, run := range sessions {
			if native.Runs[run].Status == status {
				want = append(want, run)
			}
		}
		s.hpPost(b, "session_groups", `{"allowedStatuses":["STATUS_`+strings.ToUpper(status)+`"]}`, 200, &res)
		if res.TotalSize != len(want) {
			t.Errorf("status %s: %d groups, want %d", status, res.TotalSize, len(want))
		}
	})

	t.Run("filters on a string hparam", func(t *testing.T) {
		var name, val string
		for _, run := range sessions {
			for k, v := range native.Runs[run].HParams {
				if str, ok := v.(string); ok && (name == "" || k < name) {
					name, val = k, str
				}
			}
		}
		if name == "" {
			t.Fatal("no session has a string hparam")
		}
		var want []string
		for _, run := range sessions {
			if native.Runs[run].HParams[name] == val {
				want = append(want, run)
			}
		}
		for _, f := range []string{
			`"filterDiscrete":[` + fmt.Sprintf("%q", val) + `]`,
			`"filterRegexp":` + fmt.Sprintf("%q", "^"+val+"$"),
		} {
			var res tbSessionGroups
			s.hpPost(b, "session_groups", `{`+allStatuses+`,"colParams":[{"hparam":`+fmt.Sprintf("%q", name)+`,`+f+`,"excludeMissingValues":true}]}`, 200, &res)
			var got []string
			for _, g := range res.SessionGroups {
				got = append(got, g.Sessions[0].Name)
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %s: sessions %v, want %v", name, f, got, want)
			}
		}
	})

	t.Run("metric_evals", func(t *testing.T) {
		run := byValue[0]
		v, _ := value(run)
		var rows [][3]float64
		s.hpPost(b, "metric_evals", fmt.Sprintf(`{"sessionName":%q,"metricName":%s}`, run, mn), 200, &rows)
		if len(rows) == 0 || rows[len(rows)-1][2] != v {
			t.Errorf("metric_evals = %v, want it to end with %v", rows, v)
		}
		s.hpPost(b, "metric_evals", fmt.Sprintf(`{"sessionName":%q,"metricName":{"tag":"nope"}}`, run), 404, nil)
		s.hpPost(b, "metric_evals", fmt.Sprintf(`{"sessionName":%q}`, run), 400, nil)
	})
	t.Run("bad requests", func(t *testing.T) {
		s.hpPost(b, "session_groups", `{"colParams":`, 400, nil)
		s.hpPost(b, "session_groups", `{`+allStatuses+`,"colParams":[{"hparam":"optimizer","filterRegexp":"("}]}`, 400, nil)
	})
}

// TestTBHParamsInferred: sessions with no experiment get one computed as
// TensorBoard computes it: numbers as an interval, strings and bools as
// their values, differs when there is more than one; the metrics are the
// scalar tags of each session's run and of the runs below it (grouped by
// the sub-folder), not those of other runs.
func TestTBHParamsInferred(t *testing.T) {
	s := newTBServer(t)
	b := s.newBoard("inferred", false)
	entry := func(k string, v any) []byte { return pbBytes(1, cat(pbString(1, k), pbBytes(2, hpValue(v)))) }
	put := func(run string, write func(w *tfevents.Writer)) {
		var buf bytes.Buffer
		write(tfevents.NewWriter(&buf))
		s.put(b, run, "events.out.tfevents.1", buf.Bytes())
	}
	scalar := func(w *tfevents.Writer, tag string, step int64, v float64) {
		if err := w.WriteScalar(tag, step, 1000+float64(step), v); err != nil {
			t.Fatal(err)
		}
	}
	for i, lr := range []float64{0.1, 0.01} {
		put(fmt.Sprintf("trial-%d", i), func(w *tfevents.Writer) {
			hpWrite(t, w, "_hparams_/session_start_info", hpMeta(pbBytes(3, cat(entry("lr", lr), entry("opt", []string{"sgd", "adam"}[i]),
				entry("fixed", true), entry("nothing", nil)))))
			scalar(w, "loss", 4, 1)
			scalar(w, "loss", 5, math.Sqrt(lr))
		})
	}
	put("trial-0/eval", func(w *tfevents.Writer) { scalar(w, "acc", 2, 0.5) })
	put("elsewhere", func(w *tfevents.Writer) { scalar(w, "other", 1, 1) })

	var e tbExperiment
	s.hpPost(b, "experiment", `{}`, 200, &e)
	infos := map[string]tbHParamInfo{}
	var order []string
	for _, h := range e.HParamInfos {
		infos[h.Name] = h
		order = append(order, h.Name)
	}
	if fmt.Sprint(order) != "[lr opt fixed]" {
		t.Errorf("hparamInfos %v, want lr and opt (they differ), then fixed; nothing has no type", order)
	}
	if h := infos["lr"]; h.Type != "DATA_TYPE_FLOAT64" || h.DomainInterval == nil || h.DomainInterval.MinValue != 0.01 || h.DomainInterval.MaxValue != 0.1 || !h.Differs {
		t.Errorf("lr = %+v", h)
	}
	if h := infos["opt"]; h.Type != "DATA_TYPE_STRING" || fmt.Sprint(h.DomainDiscrete) != "[adam sgd]" || !h.Differs {
		t.Errorf("opt = %+v", h)
	}
	if h := infos["fixed"]; h.Type != "DATA_TYPE_BOOL" || fmt.Sprint(h.DomainDiscrete) != "[true]" || h.Differs {
		t.Errorf("fixed = %+v", h)
	}
	var metrics []string
	for _, m := range e.MetricInfos {
		metrics = append(metrics, m.Name.Group+":"+m.Name.Tag)
	}
	if fmt.Sprint(metrics) != "[eval:acc :loss]" {
		t.Errorf("metricInfos %v, want eval/acc and loss (by tag), not other", metrics)
	}

	var res tbSessionGroups
	s.hpPost(b, "session_groups", `{`+allStatuses+`,"colParams":[{"metric":{"tag":"loss"},"order":"ORDER_ASC"}]}`, 200, &res)
	if res.TotalSize != 2 || res.SessionGroups[0].Sessions[0].Name != "trial-1" {
		t.Fatalf("session groups = %+v", res)
	}
	if mv := res.SessionGroups[0].MetricValues; len(mv) != 1 || mv[0].TrainingStep != 5 || mv[0].WallTimeSecs != 1005 {
		t.Errorf("trial-1 metric values = %+v, want loss at step 5", mv)
	}
	if mv := res.SessionGroups[1].MetricValues; len(mv) != 2 || mv[0].Name.Group != "eval" || mv[0].Value != 0.5 {
		t.Errorf("trial-0 metric values = %+v, want eval/acc 0.5 and loss", mv)
	}

	// The native answer is the same table.
	native := s.hparams(b)
	if fmt.Sprint(native.Columns.Metrics) != "[eval/acc loss]" || native.Runs["trial-0"].Metrics["eval/acc"] != 0.5 {
		t.Errorf("native = %+v", native)
	}
}
