package hosting

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
	"tbhost/hosting/markdown"
	"tbhost/hosting/web"
	"tbhost/sampler"
)

// maxWidth bounds a scalar query's pixel width.
const maxWidth = 8192

// RunInfo is one run in GET /runs.
type RunInfo struct {
	Name          string    `json:"name"`
	FirstWallTime web.Float `json:"first_wall_time"`
	LastWallTime  web.Float `json:"last_wall_time"`
	Tags          int       `json:"tags"`
	// The owner's annotation of the run (annotations.go): its note as
	// Markdown and rendered, and whether it is a baseline.
	Note     string `json:"note,omitempty"`
	NoteHTML string `json:"note_html,omitempty"`
	Baseline bool   `json:"baseline,omitempty"`
}

func (s *Server) getRuns(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	runs, err := s.eng.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	notes, err := s.eng.Annotations(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	etag := notesETag(web.ETag(c, b, runs...), notes)
	if web.NotModifiedETag(c, b, etag) {
		return nil
	}
	return s.h.Answers.JSON(c, etag, func() ([]byte, error) { return runsJSON(runs, notes) })
}

func runsJSON(runs []*engine.Run, notes *engine.Annotations) ([]byte, error) {
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		tags := r.Samples().Tags()
		a := notes.Of(r.Name())
		ri := RunInfo{Name: r.Name(), Tags: len(tags), FirstWallTime: web.Float(math.Inf(1)), LastWallTime: 0,
			Note: a.Note, NoteHTML: noteHTML(a.Note), Baseline: a.Baseline}
		for _, t := range tags {
			ri.FirstWallTime = min(ri.FirstWallTime, web.Float(t.FirstWall))
			ri.LastWallTime = max(ri.LastWallTime, web.Float(t.LastWall))
		}
		if len(tags) == 0 {
			ri.FirstWallTime = 0
		}
		out = append(out, ri)
	}
	return json.Marshal(gin.H{"runs": out})
}

// TagSummary is one (run, tag) in GET /tags.
type TagSummary struct {
	Plugin      string     `json:"plugin"`
	Count       int64      `json:"count"`
	Kept        int        `json:"kept"`
	MinStep     int64      `json:"min_step"`
	MaxStep     int64      `json:"max_step"`
	DisplayName string     `json:"display_name,omitempty"`
	Description string     `json:"description,omitempty"`
	Min         *web.Float `json:"min,omitempty"`
	Max         *web.Float `json:"max,omitempty"`
	Last        *web.Float `json:"last,omitempty"`
	NonFinite   int64      `json:"nonfinite,omitempty"`

	// DescriptionHTML is Description rendered as TensorBoard renders it:
	// Markdown, as sanitised HTML.
	DescriptionHTML string `json:"description_html,omitempty"`
}

func tagSummary(r *engine.Run, t sampler.TagInfo) TagSummary {
	ts := TagSummary{Plugin: t.Plugin, Count: t.Count, Kept: t.Kept, MinStep: t.MinStep, MaxStep: t.MaxStep}
	if m := r.Digest().Tags[t.Tag]; m != nil {
		ts.DisplayName, ts.Description = m.DisplayName, m.Description
		if m.Description != "" {
			ts.DescriptionHTML = markdown.ToHTML(m.Description)
		}
	}
	if st := t.Stats; st != nil {
		ts.NonFinite = st.NonFinite
		if st.Count > st.NonFinite {
			mn, mx, last := web.Float(st.Min), web.Float(st.Max), web.Float(st.Last)
			ts.Min, ts.Max, ts.Last = &mn, &mx, &last
		}
	}
	return ts
}

func (s *Server) getTags(c *gin.Context) error {
	b, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	return s.h.Answers.JSON(c, web.ETag(c, b, runs...), func() ([]byte, error) {
		out := make(map[string]map[string]TagSummary, len(runs))
		for _, r := range runs {
			m := map[string]TagSummary{}
			for _, t := range r.Samples().Tags() {
				m[t.Tag] = tagSummary(r, t)
			}
			out[r.Name()] = m
		}
		return json.Marshal(gin.H{"runs": out})
	})
}

