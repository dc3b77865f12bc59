package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
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

// TestHParamsCorpora reads the hparams of log dirs of the corpora: the
// forms the Keras hparams API, PyTorch's add_hparams and Lightning write.
func TestHParamsCorpora(t *testing.T) {
	type hpCase struct {
		name  string
		dirs  []string // folders of the corpus uploaded to one board
		check func(t *testing.T, a hpAnswer)
	}
	generated := []hpCase{
		{"keras hp API: the experiment in the parent run", []string{"keras_hparams"}, func(t *testing.T, a hpAnswer) {
			r, ok := a.Runs["run-0"]
			if len(a.Runs) != 1 || !ok {
				t.Fatalf("runs = %v, want run-0 (the parent holds only the experiment)", a.Runs)
			}
			if fmt.Sprint(r.HParams) != "map[num_units:16 optimizer:adam]" || r.Status != "success" ||
				r.StartTime == nil || *r.StartTime != 1.65e9 || r.EndTime == nil || *r.EndTime != 1.65e9+10 {
				t.Errorf("run-0 = %+v", r)
			}
			if fmt.Sprint(r.Metrics) != "map[accuracy:0.75]" {
				t.Errorf("metrics = %v, want accuracy 0.75 (its last point)", r.Metrics)
			}
			if fmt.Sprint(a.Columns.HParams) != "[num_units optimizer]" || fmt.Sprint(a.Columns.Metrics) != "[accuracy]" {
				t.Errorf("columns = %+v", a.Columns)
			}
			if e := a.Experiment; e == nil || len(e.HParams) != 2 || len(e.Metrics) != 1 || e.Metrics[0].Tag != "accuracy" {
				t.Errorf("experiment = %+v", e)
			}
		}},
		{"pytorch add_hparams: all in a sub-run", []string{"pytorch"}, func(t *testing.T, a hpAnswer) {
			r, ok := a.Runs["runs/Jan01_00-00-00_host/1700000100.5"]
			if len(a.Runs) != 1 || !ok {
				t.Fatalf("runs = %v, want the sub-run", a.Runs)
			}
			if fmt.Sprint(r.HParams) != "map[bsize:32 lr:0.1]" || fmt.Sprint(r.Metrics) != "map[hparam/accuracy:0.875]" || r.Status != "success" {
				t.Errorf("sub-run = %+v", r)
			}
			if fmt.Sprint(a.Columns.HParams) != "[lr bsize]" || fmt.Sprint(a.Columns.Metrics) != "[hparam/accuracy]" {
				t.Errorf("columns = %+v", a.Columns)
			}
		}},
		{"two experiments: the first run's wins", []string{"keras_hparams", "pytorch"}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 2 || a.Experiment == nil || a.Experiment.HParams[0].Name != "num_units" {
				t.Fatalf("answer = %+v", a)
			}
			// The pytorch session's metric is not the experiment's.
			if r := a.Runs["runs/Jan01_00-00-00_host/1700000100.5"]; len(r.Metrics) != 0 || fmt.Sprint(r.HParams) != "map[bsize:32 lr:0.1]" {
				t.Errorf("pytorch session = %+v", r)
			}
			if fmt.Sprint(a.Columns.HParams) != "[num_units optimizer bsize lr]" {
				t.Errorf("columns = %v: the experiment's, then the others sorted", a.Columns.HParams)
			}
		}},
		{"no hparams", []string{"tf2"}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 0 || a.Columns.HParams == nil || len(a.Columns.HParams) != 0 || len(a.Columns.Metrics) != 0 || a.Experiment != nil {
				t.Errorf("answer = %+v", a)
			}
		}},
	}
	real := []hpCase{
		{"keras hp API: the experiment in the root run", []string{"Alwaysproblem__tensorboard-review/logs/hparam_tuning"}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 8 {
				t.Fatalf("%d runs, want run-0 to run-7 (the root holds only the experiment)", len(a.Runs))
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
		{"pytorch add_hparams: sub-runs", []string{"ZeroToMax-ZYZ__study_tensorboard/runs"}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 3 {
				t.Fatalf("runs = %v, want the three sub-runs", a.Runs)
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
		{"lightning: hparams logged twice, the first wins", []string{"GiulioZani__facial-expression-recognition/lightning_logs"}, func(t *testing.T, a hpAnswer) {
			r, ok := a.Runs["version_31"]
			if !ok {
				t.Fatalf("runs = %v", a.Runs)
			}
			// Lightning logs the session start first with the hparams given
			// to the logger, then again with the model's; TensorBoard keeps
			// the first.
			if fmt.Sprint(r.HParams) != "map[train_batch_size:18]" || r.Status != "success" {
				t.Errorf("version_31 = %+v", r)
			}
		}},
		{"no hparams", []string{"orktes__go-tensorboard"}, func(t *testing.T, a hpAnswer) {
			if len(a.Runs) != 0 || a.Columns.HParams == nil || len(a.Columns.HParams) != 0 || len(a.Columns.Metrics) != 0 || a.Experiment != nil {
				t.Errorf("answer = %+v", a)
			}
		}},
	}
	for _, cp := range tbCorpora(t) {
		t.Run(cp.name, func(t *testing.T) {
			cases := real
			if cp.c.Generated {
				cases = generated
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := newTBServer(t)
					b := s.newBoard("hparams", false)
					for _, d := range tc.dirs {
						s.putDir(b, cp.c, d)
					}
					tc.check(t, s.hparams(b))
				})
			}
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
		{"metric: the last point, NaN included", r.Metrics["loss"], "NaN"},
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

// TestHParamsFirstMetadataWins: a run that logs its session start (or its
// experiment) again, in the same file or after a restart, keeps the first,
// as TensorBoard and RustBoard do.
func TestHParamsFirstMetadataWins(t *testing.T) {
	entry := func(k string, v any) []byte { return pbBytes(1, cat(pbString(1, k), pbBytes(2, hpValue(v)))) }
	start := func(lr float64) []byte { return hpMeta(pbBytes(3, entry("lr", lr))) }
	experiment := func(name string) []byte {
		return hpMeta(pbBytes(2, cat(pbString(6, name), pbBytes(4, pbString(1, "lr")))))
	}
	s := newTBServer(t)
	b := s.newBoard("first wins", false)
	for i, lrs := range [][]float64{{1, 2}, {3}} {
		var buf bytes.Buffer
		w := tfevents.NewWriter(&buf)
		for _, lr := range lrs {
			hpWrite(t, w, "_hparams_/experiment", experiment(fmt.Sprintf("exp %v", lr)))
			hpWrite(t, w, "_hparams_/session_start_info", start(lr))
		}
		s.put(b, "trial", fmt.Sprintf("events.out.tfevents.%d", i+1), buf.Bytes())
	}
	a := s.hparams(b)
	if got := a.Runs["trial"].HParams["lr"]; got != 1.0 {
		t.Errorf("lr = %v, want 1 (the first session start)", got)
	}
	if a.Experiment == nil || a.Experiment.Name != "exp 1" {
		t.Errorf("experiment = %+v, want the first, exp 1", a.Experiment)
	}
}
