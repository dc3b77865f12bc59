package hosting

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/proto"

	"tbhost/frontend"
	"tbhost/hosting/hostingpb"
	"tbhost/sampler"
)

// maxWidth bounds a scalar query's pixel width.
const maxWidth = 8192

// etagOf names the version of an answer: the request and the
// versions of the board and runs it reads.
func etagOf(c *gin.Context, b *boardMeta, runs ...*runState) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%t|", b.ID, c.Request.URL.RequestURI(), b.Updated, b.Private)
	for _, r := range runs {
		fmt.Fprintf(h, "%s:%d:%d|", r.key, r.gen, r.size)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// cachedJSON answers with the encoding of what build returns, cached under
// the answer's ETag: board-wide answers (tags, runs) and scalar series are
// asked for by every viewer of a board. A client that takes gzip (every
// browser) gets it gzipped, also cached: a chart's series is hundreds of
// kilobytes of JSON numbers.
func (s *Server) cachedJSON(c *gin.Context, etag string, build func() ([]byte, error)) error {
	c.Header("Vary", "Accept-Encoding")
	gz := frontend.AcceptsGzip(c.Request)
	key := etag
	if gz {
		key += ";gzip"
	}
	body, ok := s.cache.answer(key)
	if !ok {
		raw, ok := s.cache.answer(etag)
		if !ok {
			var err error
			if raw, err = build(); err != nil {
				return err
			}
			s.cache.putAnswer(etag, raw)
		}
		body = raw
		if gz {
			body = gzipAnswer(raw)
			s.cache.putAnswer(key, body)
		}
	}
	if isGzip(body) {
		c.Header("Content-Encoding", "gzip")
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// minGzip is the smallest answer worth compressing.
const minGzip = 1 << 10

// gzipAnswer compresses a JSON answer, or returns a small one as it is.
func gzipAnswer(raw []byte) []byte {
	if len(raw) < minGzip {
		return raw
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) / 3)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// isGzip tells a gzipped answer from JSON, which never starts with 0x1f.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// notModified sets ETag and Cache-Control from the runs' versions and
// the request, and answers 304 when the client has that version.
func notModified(c *gin.Context, b *boardMeta, runs ...*runState) bool {
	etag := etagOf(c, b, runs...)
	c.Header("ETag", etag)
	if b.Private {
		c.Header("Cache-Control", "private, no-cache")
	} else {
		c.Header("Cache-Control", "public, no-cache")
	}
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return true
	}
	return false
}

func sortRuns(runs []*runState) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].d.Run < runs[j].d.Run })
}

// RunInfo is one run in GET /runs.
type RunInfo struct {
	Name          string `json:"name"`
	FirstWallTime Float  `json:"first_wall_time"`
	LastWallTime  Float  `json:"last_wall_time"`
	Tags          int    `json:"tags"`
}

// readableRuns loads the board and its runs, and answers 304 when the client
// has this version (see revalidated). done reports that the answer is sent.
func (s *Server) readableRuns(c *gin.Context) (b *boardMeta, runs []*runState, done bool, err error) {
	b, err = s.readableBoard(c)
	if err != nil {
		return nil, nil, false, err
	}
	runs, err = s.boardRuns(c.Request.Context(), b.ID)
	if err != nil {
		return nil, nil, false, err
	}
	return b, runs, revalidated(c, b, runs...), nil
}

// revalidated is notModified for a GET. A POST's answer depends on its
// body, which the ETag does not name: it is not revalidated.
func revalidated(c *gin.Context, b *boardMeta, runs ...*runState) bool {
	return c.Request.Method == http.MethodGet && notModified(c, b, runs...)
}

func (s *Server) getRuns(c *gin.Context) error {
	b, runs, done, err := s.readableRuns(c)
	if err != nil || done {
		return err
	}
	return s.cachedJSON(c, etagOf(c, b, runs...), func() ([]byte, error) { return runsJSON(runs) })
}