// ScalarStats is the exact statistics of a scalar series.
type ScalarStats struct {
	Count     int64     `json:"count"`
	NonFinite int64     `json:"nonfinite"`
	Min       web.Float `json:"min"`
	Max       web.Float `json:"max"`
	First     web.Float `json:"first"`
	Last      web.Float `json:"last"`
}

// ScalarSeries is the answer of GET /scalars.
type ScalarSeries struct {
	Run       string       `json:"run,omitempty"`
	Tag       string       `json:"tag,omitempty"`
	Points    []web.Triple `json:"points"`    // [wall_time, step, value]
	Envelope  []web.Triple `json:"envelope"`  // [step, min, max]
	NonFinite []web.Triple `json:"nonfinite"` // [wall_time, step, value]
	Stats     ScalarStats  `json:"stats"`
}

// scalarWindow reads the width, start and end of a scalar query.
func scalarWindow(c *gin.Context) (width, start, end int64, err error) {
	if width, err = web.QueryInt(c, "width", 1000); err != nil {
		return
	}
	if width < 1 || width > maxWidth {
		return 0, 0, 0, kind.Errorf(kind.Invalid, "width=%d: give a chart width in pixels from 1 to %d", width, maxWidth)
	}
	if start, err = web.QueryInt(c, "start", 0); err != nil {
		return
	}
	end, err = web.QueryInt(c, "end", 0)
	return
}

// scalarSeries answers a scalar query on one run.
func scalarSeries(r *engine.Run, tag string, start, end, width int64) (ScalarSeries, bool) {
	q, ok := r.Samples().Query(tag, start, end, int(width))
	if !ok {
		return ScalarSeries{}, false
	}
	out := ScalarSeries{Run: r.Name(), Tag: tag, Points: make([]web.Triple, 0, len(q.Points)), Envelope: make([]web.Triple, 0, len(q.Envelope)), NonFinite: make([]web.Triple, 0, len(q.NonFinite))}
	for _, p := range q.Points {
		out.Points = append(out.Points, web.Triple{p.Wall, float64(p.Step), p.Value})
	}
	for _, e := range q.Envelope {
		out.Envelope = append(out.Envelope, web.Triple{float64(e.Step), e.Min, e.Max})
	}
	for _, p := range q.NonFinite {
		out.NonFinite = append(out.NonFinite, web.Triple{p.Wall, float64(p.Step), p.Value})
	}
	st := q.Stats
	out.Stats = ScalarStats{Count: st.Count, NonFinite: st.NonFinite, Min: web.Float(st.Min), Max: web.Float(st.Max), First: web.Float(st.First), Last: web.Float(st.Last)}
	return out, true
}

func (s *Server) getScalars(c *gin.Context) error {
	b, r, tag, err := s.h.SeriesRequest(c)
	if err != nil {
		return err
	}
	width, start, end, err := scalarWindow(c)
	if err != nil {
		return err
	}
	if web.NotModified(c, b, r) {
		return nil
	}
	return s.h.Answers.JSON(c, web.ETag(c, b, r), func() ([]byte, error) {
		out, found := scalarSeries(r, tag, start, end, width)
		if !found {
			return nil, kind.Errorf(kind.NotFound, "run %q has no scalar series %q", r.Name(), tag)
		}
		return out.AppendJSON(make([]byte, 0, 64*len(out.Points)+256)), nil
	})
}

