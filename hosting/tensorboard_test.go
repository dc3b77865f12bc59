package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// tbCorpus is an event-file corpus the TensorBoard tests run on.
type tbCorpus struct {
	name string
	c    *tfeventstest.Corpus
}

// tbCorpora returns the corpora to run on: the generated one always, the
// real one (../shared/fixtures) when it is present (under CI=true its
// absence fails the test).
func tbCorpora(t *testing.T) []tbCorpus {
	t.Helper()
	out := []tbCorpus{{"generated", tfeventstest.Generate(t)}}
	if c := tfeventstest.RealIfPresent(t); c != nil {
		out = append(out, tbCorpus{"real", c})
	}
	return out
}

// tbServer drives a server through its handler.
type tbServer struct {
	t *testing.T
	h http.Handler
}

type tbBoard struct {
	ID      string `json:"id"`
	Token   string `json:"token"`
	ViewKey string `json:"view_key"`
}

func newTBServer(t *testing.T) *tbServer {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	return &tbServer{t: t, h: srv.Handler()}
}

func (s *tbServer) do(method, path string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	s.t.Helper()
	req := httptest.NewRequest(method, path, body)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

func (s *tbServer) get(path string) *httptest.ResponseRecorder {
	s.t.Helper()
	return s.do(http.MethodGet, path, nil, nil)
}

// getJSON GETs path, checks the status and decodes the body into v.
func (s *tbServer) getJSON(path string, want int, v any) {
	s.t.Helper()
	w := s.get(path)
	if w.Code != want {
		s.t.Fatalf("GET %s: status %d, want %d: %s", path, w.Code, want, w.Body.Bytes())
	}
	if v != nil {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			s.t.Fatalf("GET %s: decode %s: %v", path, w.Body.Bytes(), err)
		}
	}
}

