package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"tbhost/tfevents"
)

type tbMetricName struct{ Group, Tag string }

type tbExperiment struct {
	Name        string
	HParamInfos []struct {
		Name, DisplayName, Type string
		DomainDiscrete          []any
		DomainInterval          *struct{ MinValue, MaxValue float64 }
	}
	MetricInfos []struct {
		Name        tbMetricName
		DisplayName string
	}
}

type tbSessionGroups struct {
	SessionGroups []struct {
		Name         string
		HParams      map[string]any
		MetricValues []struct {
			Name         tbMetricName
			Value        float64
			TrainingStep int64
		}
		Sessions []struct{ Name, Status string }
	}
	TotalSize int
}

// hpPost POSTs a hparams request, checks the status and decodes the answer.
func (s *tbServer) hpPost(b tbBoard, route, body string, want int, v any) {
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
}

// TestTBHParams drives TensorBoard's hparams routes on a board made with
// the Keras hparams API (an experiment in the root run, three sessions),
// and checks them against the native /hparams answer.
func TestTBHParams(t *testing.T) {
	const tuning = "Alwaysproblem__tensorboard-review/logs/hparam_tuning"
	s := newTBServer(t)
	b := s.newBoard("tb hparams", false)
	for run, f := range map[string]string{
		".":     "events.out.tfevents.1585792142.ezio-virtual-machine.128712.5.v2",
		"run-0": "run-0/events.out.tfevents.1585792155.ezio-virtual-machine.128712.150258.v2",
		"run-1": "run-1/events.out.tfevents.1585792162.ezio-virtual-machine.128712.300429.v2",
		"run-5": "run-5/events.out.tfevents.1585792188.ezio-virtual-machine.128712.826021.v2",
	} {
		s.putFixture(b, run, path.Join(tuning, f))
	}
	native := s.hparams(b)
	accuracy := func(run string) float64 { return native.Runs[run].Metrics["accuracy"].(float64) }

	var listing map[string]struct{ Enabled bool }
	s.getJSON("/experiment/"+b.ID+"/data/plugins_listing", 200, &listing)
	if !listing["hparams"].Enabled {
		t.Errorf("plugins_listing does not enable hparams")
	}

	t.Run("experiment", func(t *testing.T) {
		var e tbExperiment
		s.hpPost(b, "experiment", `{"experimentName":""}`, 200, &e)
		var names []string
		for _, h := range e.HParamInfos {
			names = append(names, h.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(native.Columns.HParams) {
			t.Errorf("hparamInfos %v, native columns %v", names, native.Columns.HParams)
		}
		if h := e.HParamInfos[0]; h.Type != "DATA_TYPE_FLOAT64" || fmt.Sprint(h.DomainDiscrete) != "[16 32]" {
			t.Errorf("num_units = %+v", h)
		}
		if h := e.HParamInfos[1]; h.DomainInterval == nil || h.DomainInterval.MinValue != 0.1 || h.DomainInterval.MaxValue != 0.2 {
			t.Errorf("dropout = %+v", h)
		}
		if len(e.MetricInfos) != 1 || e.MetricInfos[0].Name.Tag != "accuracy" || e.MetricInfos[0].DisplayName != "Accuracy" {
			t.Errorf("metricInfos = %+v", e.MetricInfos)
		}
		// The same request as a GET with ?request=.
		var g tbExperiment
		s.getJSON("/experiment/"+b.ID+"/data/plugin/hparams/experiment?"+url.Values{"request": {`{"experimentName":""}`}}.Encode(), 200, &g)
		if len(g.HParamInfos) != len(e.HParamInfos) {
			t.Errorf("GET experiment has %d hparams, POST %d", len(g.HParamInfos), len(e.HParamInfos))
		}
	})

	tests := []struct {
		name    string
		request string
		want    []string // session names, in order
		total   int
	}{
		{"all", `{}`, []string{"run-0", "run-1", "run-5"}, 3},
		{"by accuracy, descending", `{"colParams":[{"metric":{"tag":"accuracy"},"order":"ORDER_DESC"}]}`, []string{"run-0", "run-1", "run-5"}, 3},
		{"by accuracy, ascending", `{"colParams":[{"metric":{"group":"","tag":"accuracy"},"order":"ORDER_ASC"}]}`, []string{"run-5", "run-1", "run-0"}, 3},
		{"accuracy at least 0.75", `{"colParams":[{"metric":{"tag":"accuracy"},"filterInterval":{"minValue":0.75}}]}`, []string{"run-0", "run-1"}, 2},
		{"a page", `{"startIndex":1,"sliceSize":1}`, []string{"run-1"}, 3},
		{"a page past the end", `{"startIndex":7,"sliceSize":2}`, nil, 3},
		{"statuses", `{"allowedStatuses":["STATUS_SUCCESS"]}`, nil, 0},
		{"unknown status allowed", `{"allowedStatuses":["STATUS_UNKNOWN","STATUS_SUCCESS"]}`, []string{"run-0", "run-1", "run-5"}, 3},
	}
	// Discrete and regexp filters, from the native answer.
	var adam []string
	for _, run := range []string{"run-0", "run-1", "run-5"} {
		if native.Runs[run].HParams["optimizer"] == "adam" {
			adam = append(adam, run)
		}
	}
	tests = append(tests,
		struct {
			name, request string
			want          []string
			total         int
		}{"optimizer adam", `{"colParams":[{"hparam":"optimizer","filterDiscrete":["adam"]}]}`, adam, len(adam)},
		struct {
			name, request string
			want          []string
			total         int
		}{"optimizer ^ad", `{"colParams":[{"hparam":"optimizer","filterRegexp":"^ad"}]}`, adam, len(adam)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res tbSessionGroups
			s.hpPost(b, "session_groups", tt.request, 200, &res)
			var got []string
			for _, g := range res.SessionGroups {
				if len(g.Sessions) != 1 {
					t.Fatalf("group %q has %d sessions", g.Name, len(g.Sessions))
				}
				run := g.Sessions[0].Name
				got = append(got, run)
				if len(g.MetricValues) != 1 || g.MetricValues[0].Value != accuracy(run) || g.MetricValues[0].Name.Tag != "accuracy" {
					t.Errorf("%s metricValues = %+v, native accuracy %v", run, g.MetricValues, accuracy(run))
				}
				if fmt.Sprint(g.HParams) != fmt.Sprint(native.Runs[run].HParams) {
					t.Errorf("%s hparams = %v, native %v", run, g.HParams, native.Runs[run].HParams)
				}
				if g.Sessions[0].Status != "STATUS_UNKNOWN" {
					t.Errorf("%s status %q", run, g.Sessions[0].Status)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || res.TotalSize != tt.total {
				t.Errorf("sessions %v (total %d), want %v (total %d)", got, res.TotalSize, tt.want, tt.total)
			}
		})
	}

	t.Run("metric_evals", func(t *testing.T) {
		var rows [][3]float64
		s.hpPost(b, "metric_evals", `{"sessionName":"run-0","metricName":{"tag":"accuracy"}}`, 200, &rows)
		if len(rows) == 0 || rows[len(rows)-1][2] != accuracy("run-0") {
			t.Errorf("metric_evals = %v, want it to end with %v", rows, accuracy("run-0"))
		}
		s.hpPost(b, "metric_evals", `{"sessionName":"run-0","metricName":{"tag":"nope"}}`, 404, nil)
		s.hpPost(b, "metric_evals", `{"sessionName":"run-0"}`, 400, nil)
	})
	t.Run("bad requests", func(t *testing.T) {
		s.hpPost(b, "session_groups", `{"colParams":`, 400, nil)
		s.hpPost(b, "session_groups", `{"colParams":[{"hparam":"optimizer","filterRegexp":"("}]}`, 400, nil)
	})
}

// TestTBHParamsInferred: sessions with no experiment get one inferred from
// their hparams and scalar tags.
func TestTBHParamsInferred(t *testing.T) {
	s := newTBServer(t)
	b := s.newBoard("inferred", false)
	entry := func(k string, v any) []byte { return pbBytes(1, cat(pbString(1, k), pbBytes(2, hpValue(v)))) }
	for i, lr := range []float64{0.1, 0.01} {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		hpWrite(t, w, "_hparams_/session_start_info", hpMeta(pbBytes(3, cat(entry("lr", lr), entry("opt", []string{"sgd", "adam"}[i])))))
		if err := w.WriteScalar("loss", 5, 1000, math.Sqrt(lr)); err != nil {
			t.Fatal(err)
		}
		s.put(b, fmt.Sprintf("trial-%d", i), "events.out.tfevents.1", buf.Bytes())
	}
	var e tbExperiment
	s.hpPost(b, "experiment", `{}`, 200, &e)
	if len(e.HParamInfos) != 2 || e.HParamInfos[0].Name != "lr" || e.HParamInfos[0].Type != "DATA_TYPE_FLOAT64" || fmt.Sprint(e.HParamInfos[0].DomainDiscrete) != "[0.01 0.1]" {
		t.Errorf("hparamInfos = %+v", e.HParamInfos)
	}
	if h := e.HParamInfos[1]; h.Type != "DATA_TYPE_STRING" || fmt.Sprint(h.DomainDiscrete) != "[adam sgd]" {
		t.Errorf("opt = %+v", h)
	}
	if len(e.MetricInfos) != 1 || e.MetricInfos[0].Name.Tag != "loss" {
		t.Errorf("metricInfos = %+v", e.MetricInfos)
	}
	var res tbSessionGroups
	s.hpPost(b, "session_groups", `{"colParams":[{"metric":{"tag":"loss"},"order":"ORDER_ASC"}]}`, 200, &res)
	if res.TotalSize != 2 || res.SessionGroups[0].Sessions[0].Name != "trial-1" || res.SessionGroups[0].MetricValues[0].TrainingStep != 5 {
		t.Errorf("session groups = %+v", res)
	}
}