// AppendJSON appends the series as JSON. Scalar answers are the hot path
// of the board page: written by hand, they cost a fraction of
// encoding/json's reflection and re-validation.
func (sr *ScalarSeries) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if sr.Run != "" || sr.Tag != "" {
		b = append(b, `"run":`...)
		b = web.AppendJSONString(b, sr.Run)
		b = append(b, `,"tag":`...)
		b = web.AppendJSONString(b, sr.Tag)
		b = append(b, ',')
	}
	for i, part := range []struct {
		name string
		rows []web.Triple
	}{{"points", sr.Points}, {"envelope", sr.Envelope}, {"nonfinite", sr.NonFinite}} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, part.name...)
		b = append(b, `":[`...)
		for j, t := range part.rows {
			if j > 0 {
				b = append(b, ',')
			}
			b = t.AppendJSON(b)
		}
		b = append(b, ']')
	}
	st := sr.Stats
	b = append(b, `,"stats":{"count":`...)
	b = strconv.AppendInt(b, st.Count, 10)
	b = append(b, `,"nonfinite":`...)
	b = strconv.AppendInt(b, st.NonFinite, 10)
	for _, f := range []struct {
		name string
		v    web.Float
	}{{"min", st.Min}, {"max", st.Max}, {"first", st.First}, {"last", st.Last}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = web.AppendFloat(b, float64(f.v))
	}
	return append(b, "}}"...)
}

