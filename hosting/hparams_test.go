package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"tbhost/tfevents"
)

// hpAnswer is GET /api/boards/:id/hparams.
type hpAnswer struct {
	Runs map[string]struct {
		HParams   map[string]any `json:"hparams"`
		Metrics   map[string]any `json:"metrics"`
		Group     string         `json:"group"`
		Status    string         `json:"status"`
		StartTime *float64       `json:"start_time"`
		EndTime   *float64       `json:"end_time"`
	} `json:"runs"`
	Columns struct {
		HParams []string `json:"hparams"`
		Metrics []string `json:"metrics"`
	} `json:"columns"`
	Experiment *struct {
		Name    string `json:"name"`
		HParams []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Values []any  `json:"values"`
			Min    *float64
			Max    *float64
		} `json:"hparams"`
		Metrics []struct {
			Tag         string `json:"tag"`
			Group       string `json:"group"`
			DisplayName string `json:"display_name"`
		} `json:"metrics"`
	} `json:"experiment"`
}

func (s *tbServer) hparams(b tbBoard) hpAnswer {
	s.t.Helper()
	var a hpAnswer
	s.getJSON("/api/boards/"+b.ID+"/hparams", http.StatusOK, &a)
	return a
}

// Protobuf builders for hand-made hparams metadata.
func pbBytes(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbString(num protowire.Number, s string) []byte { return pbBytes(num, []byte(s)) }

func pbDouble(num protowire.Number, v float64) []byte {
	b := protowire.AppendTag(nil, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func pbVarint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// hpMeta wraps HParamsPluginData content as a SummaryMetadata.
func hpMeta(content []byte) []byte {
	return pbBytes(1, cat(pbString(1, "hparams"), pbBytes(2, cat(pbVarint(1, 0), content))))
}

// hpValue is a google.protobuf.Value.
func hpValue(v any) []byte {
	switch x := v.(type) {
	case float64:
		return pbDouble(2, x)
	case string:
		return pbString(3, x)
	case bool:
		b := uint64(0)
		if x {
			b = 1
		}
		return pbVarint(4, b)
	}
	return pbVarint(1, 0)
}

func hpWrite(t *testing.T, w *tfevents.Writer, tag string, meta []byte) {
	t.Helper()
	err := w.WriteValue(&tfevents.Value{Tag: tag, Plugin: tfevents.PluginHParams, WallTime: 100, Kind: tfevents.KindTensor,
		DType: tfevents.DTFloat, Floats: []float64{0}, Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHParamsFixtures(t *testing.T) {
	const tuning = "Alwaysproblem__tensorboard-review/logs/hparam_tuning"
	tuningRuns := map[string]string{
		".":     "events.out.tfevents.1585792142.ezio-virtual-machine.128712.5.v2",
		"run-0": "run-0/events.out.tfevents.1585792155.ezio-virtual-machine.128712.150258.v2",
		"run-1": "run-1/events.out.tfevents.1585792162.ezio-virtual-machine.128712.300429.v2",
		"run-5": "run-5/events.out.tfevents.1585792188.ezio-virtual-machine.128712.826021.v2",
	}
	const zyz = "ZeroToMax-ZYZ__study_tensorboard/runs"
	tests := []struct {
		name  string
		files map[string]string // run -> fixture path
		check func(t *testing.T, a hpAnswer)
	}{
		{"keras hp api: experiment in the root run", func() map[string]string {
			m := map[string]string{}
			for run, f := range tuningRuns {
				m[run] = path.Join(tuning, f)
			}
			return m
		}(), func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 3 {
				t.Fatalf("runs = %v, want run-0, run-1, run-5 (the root holds only the experiment)", a.Runs)
			}
			r0 := a.Runs["run-0"]
			if r0.HParams["optimizer"] != "adam" || r0.HParams["num_units"] != 16.0 || r0.HParams["dropout"] != 0.1 {
				t.Errorf("run-0 hparams = %v", r0.HParams)
			}
			if r0.Group == "" || r0.Status != "unknown" || r0.StartTime == nil {
				t.Errorf("run-0 group %q status %q start %v", r0.Group, r0.Status, r0.StartTime)
			}
			for run, want := range map[string]float64{"run-0": 0.8396999835968018, "run-1": 0.7925000190734863, "run-5": 0.7253999710083008} {
				if got := a.Runs[run].Metrics["accuracy"]; got != want || len(a.Runs[run].Metrics) != 1 {
					t.Errorf("%s metrics = %v, want accuracy %v", run, a.Runs[run].Metrics, want)
				}
			}
			if fmt.Sprint(a.Columns.HParams) != "[num_units dropout optimizer]" || fmt.Sprint(a.Columns.Metrics) != "[accuracy]" {
				t.Errorf("columns = %+v", a.Columns)
			}
			e := a.Experiment
			if e == nil || len(e.HParams) != 3 || len(e.Metrics) != 1 || e.Metrics[0].Tag != "accuracy" || e.Metrics[0].DisplayName != "Accuracy" {
				t.Fatalf("experiment = %+v", e)
			}
			if e.HParams[0].Type != "float64" || fmt.Sprint(e.HParams[0].Values) != "[16 32]" {
				t.Errorf("num_units info = %+v", e.HParams[0])
			}
			if d := e.HParams[1]; d.Min == nil || *d.Min != 0.1 || *d.Max != 0.2 {
				t.Errorf("dropout info = %+v", d)
			}
			if fmt.Sprint(e.HParams[2].Values) != "[adam sgd]" || e.HParams[2].Type != "string" {
				t.Errorf("optimizer info = %+v", e.HParams[2])
			}
		}},
		{"pytorch add_hparams: sub-runs", map[string]string{
			"hparams_search_exp_1/1771595857.3236299": zyz + "/hparams_search_exp_1/1771595857.3236299/events.out.tfevents.1771595857.zyzkings.1216.1",
			"hparams_search_exp_2/1771595857.3322473": zyz + "/hparams_search_exp_2/1771595857.3322473/events.out.tfevents.1771595857.zyzkings.1216.3",
			"hparams_search_exp_1":                    zyz + "/hparams_search_exp_1/events.out.tfevents.1771595857.zyzkings.1216.0",
		}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 2 {
				t.Fatalf("runs = %v, want the two sub-runs", a.Runs)
			}
			r := a.Runs["hparams_search_exp_1/1771595857.3236299"]
			if r.HParams["batch_size"] != 32.0 || r.HParams["lr"] != 0.1 || r.HParams["optimizer"] != "SGD" || r.Status != "success" {
				t.Errorf("exp_1 = %+v", r)
			}
			if r.Metrics["hparam/Final_Val_Accuracy"] != 84.03559875488281 || r.Metrics["hparam/Final_Val_Loss"] != 1.183273196220398 {
				t.Errorf("exp_1 metrics = %v", r.Metrics)
			}
			if got := a.Runs["hparams_search_exp_2/1771595857.3322473"].Metrics["hparam/Final_Val_Accuracy"]; got != 95.5 {
				t.Errorf("exp_2 accuracy = %v", got)
			}
			if fmt.Sprint(a.Columns.HParams) != "[lr batch_size optimizer]" ||
				fmt.Sprint(a.Columns.Metrics) != "[hparam/Final_Val_Accuracy hparam/Final_Val_Loss]" {
				t.Errorf("columns = %+v", a.Columns)
			}
		}},
		{"lightning: hparams written twice, the last wins", map[string]string{
			"version_31": "GiulioZani__facial-expression-recognition/lightning_logs/version_31/events.out.tfevents.1653309829.archlinux.4428.0",
		}, func(t *testing.T, a hpAnswer) {
			r, ok := a.Runs["version_31"]
			if !ok || len(r.HParams) != 23 {
				t.Fatalf("version_31 = %+v", a.Runs)
			}
			if r.HParams["params/exec"] != "classify_videos" || r.HParams["params/train_batch_size"] != 18.0 || r.HParams["params/lr"] != 0.0002 {
				t.Errorf("hparams = %v", r.HParams)
			}
			if fmt.Sprint(r.Metrics) != "map[hp_metric:-1]" || r.Status != "success" {
				t.Errorf("metrics %v status %q", r.Metrics, r.Status)
			}
			if len(a.Columns.HParams) != 23 || a.Columns.HParams[0] != "params/cuda" {
				t.Errorf("columns = %v", a.Columns.HParams)
			}
		}},
		{"no hparams", map[string]string{
			"metrics": "orktes__go-tensorboard/testdata/tfevents/events.out.tfevents.1585499054.Jaakkos-Mac-mini.local.11684.5.v2",
		}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 0 || a.Columns.HParams == nil || len(a.Columns.HParams) != 0 || len(a.Columns.Metrics) != 0 || a.Experiment != nil {
				t.Errorf("answer = %+v", a)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTBServer(t)
			b := s.newBoard("hparams", false)
			for run, f := range tc.files {
				s.putFixture(b, run, f)
			}
			tc.check(t, s.hparams(b))
		})
	}
}

func TestHParamsGenerated(t *testing.T) {
	// An experiment at the root whose metrics live in the sessions' "eval"
	// sub-runs; one session with no experiment in reach of its own.
	var root, sess, eval bytes.Buffer
	w := tfevents.NewWriter(&root)
	exp := cat(
		pbString(6, "sweep"), pbString(1, "a sweep"),
		pbBytes(4, cat(pbString(1, "lr"), pbVarint(4, 3), pbBytes(6, cat(pbDouble(1, 0.001), pbDouble(2, 1))))),
		pbBytes(4, cat(pbString(1, "fancy"), pbVarint(4, 2))),
		pbBytes(5, cat(pbBytes(1, cat(pbString(1, "eval"), pbString(2, "acc"))), pbString(3, "Eval accuracy"))),
		pbBytes(5, cat(pbBytes(1, pbString(2, "loss")))),
	)
	hpWrite(t, w, "_hparams_/experiment", hpMeta(pbBytes(2, exp)))

	w = tfevents.NewWriter(&sess)
	entry := func(k string, v any) []byte { return pbBytes(1, cat(pbString(1, k), pbBytes(2, hpValue(v)))) }
	start := cat(entry("lr", math.NaN()), entry("fancy", true), entry("name", "x"), entry("nothing", nil),
		pbString(4, "g1"), pbDouble(5, 1234.5))
	hpWrite(t, w, "_hparams_/session_start_info", hpMeta(pbBytes(3, start)))
	hpWrite(t, w, "_hparams_/session_end_info", hpMeta(pbBytes(4, cat(pbVarint(1, 2), pbDouble(2, 2000)))))
	for step, v := range []float64{3, 2, math.NaN()} {
		if err := w.WriteScalar("loss", int64(step), 1000, v); err != nil {
			t.Fatal(err)
		}
	}
	w = tfevents.NewWriter(&eval)
	if err := w.WriteScalar("acc", 1, 1000, 0.5); err != nil {
		t.Fatal(err)
	}

	s := newTBServer(t)
	b := s.newBoard("generated hparams", true)
	s.put(b, ".", "events.out.tfevents.1.root", root.Bytes())
	s.put(b, "trial/1", "events.out.tfevents.2.sess", sess.Bytes())
	s.put(b, "trial/1/eval", "events.out.tfevents.3.eval", eval.Bytes())

	s.getJSON("/api/boards/"+b.ID+"/hparams", http.StatusUnauthorized, nil)
	var a hpAnswer
	s.getJSON("/api/boards/"+b.ID+"/hparams?"+url.Values{"key": {b.ViewKey}}.Encode(), http.StatusOK, &a)
	if len(a.Runs) != 1 {
		t.Fatalf("runs = %v", a.Runs)
	}
	r := a.Runs["trial/1"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"NaN hparam", r.HParams["lr"], "NaN"},
		{"bool hparam", r.HParams["fancy"], true},
		{"string hparam", r.HParams["name"], "x"},
		{"null hparam", r.HParams["nothing"], nil},
		{"metric in a group sub-run", r.Metrics["eval/acc"], 0.5},
		{"metric: last finite", r.Metrics["loss"], 2.0},
		{"metric count", len(r.Metrics), 2},
		{"group", r.Group, "g1"},
		{"status", r.Status, "failure"},
		{"start time", *r.StartTime, 1234.5},
		{"end time", *r.EndTime, 2000.0},
		{"hparam columns", fmt.Sprint(a.Columns.HParams), "[lr fancy name nothing]"},
		{"metric columns", fmt.Sprint(a.Columns.Metrics), "[eval/acc loss]"},
		{"experiment name", a.Experiment.Name, "sweep"},
		{"interval", fmt.Sprint(*a.Experiment.HParams[0].Min, *a.Experiment.HParams[0].Max), "0.001 1"},
		{"bool type", a.Experiment.HParams[1].Type, "bool"},
		{"metric group", a.Experiment.Metrics[0].Group, "eval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := json.Marshal(tc.got)
			w, _ := json.Marshal(tc.want)
			if !bytes.Equal(g, w) {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}

	// A 304 for an unchanged board.
	p := "/api/boards/" + b.ID + "/hparams?key=" + url.QueryEscape(b.ViewKey)
	etag := s.get(p).Header().Get("ETag")
	if got := s.do(http.MethodGet, p, nil, http.Header{"If-None-Match": {etag}}).Code; etag == "" || got != http.StatusNotModified {
		t.Errorf("If-None-Match %q: status %d", etag, got)
	}
}