func (s *tbServer) newBoard(name string, private bool) tbBoard {
	s.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"description":"a board for tests","private":%t}`, name, private)
	w := s.do(http.MethodPost, "/api/boards", strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if w.Code != http.StatusCreated {
		s.t.Fatalf("create board: status %d: %s", w.Code, w.Body.Bytes())
	}
	var b tbBoard
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *tbServer) put(b tbBoard, run, file string, data []byte) {
	s.t.Helper()
	path := fmt.Sprintf("/api/boards/%s/files?run=%s&file=%s&offset=0", b.ID, url.QueryEscape(run), url.QueryEscape(file))
	w := s.do(http.MethodPut, path, bytes.NewReader(data), http.Header{"Authorization": {"Bearer " + b.Token}})
	if w.Code != http.StatusOK {
		s.t.Fatalf("upload %s/%s: status %d: %s", run, file, w.Code, w.Body.Bytes())
	}
}

// putFile uploads the event file rel (a path in c's log dir) as run.
func (s *tbServer) putFile(b tbBoard, c *tfeventstest.Corpus, run, rel string) []byte {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(c.LogDir, filepath.FromSlash(rel)))
	if err != nil {
		s.t.Fatal(err)
	}
	s.put(b, run, path.Base(rel), data)
	return data
}

// putDir uploads every event file of c under the folder dir (a path in
// c's log dir) as the runs they are in, relative to dir.
func (s *tbServer) putDir(b tbBoard, c *tfeventstest.Corpus, dir string) {
	s.t.Helper()
	n := 0
	for _, f := range c.Files {
		rel, ok := strings.CutPrefix(f.Path, dir+"/")
		if !ok {
			continue
		}
		run := path.Dir(rel)
		s.putFile(b, c, run, f.Path)
		n++
	}
	if n == 0 {
		s.t.Fatalf("%s holds no event file", dir)
	}
}

func tbData(b tbBoard, route string, q url.Values) string {
	p := "/experiment/" + b.ID + "/data/" + route
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// tbPNG returns a small PNG whose pixels depend on seed.
func tbPNG(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*7 + seed*31)
	}
	img.Set(0, 0, color.RGBA{uint8(seed), 1, 2, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tbDescription is a tag description in Markdown, with HTML that must not
// survive; tbDescriptionHTML is how TensorBoard renders it.
const (
	tbDescription     = "The **loss**, [docs](https://example.com/docs \"t\") <script>alert(1)</script> <a href=\"javascript:alert(2)\" onclick=\"x()\">x</a>"
	tbDescriptionHTML = `<p>The <strong>loss</strong>, <a href="https://example.com/docs" title="t">docs</a> &lt;script&gt;alert(1)&lt;/script&gt; <a>x</a></p>` + "\n"
)

// tbGenerated is the content of the generated runs, to compare answers with.
type tbGenerated struct {
	train, eval []byte
	images      [][][]byte // per step, the images of that step
	wav         []byte
}

// generate writes two runs with every kind of data the TensorBoard routes
// serve.
func generate(t *testing.T) tbGenerated {
	t.Helper()
	var g tbGenerated
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.WriteFileVersion(1000))
	for step := range int64(3000) {
		check(w.WriteScalar("loss", step, 1000+float64(step), float64(step)/10))
	}
	check(w.WriteValue(&tfevents.Value{Tag: "described", Plugin: tfevents.PluginScalars, Step: 0, WallTime: 1000, Kind: tfevents.KindScalar,
		Scalar: 1, Description: tbDescription}))
	for i, v := range []float64{1, math.NaN(), math.Inf(1), math.Inf(-1), 2} {
		check(w.WriteScalar("spiky", int64(i), 2000+float64(i), v))
	}
	for step := range int64(200) {
		check(w.WriteHistogram("weights", step, 3000+float64(step), [][3]float64{{0, 10, float64(step + 1)}}))
	}
	check(w.WriteHistogram("two", 5, 3500, [][3]float64{{0, 1, 1}, {1, 3, 3}}))
	for step := range 3 {
		imgs := [][]byte{tbPNG(t, 2*step), tbPNG(t, 2*step+1)}
		g.images = append(g.images, imgs)
		check(w.WriteImage("samples", int64(step), 4000+float64(step), 4, 3, imgs...))
	}
	g.wav = append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 28)...)
	check(w.WriteAudio("voice", 1, 4500, [][]byte{g.wav}, []string{"hello <b>"}))
	check(w.WriteText("notes", 0, 5000, "hello *world*"))
	check(w.WriteValue(&tfevents.Value{Tag: "table", Plugin: tfevents.PluginText, Step: 1, WallTime: 5001, Kind: tfevents.KindText,
		Strings: [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}, Shape: []int64{2, 2}}))
	pr := []float64{
		10, 5, 0, // TP
		10, 2, 0, // FP
		0, 8, 10, // TN
		0, 5, 10, // FN
		0.5, 0.7, math.NaN(), // precision
		1, 0.5, 0, // recall
	}
	check(w.WriteValue(&tfevents.Value{Tag: "pr", Plugin: tfevents.PluginPRCurves, Step: 3, WallTime: 6000, Kind: tfevents.KindTensor,
		DType: tfevents.DTFloat, Floats: pr, Shape: []int64{6, 3}}))
	g.train = bytes.Clone(buf.Bytes())

	buf.Reset()
	w = tfevents.NewWriter(&buf)
	check(w.WriteFileVersion(1000))
	for step := range int64(10) {
		check(w.WriteScalar("loss", step, 1000+float64(step), float64(step)))
	}
	check(w.WriteScalar("only_eval", 1, 1001, 7))
	g.eval = bytes.Clone(buf.Bytes())
	return g
}

func tbSetup(t *testing.T, private bool) (*tbServer, tbBoard, tbGenerated) {
	t.Helper()
	s := newTBServer(t)
	b := s.newBoard("generated board", private)
	g := generate(t)
	s.put(b, "train", "events.out.tfevents.1.host", g.train)
	s.put(b, "eval", "events.out.tfevents.2.host", g.eval)
	return s, b, g
}

// num reads a JSON number or one of the non-finite strings.
func num(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

func TestTensorBoardRoutes(t *testing.T) {
	s, b, g := tbSetup(t, false)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"environment", func(t *testing.T) {
			var env map[string]any
			s.getJSON(tbData(b, "environment", nil), http.StatusOK, &env)
			if env["window_title"] != "generated board" || env["experiment_name"] != "generated board" ||
				env["experiment_description"] != "a board for tests" || !strings.HasSuffix(env["data_location"].(string), "/experiment/"+b.ID+"/") {
				t.Errorf("environment = %v", env)
			}
			if ct, ok := env["creation_time"].(float64); !ok || ct <= 0 {
				t.Errorf("creation_time = %v", env["creation_time"])
			}
		}},
		{"runs", func(t *testing.T) {
			var runs []string
			s.getJSON(tbData(b, "runs", nil), http.StatusOK, &runs)
			if fmt.Sprint(runs) != "[eval train]" {
				t.Errorf("runs = %v, want [eval train]", runs)
			}
		}},
		{"plugins_listing", func(t *testing.T) {
			type mechanism struct {
				Type        string `json:"type"`
				ElementName string `json:"element_name"`
			}
			var pl map[string]struct {
				Enabled          *bool      `json:"enabled"`
				TabName          *string    `json:"tab_name"`
				DisableReload    *bool      `json:"disable_reload"`
				RemoveDOM        *bool      `json:"remove_dom"`
				LoadingMechanism *mechanism `json:"loading_mechanism"`
			}
			w := s.get(tbData(b, "plugins_listing", nil))
			if err := json.Unmarshal(w.Body.Bytes(), &pl); err != nil {
				t.Fatal(err)
			}
			// As TensorBoard lists them, in its tab order.
			want := []struct {
				name    string
				enabled bool
				tab     string
				element string
			}{
				{"scalars", true, "scalars", "tf-scalar-dashboard"},
				{"images", true, "images", "tf-image-dashboard"},
				{"audio", true, "audio", "tf-audio-dashboard"},
				{"graphs", false, "graphs", "tf-graph-dashboard"},
				{"distributions", true, "distributions", "tf-distribution-dashboard"},
				{"histograms", true, "histograms", "tf-histogram-dashboard"},
				{"text", true, "text", "tf-text-dashboard"},
				{"pr_curves", true, "PR Curves", "tf-pr-curve-dashboard"},
				{"hparams", false, "hparams", "tf-hparams-dashboard"},
			}
			last := -1
			for _, p := range want {
				e, ok := pl[p.name]
				if !ok || e.Enabled == nil || *e.Enabled != p.enabled || e.TabName == nil || *e.TabName != p.tab ||
					e.DisableReload == nil || *e.DisableReload != (p.name == "graphs") || e.RemoveDOM == nil || *e.RemoveDOM ||
					e.LoadingMechanism == nil || *e.LoadingMechanism != (mechanism{"CUSTOM_ELEMENT", p.element}) {
					t.Errorf("plugin %s: %s", p.name, w.Body.Bytes())
				}
				i := strings.Index(w.Body.String(), `"`+p.name+`":`)
				if i < last {
					t.Errorf("plugin %s out of TensorBoard's tab order: %s", p.name, w.Body.Bytes())
				}
				last = i
			}
		}},
		{"scalar tags", func(t *testing.T) {
			var tags map[string]map[string]map[string]string
			s.getJSON(tbData(b, "plugin/scalars/tags", nil), http.StatusOK, &tags)
			if len(tags) != 2 || len(tags["train"]) != 3 || len(tags["eval"]) != 2 {
				t.Fatalf("tags = %v", tags)
			}
			// The description as TensorBoard renders it: Markdown, sanitised.
			if got := tags["train"]["described"]["description"]; got != tbDescriptionHTML {
				t.Errorf("description = %q, want %q", got, tbDescriptionHTML)
			}
			// The native answer gives the same HTML beside the source.
			var native struct {
				Runs map[string]map[string]struct {
					Description     string `json:"description"`
					DescriptionHTML string `json:"description_html"`
				}
			}
			s.getJSON("/api/boards/"+b.ID+"/tags", http.StatusOK, &native)
			if d := native.Runs["train"]["described"]; d.Description != tbDescription || d.DescriptionHTML != tbDescriptionHTML {
				t.Errorf("native tags: described = %+v", d)
			}
			e, ok := tags["train"]["spiky"]
			if _, hasDN := e["displayName"]; !ok || !hasDN {
				t.Errorf("train/spiky = %v, want displayName and description", e)
			}
			if _, ok := tags["train"]["weights"]; ok {
				t.Errorf("histogram tag listed as scalars")
			}
		}},
		{"scalars non-finite", func(t *testing.T) {
			var rows [][]any
			s.getJSON(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"train"}, "tag": {"spiky"}}), http.StatusOK, &rows)
			if len(rows) != 5 {
				t.Fatalf("got %d rows, want 5: %v", len(rows), rows)
			}
			want := []any{1.0, "NaN", "Infinity", "-Infinity", 2.0}
			for i, r := range rows {
				if len(r) != 3 || r[2] != want[i] || num(t, r[1]) != float64(i) || num(t, r[0]) != 2000+float64(i) {
					t.Errorf("row %d = %v, want [%v, %d, %v]", i, r, 2000+i, i, want[i])
				}
			}
		}},
		{"scalars reservoir", func(t *testing.T) {
			var rows [][]any
			s.getJSON(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"train"}, "tag": {"loss"}}), http.StatusOK, &rows)
			if len(rows) == 0 || len(rows) > 1000 {
				t.Fatalf("got %d rows, want 1..1000 (the reservoir)", len(rows))
			}
			last := rows[len(rows)-1]
			if num(t, last[1]) != 2999 || num(t, last[2]) != float64(float32(299.9)) {
				t.Errorf("last row = %v, want step 2999 value 299.9", last)
			}
			for i := 1; i < len(rows); i++ {
				if num(t, rows[i][1]) <= num(t, rows[i-1][1]) {
					t.Fatalf("rows out of step order at %d", i)
				}
			}
		}},
		{"scalars csv", func(t *testing.T) {
			w := s.get(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"train"}, "tag": {"spiky"}, "format": {"csv"}}))
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
			}
			lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
			if lines[0] != "Wall time,Step,Value" || len(lines) != 6 {
				t.Fatalf("csv = %q", w.Body.String())
			}
			if lines[2] != "2001,1,NaN" || lines[1] != "2000,0,1" {
				t.Errorf("csv rows = %q", lines[1:])
			}
		}},
		{"scalars unknown tag", func(t *testing.T) {
			s.getJSON(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"train"}, "tag": {"weights"}}), http.StatusNotFound, nil)
			s.getJSON(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"nope"}, "tag": {"loss"}}), http.StatusNotFound, nil)
			s.getJSON(tbData(b, "plugin/scalars/scalars", url.Values{"run": {"train"}}), http.StatusBadRequest, nil)
		}},
		{"scalars multirun", func(t *testing.T) {
			form := url.Values{"tag": {"loss"}, "runs": {"train", "eval", "nope"}}
			w := s.do(http.MethodPost, tbData(b, "plugin/scalars/scalars_multirun", nil), strings.NewReader(form.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
			}
			var out map[string][][]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 || len(out["eval"]) != 10 || len(out["train"]) == 0 {
				t.Fatalf("multirun: runs %d, eval %d, train %d", len(out), len(out["eval"]), len(out["train"]))
			}
			if r := out["eval"][9]; num(t, r[1]) != 9 || num(t, r[2]) != 9 {
				t.Errorf("eval last = %v", r)
			}
			// TensorBoard's frontend posts multipart FormData.
			var mp bytes.Buffer
			mw := multipart.NewWriter(&mp)
			for k, vs := range map[string][]string{"tag": {"loss"}, "runs": {"eval"}} {
				for _, v := range vs {
					if err := mw.WriteField(k, v); err != nil {
						t.Fatal(err)
					}
				}
			}
			mw.Close()
			w = s.do(http.MethodPost, tbData(b, "plugin/scalars/scalars_multirun", nil), &mp, http.Header{"Content-Type": {mw.FormDataContentType()}})
			out = nil
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out) != 1 || len(out["eval"]) != 10 {
				t.Errorf("multipart multirun = %s (%v)", w.Body.Bytes(), err)
			}
			// runs[] spelling, and a tag only one run has.
			form = url.Values{"tag": {"only_eval"}, "runs[]": {"train", "eval"}}
			w = s.do(http.MethodPost, tbData(b, "plugin/scalars/scalars_multirun", nil), strings.NewReader(form.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			out = nil
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out) != 1 || len(out["eval"]) != 1 {
				t.Errorf("only_eval multirun = %s (%v)", w.Body.Bytes(), err)
			}
		}},
		{"histograms", func(t *testing.T) {
			var tags map[string]map[string]any
			s.getJSON(tbData(b, "plugin/histograms/tags", nil), http.StatusOK, &tags)
			if len(tags) != 1 || len(tags["train"]) != 2 {
				t.Errorf("histogram tags = %v", tags)
			}
			var rows [][]any
			s.getJSON(tbData(b, "plugin/histograms/histograms", url.Values{"run": {"train"}, "tag": {"weights"}}), http.StatusOK, &rows)
			if len(rows) != 51 {
				t.Fatalf("got %d histograms, want 51 (downsampled from 200)", len(rows))
			}
			first, last := rows[0], rows[len(rows)-1]
			if num(t, first[1]) != 0 || num(t, last[1]) != 199 || num(t, last[0]) != 3199 {
				t.Errorf("first %v, last %v: want steps 0 and 199", first[:2], last[:2])
			}
			buckets := last[2].([]any)
			if len(buckets) != 1 || fmt.Sprint(buckets[0]) != "[0 10 200]" {
				t.Errorf("buckets = %v, want [[0 10 200]]", buckets)
			}
		}},
		{"distributions", func(t *testing.T) {
			var tags map[string]map[string]any
			s.getJSON(tbData(b, "plugin/distributions/tags", nil), http.StatusOK, &tags)
			if _, ok := tags["train"]["weights"]; !ok {
				t.Errorf("distribution tags = %v", tags)
			}
			var rows [][]any
			s.getJSON(tbData(b, "plugin/distributions/distributions", url.Values{"run": {"train"}, "tag": {"weights"}}), http.StatusOK, &rows)
			if len(rows) != 200 {
				t.Fatalf("got %d distributions, want all 200 (<= 501)", len(rows))
			}
			bps := []float64{0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000}
			for _, r := range rows {
				pts := r[2].([]any)
				if len(pts) != len(bps) {
					t.Fatalf("%d basis points: %v", len(pts), pts)
				}
				for i, p := range pts {
					pair := p.([]any)
					// One bucket [0, 10]: the value at basis point bp is bp/1000.
					if num(t, pair[0]) != bps[i] || math.Abs(num(t, pair[1])-bps[i]/1000) > 1e-9 {
						t.Fatalf("basis point %d = %v, want [%v, %v]", i, pair, bps[i], bps[i]/1000)
					}
				}
			}
			s.getJSON(tbData(b, "plugin/distributions/distributions", url.Values{"run": {"train"}, "tag": {"two"}}), http.StatusOK, &rows)
			// Buckets [0,1] count 1 and [1,3] count 3: cumulative weights 2500, 10000.
			want := []float64{0, 668.0 / 2500, 1587.0 / 2500, 1 + 585*2/7500.0, 1 + 2500*2/7500.0, 1 + 4415*2/7500.0, 1 + 5913*2/7500.0, 1 + 6832*2/7500.0, 3}
			pts := rows[0][2].([]any)
			for i, p := range pts {
				if v := num(t, p.([]any)[1]); math.Abs(v-want[i]) > 1e-9 {
					t.Errorf("two: basis point %v = %v, want %v", bps[i], v, want[i])
				}
			}
		}},
		{"images", func(t *testing.T) {
			var tags map[string]map[string]map[string]any
			s.getJSON(tbData(b, "plugin/images/tags", nil), http.StatusOK, &tags)
			if e := tags["train"]["samples"]; e == nil || e["samples"] != 2.0 {
				t.Fatalf("image tags = %v, want samples 2", tags)
			}
			for sample := range 2 {
				var ims []struct {
					WallTime float64 `json:"wall_time"`
					Step     int64   `json:"step"`
					Query    string  `json:"query"`
				}
				s.getJSON(tbData(b, "plugin/images/images", url.Values{"run": {"train"}, "tag": {"samples"}, "sample": {fmt.Sprint(sample)}}), http.StatusOK, &ims)
				if len(ims) != 3 {
					t.Fatalf("sample %d: %d images, want 3", sample, len(ims))
				}
				for i, im := range ims {
					if im.Step != int64(i) || im.WallTime != 4000+float64(i) {
						t.Errorf("image %d: step %d wall %v", i, im.Step, im.WallTime)
					}
					w := s.get(tbData(b, "plugin/images/individualImage", nil) + "?" + im.Query)
					if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), g.images[i][sample]) {
						t.Errorf("individualImage?%s: status %d, %d bytes; want the uploaded image", im.Query, w.Code, w.Body.Len())
					}
					if ct := w.Header().Get("Content-Type"); ct != "image/png" {
						t.Errorf("content type %q", ct)
					}
				}
			}
			var ims []any
			s.getJSON(tbData(b, "plugin/images/images", url.Values{"run": {"train"}, "tag": {"samples"}, "sample": {"2"}}), http.StatusOK, &ims)
			if len(ims) != 0 {
				t.Errorf("sample 2 of 2: %v", ims)
			}
			s.getJSON(tbData(b, "plugin/images/individualImage", url.Values{"blob": {strings.Repeat("0", 64)}, "run": {"train"}}), http.StatusNotFound, nil)
			s.getJSON(tbData(b, "plugin/images/individualImage", url.Values{"blob": {"x"}}), http.StatusBadRequest, nil)
		}},
		{"audio", func(t *testing.T) {
			var tags map[string]map[string]map[string]any
			s.getJSON(tbData(b, "plugin/audio/tags", nil), http.StatusOK, &tags)
			if e := tags["train"]["voice"]; e == nil || e["samples"] != 1.0 {
				t.Fatalf("audio tags = %v", tags)
			}
			var clips []map[string]any
			s.getJSON(tbData(b, "plugin/audio/audio", url.Values{"run": {"train"}, "tag": {"voice"}}), http.StatusOK, &clips)
			if len(clips) != 1 || clips[0]["contentType"] != "audio/wav" || clips[0]["label"] != "hello &lt;b&gt;" || clips[0]["step"] != 1.0 {
				t.Fatalf("clips = %v", clips)
			}
			w := s.get(tbData(b, "plugin/audio/individualAudio", nil) + "?" + clips[0]["query"].(string))
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), g.wav) || w.Header().Get("Content-Type") != "audio/wav" {
				t.Errorf("individualAudio: status %d, type %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
			}
		}},
		{"text", func(t *testing.T) {
			var tags map[string][]string
			s.getJSON(tbData(b, "plugin/text/tags", nil), http.StatusOK, &tags)
			if fmt.Sprint(tags) != "map[train:[notes table]]" {
				t.Errorf("text tags = %v", tags)
			}
			var texts []struct {
				Step        int64      `json:"step"`
				Text        string     `json:"text"`
				StringArray [][]string `json:"string_array"`
			}
			// Markdown, as TensorBoard renders it; the strings as they are.
			s.getJSON(tbData(b, "plugin/text/text", url.Values{"run": {"train"}, "tag": {"notes"}}), http.StatusOK, &texts)
			if len(texts) != 1 || texts[0].Text != "<p>hello <em>world</em></p>\n" || fmt.Sprint(texts[0].StringArray) != "[[hello *world*]]" {
				t.Errorf("notes = %+v", texts)
			}
			s.getJSON(tbData(b, "plugin/text/text", url.Values{"run": {"train"}, "tag": {"notes"}, "markdown": {"false"}}), http.StatusOK, &texts)
			if len(texts) != 1 || texts[0].Text != "hello *world*" {
				t.Errorf("notes with markdown=false = %+v", texts)
			}
			// Rank 2: a table, a cell per string.
			s.getJSON(tbData(b, "plugin/text/text", url.Values{"run": {"train"}, "tag": {"table"}}), http.StatusOK, &texts)
			want := "<table>\n<tbody>\n<tr>\n<td><p>a</p>\n</td>\n<td><p>b</p>\n</td>\n</tr>\n<tr>\n<td><p>c</p>\n</td>\n<td><p>d</p>\n</td>\n</tr>\n</tbody>\n</table>"
			if len(texts) != 1 || fmt.Sprint(texts[0].StringArray) != "[[a b] [c d]]" || texts[0].Text != want {
				t.Errorf("table = %+v", texts)
			}
			// The native answer gives the same HTML beside the strings.
			var native struct {
				Items []struct {
					Strings []string
					HTML    string
				}
			}
			s.getJSON("/api/boards/"+b.ID+"/text?"+url.Values{"run": {"train"}, "tag": {"table"}}.Encode(), http.StatusOK, &native)
			if len(native.Items) != 1 || native.Items[0].HTML != want || fmt.Sprint(native.Items[0].Strings) != "[a b c d]" {
				t.Errorf("native text = %+v", native)
			}
		}},
		{"pr_curves", func(t *testing.T) {
			var tags map[string]map[string]any
			s.getJSON(tbData(b, "plugin/pr_curves/tags", nil), http.StatusOK, &tags)
			if _, ok := tags["train"]["pr"]; !ok || len(tags) != 1 {
				t.Errorf("pr tags = %v", tags)
			}
			var out map[string][]map[string]any
			s.getJSON(tbData(b, "plugin/pr_curves/pr_curves", url.Values{"run": {"train"}, "tag": {"pr"}}), http.StatusOK, &out)
			c := out["train"]
			if len(c) != 1 || c[0]["step"] != 3.0 {
				t.Fatalf("pr_curves = %v", out)
			}
			// The last threshold, where TP+FP is 0, is dropped.
			for k, want := range map[string]string{
				"true_positives": "[10 5]", "false_positives": "[10 2]", "true_negatives": "[0 8]",
				"false_negatives": "[0 5]", "precision": "[0.5 0.699999988079071]", "recall": "[1 0.5]", "thresholds": "[0 0.5]",
			} {
				if got := fmt.Sprint(c[0][k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		}},
		{"wrong plugin", func(t *testing.T) {
			s.getJSON(tbData(b, "plugin/histograms/histograms", url.Values{"run": {"train"}, "tag": {"loss"}}), http.StatusNotFound, nil)
			s.getJSON(tbData(b, "plugin/images/images", url.Values{"run": {"train"}, "tag": {"voice"}}), http.StatusNotFound, nil)
		}},
		{"etag", func(t *testing.T) {
			p := tbData(b, "plugin/scalars/tags", nil)
			w := s.get(p)
			etag := w.Header().Get("ETag")
			if etag == "" || w.Header().Get("Cache-Control") == "" {
				t.Fatalf("no ETag / Cache-Control: %v", w.Header())
			}
			w = s.do(http.MethodGet, p, nil, http.Header{"If-None-Match": {etag}})
			if w.Code != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", w.Code)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}

func TestTensorBoardAuthAndErrors(t *testing.T) {
	s, b, g := tbSetup(t, true)
	if b.ViewKey == "" {
		t.Fatal("a private board has no view key")
	}
	unknown := tbBoard{ID: "AAAAAAAAAAAAAAAAAAAAAA"}
	tests := []struct {
		name   string
		path   string
		header http.Header
		want   int
	}{
		{"no key", tbData(b, "runs", nil), nil, http.StatusUnauthorized},
		{"wrong key", tbData(b, "runs", url.Values{"key": {"nope"}}), nil, http.StatusForbidden},
		{"view key", tbData(b, "runs", url.Values{"key": {b.ViewKey}}), nil, http.StatusOK},
		{"key header", tbData(b, "plugin/scalars/tags", nil), http.Header{"X-Tbhost-Key": {b.ViewKey}}, http.StatusOK},
		{"write token", tbData(b, "plugins_listing", nil), http.Header{"Authorization": {"Bearer " + b.Token}}, http.StatusOK},
		{"image without key", tbData(b, "plugin/images/individualImage", url.Values{"blob": {strings.Repeat("a", 64)}}), nil, http.StatusUnauthorized},
		{"unknown board", tbData(unknown, "runs", nil), nil, http.StatusNotFound},
		{"unknown board tags", tbData(unknown, "plugin/scalars/tags", nil), nil, http.StatusNotFound},
		{"malformed board id", "/experiment/nope/data/runs", nil, http.StatusNotFound},
		{"unknown route", tbData(b, "plugin/nope/tags", nil), nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := s.do(http.MethodGet, tc.path, nil, tc.header)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body.Bytes())
			}
			if w.Code >= 400 {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", w.Body.Bytes())
				}
			}
		})
	}

	t.Run("image query carries the key", func(t *testing.T) {
		var ims []struct{ Query string }
		s.getJSON(tbData(b, "plugin/images/images", url.Values{"run": {"train"}, "tag": {"samples"}, "key": {b.ViewKey}}), http.StatusOK, &ims)
		if len(ims) != 3 {
			t.Fatalf("%d images", len(ims))
		}
		w := s.get(tbData(b, "plugin/images/individualImage", nil) + "?" + ims[2].Query)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), g.images[2][0]) {
			t.Errorf("individualImage: status %d: %s", w.Code, w.Body.Bytes())
		}
		if cc := w.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
			t.Errorf("Cache-Control %q for a private board", cc)
		}
	})
	t.Run("multirun needs the key", func(t *testing.T) {
		form := url.Values{"tag": {"loss"}, "runs": {"train"}}
		w := s.do(http.MethodPost, tbData(b, "plugin/scalars/scalars_multirun", nil), strings.NewReader(form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", w.Code)
		}
	})
}

// eventBlobs decodes an event file with tfevents and returns, per event
// of tag, its images (or audio clips).
func eventBlobs(t *testing.T, file string, tag string) [][][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := tfevents.NewScanner(f, tfevents.Options{})
	defer sc.Close()
	var out [][][]byte
	for sc.Scan() {
		v := sc.Value()
		if v.Tag != tag {
			continue
		}
		var blobs [][]byte
		switch v.Kind {
		case tfevents.KindImage:
			for _, im := range v.Strings[2:] {
				blobs = append(blobs, bytes.Clone(im))
			}
		case tfevents.KindAudio:
			for i := 0; i < len(v.Strings); i += 2 {
				blobs = append(blobs, bytes.Clone(v.Strings[i]))
			}
		}
		out = append(out, blobs)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no image or audio %q", file, tag)
	}
	return out
}

// tbFixture is one event file of a corpus, uploaded alone as run "r",
// with what the corpus says of its tags.
type tbFixture struct {
	c    *tfeventstest.Corpus
	file tfeventstest.File
	s    *tbServer
	b    tbBoard
}

const tbRun = "r"

// tag returns the corpus facts of tag in the file.
func (fx tbFixture) tag(t *testing.T, tag string) tfeventstest.Tag {
	t.Helper()
	for _, tg := range fx.file.Tags {
		if tg.Tag == tag {
			return tg
		}
	}
	t.Fatalf("%s has no tag %q", fx.file.Path, tag)
	return tfeventstest.Tag{}
}

// TestTensorBoardFixtures drives the TensorBoard routes on event files of
// the corpora, each uploaded alone, and checks the answers against what
// the corpus says of the file (its inspect facts) and what the file holds.
func TestTensorBoardFixtures(t *testing.T) {
	tests := []struct {
		name      string
		gen, real string // the file in the generated and in the real corpus
		tag       map[bool]string
		check     func(t *testing.T, fx tbFixture, tag string)
	}{
		{"scalars", "tf2/validation/events.out.tfevents.1600000000.tf2host.123.1.v2",
			"orktes__go-tensorboard/testdata/tfevents/events.out.tfevents.1585499054.Jaakkos-Mac-mini.local.11684.5.v2",
			map[bool]string{true: "epoch_loss", false: "my_metric"},
			func(t *testing.T, fx tbFixture, tag string) {
				want := fx.tag(t, tag)
				var rows [][]any
				fx.s.getJSON(tbData(fx.b, "plugin/scalars/scalars", url.Values{"run": {tbRun}, "tag": {tag}}), http.StatusOK, &rows)
				if len(rows) != want.Count || num(t, rows[0][1]) != float64(want.MinStep) || num(t, rows[len(rows)-1][1]) != float64(want.MaxStep) ||
					!tfeventstest.AlmostEqual(num(t, rows[len(rows)-1][2]), *want.Last) {
					t.Errorf("%s: %d rows, first %v, last %v; want %d rows, steps %d..%d, last %v", tag, len(rows), rows[0], rows[len(rows)-1],
						want.Count, want.MinStep, want.MaxStep, *want.Last)
				}
				w := fx.s.get(tbData(fx.b, "plugin/scalars/scalars", url.Values{"run": {tbRun}, "tag": {tag}, "format": {"csv"}}))
				lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
				if len(lines) != want.Count+1 || lines[0] != "Wall time,Step,Value" || !strings.Contains(lines[len(lines)-1], fmt.Sprintf(",%d,", want.MaxStep)) {
					t.Errorf("csv: %d lines, last %q", len(lines), lines[len(lines)-1])
				}
			}},
		{"images", "tf2/train/events.out.tfevents.1600000000.tf2host.123.0.v2",
			"dinskutty__Fashion_MNIST_with_Tensorboard/runs/fashion_mnist_experiment_1/events.out.tfevents.1618232617.DESKTOP-7JNT2NL.1320.0",
			map[bool]string{true: "samples", false: "four_fashion_mnist_images"},
			func(t *testing.T, fx tbFixture, tag string) {
				events := eventBlobs(t, fx.c.Path(fx.file), tag)
				most := 0
				for _, e := range events {
					most = max(most, len(e))
				}
				var tags map[string]map[string]map[string]any
				fx.s.getJSON(tbData(fx.b, "plugin/images/tags", nil), http.StatusOK, &tags)
				if tags[tbRun][tag]["samples"] != float64(most) {
					t.Errorf("tags = %v, want samples %d", tags, most)
				}
				for sample := range most {
					var ims []struct {
						Query         string
						Width, Height int
					}
					fx.s.getJSON(tbData(fx.b, "plugin/images/images", url.Values{"run": {tbRun}, "tag": {tag}, "sample": {fmt.Sprint(sample)}}), http.StatusOK, &ims)
					if len(ims) != len(events) || ims[0].Width == 0 || ims[0].Height == 0 {
						t.Fatalf("sample %d: images = %+v, want %d", sample, ims, len(events))
					}
					w := fx.s.get(tbData(fx.b, "plugin/images/individualImage", nil) + "?" + ims[0].Query)
					if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), events[0][sample]) {
						t.Errorf("sample %d: individualImage: status %d, %d bytes, want the %d uploaded", sample, w.Code, w.Body.Len(), len(events[0][sample]))
					}
					if ct, want := w.Header().Get("Content-Type"), http.DetectContentType(events[0][sample]); ct != want {
						t.Errorf("served as %q, want %q", ct, want)
					}
				}
			}},
		{"audio", "tf2/train/events.out.tfevents.1600000000.tf2host.123.0.v2",
			"joshbrew__hifart-gan/cp_hifigan/logs/events.out.tfevents.1738813821.joshtop.22600.0",
			map[bool]string{true: "waveform", false: "gt/y_0"},
			func(t *testing.T, fx tbFixture, tag string) {
				events := eventBlobs(t, fx.c.Path(fx.file), tag)
				var clips []map[string]any
				fx.s.getJSON(tbData(fx.b, "plugin/audio/audio", url.Values{"run": {tbRun}, "tag": {tag}}), http.StatusOK, &clips)
				if len(clips) != len(events) {
					t.Fatalf("%d clips, want %d", len(clips), len(events))
				}
				w := fx.s.get(tbData(fx.b, "plugin/audio/individualAudio", nil) + "?" + clips[0]["query"].(string))
				if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), events[0][0]) || w.Header().Get("Content-Type") != clips[0]["contentType"] {
					t.Errorf("individualAudio: status %d, type %q (listed %v), %d bytes", w.Code, w.Header().Get("Content-Type"), clips[0]["contentType"], w.Body.Len())
				}
			}},
		{"histograms", "tf2/train/events.out.tfevents.1600000000.tf2host.123.0.v2",
			"Alwaysproblem__tensorboard-review/logs/custom/20200328-161157/events.out.tfevents.1585383118.YONGXIdeMacBook-Pro.local.64908.345.v2",
			map[bool]string{true: "dense/bias_0", false: "linear/bias:0"},
			func(t *testing.T, fx tbFixture, tag string) {
				want := fx.tag(t, tag)
				q := url.Values{"run": {tbRun}, "tag": {tag}}
				var hs, ds [][]any
				fx.s.getJSON(tbData(fx.b, "plugin/histograms/histograms", q), http.StatusOK, &hs)
				fx.s.getJSON(tbData(fx.b, "plugin/distributions/distributions", q), http.StatusOK, &ds)
				if len(hs) != min(want.Count, 51) || len(ds) != min(want.Count, 500) {
					t.Fatalf("%d histograms, %d distributions; the file has %d", len(hs), len(ds), want.Count)
				}
				for i, d := range ds {
					pts := d[2].([]any)
					rows := hs[i][2].([]any)
					lo, hi := num(t, rows[0].([]any)[0]), num(t, rows[len(rows)-1].([]any)[1])
					prev := math.Inf(-1)
					for _, p := range pts {
						v := num(t, p.([]any)[1])
						if v < prev-1e-12 || v < lo-1e-12 || v > hi+1e-12 {
							t.Fatalf("step %v: distribution %v not increasing within [%v, %v]", d[1], pts, lo, hi)
						}
						prev = v
					}
					if len(pts) != 9 || num(t, pts[0].([]any)[1]) != lo || num(t, pts[8].([]any)[1]) != hi {
						t.Errorf("step %v: ends %v, want %v and %v", d[1], pts, lo, hi)
					}
				}
			}},
		{"pr_curves", "tf2/train/events.out.tfevents.1600000000.tf2host.123.0.v2",
			"ZeroToMax-ZYZ__study_tensorboard/runs/pr_curve_experiment/events.out.tfevents.1771596445.zyzkings.30376.0",
			map[bool]string{true: "pr/class_0", false: "Evaluations/PR_Curve"},
			func(t *testing.T, fx tbFixture, tag string) {
				want := fx.tag(t, tag)
				var out map[string][]map[string][]float64
				raw := fx.s.get(tbData(fx.b, "plugin/pr_curves/pr_curves", url.Values{"run": {tbRun}, "tag": {tag}}))
				// NaN precision comes as "NaN": read it as a number.
				body := strings.ReplaceAll(raw.Body.String(), `"NaN"`, "-1")
				var entries map[string][]json.RawMessage
				if err := json.Unmarshal([]byte(body), &entries); err != nil {
					t.Fatalf("decode %s: %v", body, err)
				}
				out = map[string][]map[string][]float64{}
				for _, e := range entries[tbRun] {
					var m map[string]any
					if err := json.Unmarshal(e, &m); err != nil {
						t.Fatal(err)
					}
					c := map[string][]float64{}
					for k, v := range m {
						if vs, ok := v.([]any); ok {
							for _, x := range vs {
								c[k] = append(c[k], x.(float64))
							}
						}
					}
					out[tbRun] = append(out[tbRun], c)
				}
				if len(out[tbRun]) != want.Count {
					t.Fatalf("%d curves, want %d", len(out[tbRun]), want.Count)
				}
				for i, c := range out[tbRun] {
					n := len(c["thresholds"])
					for _, k := range []string{"precision", "recall", "true_positives", "false_positives", "true_negatives", "false_negatives"} {
						if len(c[k]) != n {
							t.Errorf("curve %d: %d %s, %d thresholds", i, len(c[k]), k, n)
						}
					}
					if n == 0 || c["thresholds"][0] != 0 {
						t.Fatalf("curve %d: thresholds %v", i, c["thresholds"])
					}
					// Trimmed as TensorBoard trims: the last threshold kept
					// has a predicted positive, unless it is the only one.
					if last := n - 1; last > 0 && c["true_positives"][last]+c["false_positives"][last] == 0 {
						t.Errorf("curve %d: untrimmed tail: TP %v FP %v", i, c["true_positives"], c["false_positives"])
					}
					for _, k := range []string{"true_positives", "false_positives", "true_negatives", "false_negatives"} {
						for _, v := range c[k] {
							if v != math.Trunc(v) {
								t.Errorf("curve %d: %s %v not whole", i, k, c[k])
								break
							}
						}
					}
				}
			}},
		{"text", "tf2/train/events.out.tfevents.1600000000.tf2host.123.0.v2",
			"ryanwakabayashi__python-notebook-summarization/results/runs/Apr29_09-30-18_Scythe_desktop/events.out.tfevents.1714401019.Scythe_desktop.29168.0",
			map[bool]string{true: "text/rank1", false: "args/text_summary"},
			func(t *testing.T, fx tbFixture, tag string) {
				want := fx.tag(t, tag)
				var tags map[string][]string
				fx.s.getJSON(tbData(fx.b, "plugin/text/tags", nil), http.StatusOK, &tags)
				if !slices.Contains(tags[tbRun], tag) {
					t.Fatalf("text tags = %v, want %q", tags, tag)
				}
				var texts []struct {
					Text        string
					StringArray [][]string `json:"string_array"`
				}
				fx.s.getJSON(tbData(fx.b, "plugin/text/text", url.Values{"run": {tbRun}, "tag": {tag}}), http.StatusOK, &texts)
				if len(texts) != min(want.Count, 10) {
					t.Fatalf("%d texts, want %d", len(texts), want.Count)
				}
				// Rank-1 text: a one-column table, a cell per string.
				if x := texts[0]; !strings.HasPrefix(x.Text, "<table>") || strings.Count(x.Text, "<td>") != len(x.StringArray) || x.StringArray[0][0] == "" {
					t.Errorf("text = %+v", x)
				}
			}},
		{"graphs listed", "tf1/train/events.out.tfevents.1500000000.tf1host",
			"ZeroToMax-ZYZ__study_tensorboard/runs/graph_experiment/events.out.tfevents.1771596179.zyzkings.9384.0",
			nil,
			func(t *testing.T, fx tbFixture, _ string) {
				var pl map[string]map[string]any
				fx.s.getJSON(tbData(fx.b, "plugins_listing", nil), http.StatusOK, &pl)
				if pl["graphs"]["enabled"] != true || pl["pr_curves"]["enabled"] != false {
					t.Errorf("plugins_listing = %v", pl)
				}
			}},
		{"hparams listed", "pytorch/runs/Jan01_00-00-00_host/1700000100.5/events.out.tfevents.1700000100.host.42.1",
			"ZeroToMax-ZYZ__study_tensorboard/runs/hparams_search_exp_1/1771595857.3236299/events.out.tfevents.1771595857.zyzkings.1216.1",
			nil,
			func(t *testing.T, fx tbFixture, _ string) {
				var pl map[string]map[string]any
				fx.s.getJSON(tbData(fx.b, "plugins_listing", nil), http.StatusOK, &pl)
				if pl["hparams"]["enabled"] != true || pl["scalars"]["enabled"] != true || pl["histograms"]["enabled"] != false {
					t.Errorf("plugins_listing = %v", pl)
				}
			}},
	}
	for _, cp := range tbCorpora(t) {
		t.Run(cp.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					rel := tc.real
					if cp.c.Generated {
						rel = tc.gen
					}
					f, ok := cp.c.File(rel)
					if !ok {
						t.Fatalf("the %s corpus has no %s", cp.name, rel)
					}
					s := newTBServer(t)
					b := s.newBoard(tc.name, false)
					s.putFile(b, cp.c, tbRun, rel)
					tc.check(t, tbFixture{c: cp.c, file: f, s: s, b: b}, tc.tag[cp.c.Generated])
				})
			}
		})
	}
}