// getScalarsMulti answers one chart: a tag's series in many runs (every
// run that has it, or the runs named by repeated ?run=), in one request.
func (s *Server) getScalarsMulti(c *gin.Context) error {
	board, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	tag := c.Query("tag")
	if tag == "" {
		return kind.Errorf(kind.Invalid, "give the tag as ?tag=TAG")
	}
	width, start, end, err := scalarWindow(c)
	if err != nil {
		return err
	}
	runs, err := s.h.Engine.Runs(c.Request.Context(), board.ID)
	if err != nil {
		return err
	}
	if names := c.QueryArray("run"); len(names) > 0 {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			if n, err := engine.CleanRun(n); err == nil {
				want[n] = true
			}
		}
		kept := runs[:0:0]
		for _, r := range runs {
			if want[r.Name()] {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	if web.NotModified(c, board, runs...) {
		return nil
	}
	return s.h.Answers.JSON(c, web.ETag(c, board, runs...), func() ([]byte, error) {
		return scalarsMultiJSON(runs, tag, start, end, width), nil
	})
}

// scalarsMultiJSON encodes one tag's series in many runs.
func scalarsMultiJSON(runs []*engine.Run, tag string, start, end, width int64) []byte {
	b := append(make([]byte, 0, 64<<10), `{"tag":`...)
	b = web.AppendJSONString(b, tag)
	b = append(b, `,"runs":{`...)
	n := 0
	for _, r := range runs {
		sr, ok := scalarSeries(r, tag, start, end, width)
		if !ok {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = web.AppendJSONString(b, r.Name())
		b = append(b, ':')
		sr.Run, sr.Tag = "", ""
		b = sr.AppendJSON(b)
	}
	return append(b, "}}"...)
}

// itemsAnswer answers {"items": [...]}: each reservoir item of the
// requested series of plugin, converted by conv.
func itemsAnswer[T any](s *Server, c *gin.Context, plugin string, conv func(engine.Item) T) error {
	_, _, its, done, err := s.h.PluginItems(c, plugin)
	if err != nil || done {
		return err
	}
	out := make([]T, 0, len(its))
	for _, x := range its {
		out = append(out, conv(x))
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
	return nil
}

type histogramItem struct {
	WallTime web.Float    `json:"wall_time"`
	Step     int64        `json:"step"`
	Buckets  []web.Triple `json:"buckets"`
}

func (s *Server) getHistograms(c *gin.Context) error {
	return itemsAnswer(s, c, "histograms", func(x engine.Item) histogramItem {
		return histogramItem{web.Float(x.Wall), x.Step, web.Triples(x.Histogram())}
	})
}

type imageItem struct {
	WallTime web.Float `json:"wall_time"`
	Step     int64     `json:"step"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Blobs    []string  `json:"blobs"`
}

func (s *Server) getImages(c *gin.Context) error {
	return itemsAnswer(s, c, "images", func(x engine.Item) imageItem {
		im := imageItem{WallTime: web.Float(x.Wall), Step: x.Step, Blobs: []string{}}
		if ss := x.Strings; len(ss) >= 2 {
			im.Width, _ = strconv.Atoi(string(ss[0]))
			im.Height, _ = strconv.Atoi(string(ss[1]))
			for _, img := range ss[2:] {
				im.Blobs = append(im.Blobs, engine.BlobSHA(img))
			}
		}
		return im
	})
}

type audioClip struct {
	Blob        string `json:"blob"`
	Label       string `json:"label"`
	ContentType string `json:"content_type"`
}

type audioItem struct {
	WallTime web.Float   `json:"wall_time"`
	Step     int64       `json:"step"`
	Clips    []audioClip `json:"clips"`
}

func (s *Server) getAudio(c *gin.Context) error {
	return itemsAnswer(s, c, "audio", func(x engine.Item) audioItem {
		a := audioItem{WallTime: web.Float(x.Wall), Step: x.Step, Clips: []audioClip{}}
		ct := x.AudioType()
		for i := 0; i < len(x.Strings); i += 2 {
			cl := audioClip{Blob: engine.BlobSHA(x.Strings[i]), ContentType: ct}
			if i+1 < len(x.Strings) {
				cl.Label = string(x.Strings[i+1])
			}
			a.Clips = append(a.Clips, cl)
		}
		return a
	})
}

type textItem struct {
	WallTime web.Float `json:"wall_time"`
	Step     int64     `json:"step"`
	Shape    []int64   `json:"shape"`
	Strings  []string  `json:"strings"`
	// HTML is the strings rendered as TensorBoard's text plugin renders
	// them: Markdown (tables for rank 1 and 2), as sanitised HTML.
	HTML string `json:"html"`
}

func (s *Server) getText(c *gin.Context) error {
	return itemsAnswer(s, c, "text", func(x engine.Item) textItem {
		t := textItem{WallTime: web.Float(x.Wall), Step: x.Step, Shape: x.Shape, Strings: make([]string, 0, len(x.Strings))}
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		for _, b := range x.Strings {
			t.Strings = append(t.Strings, string(b))
		}
		t.HTML = markdown.TextHTML(t.Strings, x.Shape)
		return t
	})
}

// PRCurve is one pr_curves item: the [6, n] tensor split into its rows.
type PRCurve struct {
	WallTime   web.Float   `json:"wall_time"`
	Step       int64       `json:"step"`
	Precision  []web.Float `json:"precision"`
	Recall     []web.Float `json:"recall"`
	TP         []web.Float `json:"tp"`
	FP         []web.Float `json:"fp"`
	TN         []web.Float `json:"tn"`
	FN         []web.Float `json:"fn"`
	Thresholds []web.Float `json:"thresholds"`
}

func (s *Server) getPRCurves(c *gin.Context) error {
	return itemsAnswer(s, c, "pr_curves", func(x engine.Item) PRCurve {
		p := x.PRCurve()
		return PRCurve{WallTime: web.Float(x.Wall), Step: x.Step, Precision: web.Floats(p.Precision), Recall: web.Floats(p.Recall),
			TP: web.Floats(p.TP), FP: web.Floats(p.FP), TN: web.Floats(p.TN), FN: web.Floats(p.FN), Thresholds: web.Floats(p.Thresholds)}
	})
}

func (s *Server) getBlob(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	want := c.Param("sha")
	runs, err := s.h.Engine.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	for _, plugin := range []string{"images", "audio"} {
		data, ct, ok, err := engine.FindBlob(runs, plugin, want)
		if err != nil {
			return err
		}
		if ok {
			web.ServeBlob(c, b, ct, data)
			return nil
		}
	}
	return kind.Errorf(kind.NotFound, "board %s has no image or audio %s", b.ID, want)
}