func runsJSON(runs []*runState) ([]byte, error) {
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		tags := r.s.Tags()
		ri := RunInfo{Name: r.d.Run, Tags: len(tags), FirstWallTime: Float(math.Inf(1)), LastWallTime: 0}
		for _, t := range tags {
			ri.FirstWallTime = min(ri.FirstWallTime, Float(t.FirstWall))
			ri.LastWallTime = max(ri.LastWallTime, Float(t.LastWall))
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
	Plugin      string `json:"plugin"`
	Count       int64  `json:"count"`
	Kept        int    `json:"kept"`
	MinStep     int64  `json:"min_step"`
	MaxStep     int64  `json:"max_step"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	Min         *Float `json:"min,omitempty"`
	Max         *Float `json:"max,omitempty"`
	Last        *Float `json:"last,omitempty"`
	NonFinite   int64  `json:"nonfinite,omitempty"`
}

func tagSummary(r *runState, t sampler.TagInfo) TagSummary {
	ts := TagSummary{Plugin: t.Plugin, Count: t.Count, Kept: t.Kept, MinStep: t.MinStep, MaxStep: t.MaxStep}
	if m := r.d.Tags[t.Tag]; m != nil {
		ts.DisplayName, ts.Description = m.DisplayName, m.Description
	}
	if st := t.Stats; st != nil {
		ts.NonFinite = st.NonFinite
		if st.Count > st.NonFinite {
			mn, mx, last := Float(st.Min), Float(st.Max), Float(st.Last)
			ts.Min, ts.Max, ts.Last = &mn, &mx, &last
		}
	}
	return ts
}

func (s *Server) getTags(c *gin.Context) error {
	b, runs, done, err := s.readableRuns(c)
	if err != nil || done {
		return err
	}
	return s.cachedJSON(c, etagOf(c, b, runs...), func() ([]byte, error) {
		out := make(map[string]map[string]TagSummary, len(runs))
		for _, r := range runs {
			m := map[string]TagSummary{}
			for _, t := range r.s.Tags() {
				m[t.Tag] = tagSummary(r, t)
			}
			out[r.d.Run] = m
		}
		return json.Marshal(gin.H{"runs": out})
	})
}

// seriesRequest loads the board, run and tag a series request names.
func (s *Server) seriesRequest(c *gin.Context) (*boardMeta, *runState, string, error) {
	b, err := s.readableBoard(c)
	if err != nil {
		return nil, nil, "", err
	}
	if c.Query("run") == "" || c.Query("tag") == "" {
		return nil, nil, "", Errorf(Invalid, "give the series as ?run=RUN&tag=TAG")
	}
	r, err := s.findRun(c.Request.Context(), b.ID, c.Query("run"))
	if err != nil {
		return nil, nil, "", err
	}
	return b, r, c.Query("tag"), nil
}

// ScalarStats is the exact statistics of a scalar series.
type ScalarStats struct {
	Count     int64 `json:"count"`
	NonFinite int64 `json:"nonfinite"`
	Min       Float `json:"min"`
	Max       Float `json:"max"`
	First     Float `json:"first"`
	Last      Float `json:"last"`
}

// ScalarSeries is the answer of GET /scalars.
type ScalarSeries struct {
	Run       string      `json:"run,omitempty"`
	Tag       string      `json:"tag,omitempty"`
	Points    []triple    `json:"points"`    // [wall_time, step, value]
	Envelope  []triple    `json:"envelope"`  // [step, min, max]
	NonFinite []triple    `json:"nonfinite"` // [wall_time, step, value]
	Stats     ScalarStats `json:"stats"`
}

// scalarWindow reads the width, start and end of a scalar query.
func scalarWindow(c *gin.Context) (width, start, end int64, err error) {
	if width, err = queryInt(c, "width", 1000); err != nil {
		return
	}
	if width < 1 || width > maxWidth {
		return 0, 0, 0, Errorf(Invalid, "width=%d: give a chart width in pixels from 1 to %d", width, maxWidth)
	}
	if start, err = queryInt(c, "start", 0); err != nil {
		return
	}
	end, err = queryInt(c, "end", 0)
	return
}

// scalarSeries answers a scalar query on one run.
func scalarSeries(r *runState, tag string, start, end, width int64) (ScalarSeries, bool) {
	q, ok := r.s.Query(tag, start, end, int(width))
	if !ok {
		return ScalarSeries{}, false
	}
	out := ScalarSeries{Run: r.d.Run, Tag: tag, Points: make([]triple, 0, len(q.Points)), Envelope: make([]triple, 0, len(q.Envelope)), NonFinite: make([]triple, 0, len(q.NonFinite))}
	for _, p := range q.Points {
		out.Points = append(out.Points, triple{p.Wall, float64(p.Step), p.Value})
	}
	for _, e := range q.Envelope {
		out.Envelope = append(out.Envelope, triple{float64(e.Step), e.Min, e.Max})
	}
	for _, p := range q.NonFinite {
		out.NonFinite = append(out.NonFinite, triple{p.Wall, float64(p.Step), p.Value})
	}
	st := q.Stats
	out.Stats = ScalarStats{Count: st.Count, NonFinite: st.NonFinite, Min: Float(st.Min), Max: Float(st.Max), First: Float(st.First), Last: Float(st.Last)}
	return out, true
}

func (s *Server) getScalars(c *gin.Context) error {
	b, r, tag, err := s.seriesRequest(c)
	if err != nil {
		return err
	}
	width, start, end, err := scalarWindow(c)
	if err != nil {
		return err
	}
	if notModified(c, b, r) {
		return nil
	}
	return s.cachedJSON(c, etagOf(c, b, r), func() ([]byte, error) {
		out, found := scalarSeries(r, tag, start, end, width)
		if !found {
			return nil, Errorf(NotFound, "run %q has no scalar series %q", r.d.Run, tag)
		}
		return out.appendJSON(make([]byte, 0, 64*len(out.Points)+256)), nil
	})
}

// appendJSON appends the series as JSON. Scalar answers are the hot path
// of the board page: written by hand, they cost a fraction of
// encoding/json's reflection and re-validation.
func (sr *ScalarSeries) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if sr.Run != "" || sr.Tag != "" {
		b = append(b, `"run":`...)
		b = appendJSONString(b, sr.Run)
		b = append(b, `,"tag":`...)
		b = appendJSONString(b, sr.Tag)
		b = append(b, ',')
	}
	for i, part := range []struct {
		name string
		rows []triple
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
			b = t.appendJSON(b)
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
		v    Float
	}{{"min", st.Min}, {"max", st.Max}, {"first", st.First}, {"last", st.Last}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = appendFloat(b, float64(f.v))
	}
	return append(b, "}}"...)
}

// getScalarsMulti answers one chart: a tag's series in many runs (every
// run that has it, or the runs named by repeated ?run=), in one request.
func (s *Server) getScalarsMulti(c *gin.Context) error {
	board, err := s.readableBoard(c)
	if err != nil {
		return err
	}
	tag := c.Query("tag")
	if tag == "" {
		return Errorf(Invalid, "give the tag as ?tag=TAG")
	}
	width, start, end, err := scalarWindow(c)
	if err != nil {
		return err
	}
	runs, err := s.boardRuns(c.Request.Context(), board.ID)
	if err != nil {
		return err
	}
	if names := c.QueryArray("run"); len(names) > 0 {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			if n, err := CleanRun(n); err == nil {
				want[n] = true
			}
		}
		kept := runs[:0:0]
		for _, r := range runs {
			if want[r.d.Run] {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	if notModified(c, board, runs...) {
		return nil
	}
	return s.cachedJSON(c, etagOf(c, board, runs...), func() ([]byte, error) {
		return scalarsMultiJSON(runs, tag, start, end, width), nil
	})
}

// scalarsMultiJSON encodes one tag's series in many runs.
func scalarsMultiJSON(runs []*runState, tag string, start, end, width int64) []byte {
	b := append(make([]byte, 0, 64<<10), `{"tag":`...)
	b = appendJSONString(b, tag)
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
		b = appendJSONString(b, r.d.Run)
		b = append(b, ':')
		sr.Run, sr.Tag = "", ""
		b = sr.appendJSON(b)
	}
	return append(b, "}}"...)
}

// decodedItem is one reservoir item of a non-scalar series.
type decodedItem struct {
	Step int64
	Wall float64
	it   *hostingpb.Item
}

// items returns the reservoir of a (run, tag), decoded.
func items(r *runState, tag string) ([]decodedItem, error) {
	raw := r.s.Items(tag)
	out := make([]decodedItem, 0, len(raw))
	for _, x := range raw {
		it := &hostingpb.Item{}
		if err := proto.Unmarshal(x.Payload, it); err != nil {
			return nil, fmt.Errorf("decode item of %q at step %d: %w", tag, x.Step, err)
		}
		out = append(out, decodedItem{Step: x.Step, Wall: x.Wall, it: it})
	}
	return out, nil
}

// pluginItems loads a series and checks it holds the wanted plugin.
func (s *Server) pluginItems(c *gin.Context, plugins ...string) (*boardMeta, *runState, []decodedItem, bool, error) {
	b, r, tag, err := s.seriesRequest(c)
	if err != nil {
		return nil, nil, nil, false, err
	}
	var found bool
	for _, t := range r.s.Tags() {
		if t.Tag == tag {
			for _, p := range plugins {
				found = found || t.Plugin == p
			}
			if !found {
				return nil, nil, nil, false, Errorf(NotFound, "tag %q of run %q is %s data, not %s", tag, r.d.Run, t.Plugin, plugins[0])
			}
		}
	}
	if !found {
		return nil, nil, nil, false, Errorf(NotFound, "run %q has no tag %q", r.d.Run, tag)
	}
	if notModified(c, b, r) {
		return nil, nil, nil, true, nil
	}
	its, err := items(r, tag)
	return b, r, its, false, err
}

// histogramRows turns an item's flattened rows into [left, right, count].
func histogramRows(it *hostingpb.Item) []triple {
	rows := make([]triple, 0, len(it.Floats)/3)
	for i := 0; i+2 < len(it.Floats); i += 3 {
		rows = append(rows, triple{it.Floats[i], it.Floats[i+1], it.Floats[i+2]})
	}
	return rows
}

// itemsAnswer answers {"items": [...]}: each reservoir item of the
// requested series of plugin, converted by conv.
func itemsAnswer[T any](s *Server, c *gin.Context, plugin string, conv func(decodedItem) T) error {
	_, _, its, done, err := s.pluginItems(c, plugin)
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
	WallTime Float    `json:"wall_time"`
	Step     int64    `json:"step"`
	Buckets  []triple `json:"buckets"`
}

func (s *Server) getHistograms(c *gin.Context) error {
	return itemsAnswer(s, c, "histograms", func(x decodedItem) histogramItem {
		return histogramItem{Float(x.Wall), x.Step, histogramRows(x.it)}
	})
}

type imageItem struct {
	WallTime Float    `json:"wall_time"`
	Step     int64    `json:"step"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Blobs    []string `json:"blobs"`
}

func (s *Server) getImages(c *gin.Context) error {
	return itemsAnswer(s, c, "images", func(x decodedItem) imageItem {
		im := imageItem{WallTime: Float(x.Wall), Step: x.Step, Blobs: []string{}}
		if ss := x.it.Strings; len(ss) >= 2 {
			im.Width, _ = strconv.Atoi(string(ss[0]))
			im.Height, _ = strconv.Atoi(string(ss[1]))
			for _, img := range ss[2:] {
				im.Blobs = append(im.Blobs, blobSHA(img))
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
	WallTime Float       `json:"wall_time"`
	Step     int64       `json:"step"`
	Clips    []audioClip `json:"clips"`
}

func (s *Server) getAudio(c *gin.Context) error {
	return itemsAnswer(s, c, "audio", func(x decodedItem) audioItem {
		a := audioItem{WallTime: Float(x.Wall), Step: x.Step, Clips: []audioClip{}}
		ct := audioType(x.it.ContentType)
		for i := 0; i < len(x.it.Strings); i += 2 {
			cl := audioClip{Blob: blobSHA(x.it.Strings[i]), ContentType: ct}
			if i+1 < len(x.it.Strings) {
				cl.Label = string(x.it.Strings[i+1])
			}
			a.Clips = append(a.Clips, cl)
		}
		return a
	})
}

type textItem struct {
	WallTime Float    `json:"wall_time"`
	Step     int64    `json:"step"`
	Shape    []int64  `json:"shape"`
	Strings  []string `json:"strings"`
}

func (s *Server) getText(c *gin.Context) error {
	return itemsAnswer(s, c, "text", func(x decodedItem) textItem {
		t := textItem{WallTime: Float(x.Wall), Step: x.Step, Shape: x.it.Shape, Strings: make([]string, 0, len(x.it.Strings))}
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		for _, b := range x.it.Strings {
			t.Strings = append(t.Strings, string(b))
		}
		return t
	})
}

// PRCurve is one pr_curves item: the [6, n] tensor split into its rows.
type PRCurve struct {
	WallTime   Float   `json:"wall_time"`
	Step       int64   `json:"step"`
	Precision  []Float `json:"precision"`
	Recall     []Float `json:"recall"`
	TP         []Float `json:"tp"`
	FP         []Float `json:"fp"`
	TN         []Float `json:"tn"`
	FN         []Float `json:"fn"`
	Thresholds []Float `json:"thresholds"`
}

func (s *Server) getPRCurves(c *gin.Context) error {
	return itemsAnswer(s, c, "pr_curves", func(x decodedItem) PRCurve {
		p := prCurve(x)
		return PRCurve{WallTime: p.WallTime, Step: p.Step, Precision: p.Precision, Recall: p.Recall,
			TP: p.TruePositives, FP: p.FalsePositives, TN: p.TrueNegatives, FN: p.FalseNegatives, Thresholds: p.Thresholds}
	})
}

func (s *Server) getBlob(c *gin.Context) error {
	b, err := s.readableBoard(c)
	if err != nil {
		return err
	}
	want := c.Param("sha")
	runs, err := s.boardRuns(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	for _, plugin := range []string{"images", "audio"} {
		data, ct, ok, err := findBlob(runs, plugin, want)
		if err != nil {
			return err
		}
		if ok {
			serveBlob(c, b, ct, data)
			return nil
		}
	}
	return Errorf(NotFound, "board %s has no image or audio %s", b.ID, want)
}

// serveBlob answers with image or audio bytes, cacheable forever: their
// name is their hash.
func serveBlob(c *gin.Context, b *boardMeta, contentType string, data []byte) {
	if b.Private {
		c.Header("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	}
	c.Data(http.StatusOK, contentType, data)
}
