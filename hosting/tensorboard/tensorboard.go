package tensorboard

import (
	"bytes"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
	"tbhost/hosting/markdown"
	"tbhost/hosting/web"
	"tbhost/sampler"
)

// TensorBoard-compatible data API (tfevents-format.md §9), served per board
// under /experiment/:id/data/. Answers have the shapes TensorBoard's own
// backend gives, so that its dashboards (and scripts written against them)
// work against a hosted board.

// Request-time downsampling, as TensorBoard's plugins do by default.
const (
	tbHistogramSamples    = 51
	tbDistributionSamples = 501
)

// distributionBPS are the basis points (of 10000) of a compressed
// histogram: the normal CDF at -inf, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, +inf
// standard deviations.
var distributionBPS = [...]float64{0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000}

// tbPlugins lists the dashboards plugins_listing reports, in tab order,
// with what TensorBoard's plugins say of themselves (their
// frontend_metadata: tab name, whether a reload skips it, the custom
// element that draws it).
var tbPlugins = []struct {
	name, tab, element string
	disableReload      bool
}{
	{"scalars", "scalars", "tf-scalar-dashboard", false},
	{"images", "images", "tf-image-dashboard", false},
	{"audio", "audio", "tf-audio-dashboard", false},
	{"graphs", "graphs", "tf-graph-dashboard", true},
	{"distributions", "distributions", "tf-distribution-dashboard", false},
	{"histograms", "histograms", "tf-histogram-dashboard", false},
	{"text", "text", "tf-text-dashboard", false},
	{"pr_curves", "PR Curves", "tf-pr-curve-dashboard", false},
	{"hparams", "hparams", "tf-hparams-dashboard", false},
}

// API serves TensorBoard's data routes of every board.
type API struct{ h *web.Handlers }

// Register adds TensorBoard's data routes under /experiment/:id/data.
func Register(r gin.IRouter, h *web.Handlers) {
	s := &API{h: h}
	g := r.Group("/experiment/:id/data")
	g.GET("/environment", s.h.Handle(s.tbEnvironment))
	g.GET("/runs", s.h.Handle(s.tbRuns))
	g.GET("/plugins_listing", s.h.Handle(s.tbPluginsListing))

	g.GET("/plugin/scalars/tags", s.h.Handle(s.tbTags(isScalarTag, tbTagEntry)))
	g.GET("/plugin/scalars/scalars", s.h.Handle(s.tbScalars))
	g.POST("/plugin/scalars/scalars_multirun", s.h.Handle(s.tbScalarsMultirun))

	g.GET("/plugin/histograms/tags", s.h.Handle(s.tbTags(pluginIs("histograms"), tbTagEntry)))
	g.GET("/plugin/histograms/histograms", s.h.Handle(s.tbHistograms))
	g.GET("/plugin/distributions/tags", s.h.Handle(s.tbTags(pluginIs("histograms"), tbTagEntry)))
	g.GET("/plugin/distributions/distributions", s.h.Handle(s.tbDistributions))

	g.GET("/plugin/images/tags", s.h.Handle(s.tbTags(pluginIs("images"), tbSampledTagEntry(imageCount))))
	g.GET("/plugin/images/images", s.h.Handle(s.tbImages))
	g.GET("/plugin/images/individualImage", s.h.Handle(s.tbIndividualBlob("images")))

	g.GET("/plugin/audio/tags", s.h.Handle(s.tbTags(pluginIs("audio"), tbSampledTagEntry(audioCount))))
	g.GET("/plugin/audio/audio", s.h.Handle(s.tbAudio))
	g.GET("/plugin/audio/individualAudio", s.h.Handle(s.tbIndividualBlob("audio")))

	g.GET("/plugin/text/tags", s.h.Handle(s.tbTextTags))
	g.GET("/plugin/text/text", s.h.Handle(s.tbText))

	g.GET("/plugin/pr_curves/tags", s.h.Handle(s.tbTags(pluginIs("pr_curves"), tbTagEntry)))
	g.GET("/plugin/pr_curves/pr_curves", s.h.Handle(s.tbPRCurves))

	g.GET("/plugin/graphs/info", s.h.Handle(s.tbGraphsInfo))
	g.GET("/plugin/graphs/graph", s.h.Handle(s.tbGraph))
	g.GET("/plugin/graphs/run_metadata", s.h.Handle(s.tbRunMetadata))

	for route, h := range map[string]web.HandlerFunc{
		"experiment":     s.tbHParamsExperiment,
		"session_groups": s.tbHParamsSessionGroups,
		"metric_evals":   s.tbHParamsMetricEvals,
	} {
		g.POST("/plugin/hparams/"+route, s.h.Handle(h))
		g.GET("/plugin/hparams/"+route, s.h.Handle(h))
	}
}

// isScalarTag reports whether a series holds scalars.
func isScalarTag(t sampler.TagInfo) bool { return t.Stats != nil }

func pluginIs(p string) func(sampler.TagInfo) bool {
	return func(t sampler.TagInfo) bool { return t.Plugin == p && t.Stats == nil }
}

// isGraphPlugin reports whether a plugin name is one the graphs dashboard shows.
func isGraphPlugin(p string) bool {
	return p == "graphs" || strings.HasPrefix(p, "graph_")
}

func (s *API) tbEnvironment(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	if web.NotModified(c, b) {
		return nil
	}
	c.JSON(http.StatusOK, gin.H{
		"data_location":          web.BoardURL(c, b.ID),
		"window_title":           b.Name,
		"experiment_name":        b.Name,
		"experiment_description": b.Description,
		"creation_time":          web.Float(float64(b.Created.UnixNano()) / 1e9),
	})
	return nil
}

func (s *API) tbRuns(c *gin.Context) error {
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	names := make([]string, 0, len(runs))
	for _, r := range runs {
		names = append(names, r.Name())
	}
	sort.Strings(names)
	c.JSON(http.StatusOK, names)
	return nil
}

// boardPlugins reports which dashboards have data on the board.
func boardPlugins(runs []*engine.Run) map[string]bool {
	has := map[string]bool{}
	for _, r := range runs {
		if len(r.Digest().Hparams) > 0 {
			has["hparams"] = true
		}
		for _, t := range r.Samples().Tags() {
			switch {
			case t.Stats != nil:
				has["scalars"] = true
			case t.Plugin == "histograms":
				has["histograms"], has["distributions"] = true, true
			case isGraphPlugin(t.Plugin):
				has["graphs"] = true
			default:
				has[t.Plugin] = true
			}
		}
	}
	return has
}

func (s *API) tbPluginsListing(c *gin.Context) error {
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	has := boardPlugins(runs)
	// Written by hand to keep TensorBoard's tab order (a Go map would sort).
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range tbPlugins {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Quote(p.name))
		buf.WriteString(`:{"enabled":`)
		buf.WriteString(strconv.FormatBool(has[p.name]))
		buf.WriteString(`,"tab_name":`)
		buf.WriteString(strconv.Quote(p.tab))
		buf.WriteString(`,"disable_reload":`)
		buf.WriteString(strconv.FormatBool(p.disableReload))
		buf.WriteString(`,"remove_dom":false,"loading_mechanism":{"type":"CUSTOM_ELEMENT","element_name":`)
		buf.WriteString(strconv.Quote(p.element))
		buf.WriteString(`}}`)
	}
	buf.WriteByte('}')
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf.Bytes())
	return nil
}

// tbTagInfo is a tag in a plugin's tags answer.
type tbTagInfo struct {
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	Samples     *int   `json:"samples,omitempty"`
}

func tbTagEntry(r *engine.Run, t sampler.TagInfo) (tbTagInfo, error) {
	e := tbTagInfo{}
	if m := r.Digest().Tags[t.Tag]; m != nil {
		e.DisplayName = m.DisplayName
		// TensorBoard sends the description as HTML rendered from Markdown.
		e.Description = markdown.ToHTML(m.Description)
	}
	return e, nil
}

// tbSampledTagEntry adds "samples": the most images (or clips) in one step.
func tbSampledTagEntry(count func(engine.Item) int) func(*engine.Run, sampler.TagInfo) (tbTagInfo, error) {
	return func(r *engine.Run, t sampler.TagInfo) (tbTagInfo, error) {
		e, _ := tbTagEntry(r, t)
		its, err := r.Items(t.Tag)
		if err != nil {
			return e, err
		}
		n := 0
		for _, x := range its {
			n = max(n, count(x))
		}
		e.Samples = &n
		return e, nil
	}
}

func imageCount(x engine.Item) int { return max(len(x.Strings)-2, 0) }

func audioCount(x engine.Item) int { return (len(x.Strings) + 1) / 2 }

// tbTags answers {run: {tag: info}} for the tags match selects; runs with
// no such tag are left out.
func (s *API) tbTags(match func(sampler.TagInfo) bool, entry func(*engine.Run, sampler.TagInfo) (tbTagInfo, error)) web.HandlerFunc {
	return func(c *gin.Context) error {
		_, runs, done, err := s.h.ReadableRuns(c)
		if err != nil || done {
			return err
		}
		out := map[string]map[string]tbTagInfo{}
		for _, r := range runs {
			for _, t := range r.Samples().Tags() {
				if !match(t) {
					continue
				}
				e, err := entry(r, t)
				if err != nil {
					return err
				}
				if out[r.Name()] == nil {
					out[r.Name()] = map[string]tbTagInfo{}
				}
				out[r.Name()][t.Tag] = e
			}
		}
		c.JSON(http.StatusOK, out)
		return nil
	}
}

func (s *API) tbTextTags(c *gin.Context) error {
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	out := map[string][]string{}
	for _, r := range runs {
		for _, t := range r.Samples().Tags() {
			if t.Plugin == "text" && t.Stats == nil {
				out[r.Name()] = append(out[r.Name()], t.Tag) // Tags() is sorted
			}
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// scalarRows returns the scalar reservoir of (r, tag) as [wall, step, value]
// rows; ok is false when the run has no scalar series tag.
func scalarRows(r *engine.Run, tag string) (rows []web.Triple, ok bool) {
	for _, t := range r.Samples().Tags() {
		if t.Tag == tag {
			ok = isScalarTag(t)
			break
		}
	}
	if !ok {
		return nil, false
	}
	pts := r.Samples().Scalars(tag)
	rows = make([]web.Triple, 0, len(pts))
	for _, p := range pts {
		rows = append(rows, web.Triple{p.Wall, float64(p.Step), p.Value})
	}
	return rows, true
}

func (s *API) tbScalars(c *gin.Context) error {
	b, r, tag, err := s.h.SeriesRequest(c)
	if err != nil {
		return err
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		return kind.Errorf(kind.Invalid, "format=%q: give format=json or format=csv", format)
	}
	if web.NotModified(c, b, r) {
		return nil
	}
	rows, ok := scalarRows(r, tag)
	if !ok {
		return kind.Errorf(kind.NotFound, "run %q has no scalar series %q", r.Name(), tag)
	}
	if format == "csv" {
		buf := make([]byte, 0, 32+40*len(rows))
		buf = append(buf, "Wall time,Step,Value\n"...)
		for _, p := range rows {
			buf = appendCSVFloat(buf, p[0])
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(p[1]), 10)
			buf = append(buf, ',')
			buf = appendCSVFloat(buf, p[2])
			buf = append(buf, '\n')
		}
		c.Data(http.StatusOK, "text/csv; charset=utf-8", buf)
		return nil
	}
	c.JSON(http.StatusOK, rows)
	return nil
}

// appendCSVFloat appends v for a CSV cell, non-finite values spelled as in JSON.
func appendCSVFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "Infinity"...)
	case math.IsInf(v, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// maxMultirun bounds the runs of one scalars_multirun request.
const maxMultirun = 1000

func (s *API) tbScalarsMultirun(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	if err := c.Request.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		return kind.Errorf(kind.Invalid, "read the form: %w", err)
	}
	tag := c.Request.PostFormValue("tag")
	if tag == "" {
		return kind.Errorf(kind.Invalid, "give the tag as the form field tag")
	}
	names := append(c.Request.PostForm["runs"], c.Request.PostForm["runs[]"]...)
	if len(names) > maxMultirun {
		return kind.Errorf(kind.Invalid, "%d runs requested; ask for at most %d at a time", len(names), maxMultirun)
	}
	out := map[string][]web.Triple{}
	for _, name := range names {
		r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, name)
		if kind.Of(err) == kind.NotFound || kind.Of(err) == kind.Invalid {
			continue // TensorBoard leaves out runs that lack the tag
		}
		if err != nil {
			return err
		}
		if rows, ok := scalarRows(r, tag); ok {
			out[name] = rows
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

// downsample keeps at most k items, evenly spaced, the first and last included.
func downsample[T any](xs []T, k int) []T {
	n := len(xs)
	if n <= k || k <= 0 {
		return xs
	}
	if k == 1 {
		return xs[n-1:]
	}
	out := make([]T, k)
	for i := range k {
		out[i] = xs[int(math.Round(float64(i)*float64(n-1)/float64(k-1)))]
	}
	return out
}

// tbRow is TensorBoard's [wall_time, step, data] row.
type tbRow [3]any

func (s *API) tbHistograms(c *gin.Context) error {
	_, _, its, done, err := s.h.PluginItems(c, "histograms")
	if err != nil || done {
		return err
	}
	its = downsample(its, tbHistogramSamples)
	out := make([]tbRow, 0, len(its))
	for _, x := range its {
		out = append(out, tbRow{web.Float(x.Wall), x.Step, web.Triples(x.Histogram())})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *API) tbDistributions(c *gin.Context) error {
	_, _, its, done, err := s.h.PluginItems(c, "histograms")
	if err != nil || done {
		return err
	}
	its = downsample(its, tbDistributionSamples)
	out := make([]tbRow, 0, len(its))
	for _, x := range its {
		out = append(out, tbRow{web.Float(x.Wall), x.Step, compressHistogram(web.Triples(x.Histogram()))})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// bpValue is one [basis_point, value] pair of a compressed histogram.
type bpValue [2]web.Float

// compressHistogram gives the values of the histogram at distributionBPS:
// the cumulative count is scaled to 10000 and each basis point is placed by
// linear interpolation within the bucket that reaches it (TensorBoard's
// compressor). Basis points past the last bucket get the right edge.
func compressHistogram(rows []web.Triple) []bpValue {
	out := make([]bpValue, 0, len(distributionBPS))
	if len(rows) == 0 {
		for _, bp := range distributionBPS {
			out = append(out, bpValue{web.Float(bp), 0})
		}
		return out
	}
	lo, hi := rows[0][0], rows[len(rows)-1][1]
	var total float64
	for _, r := range rows {
		total += r[2]
	}
	if total == 0 {
		total = 1
	}
	last := distributionBPS[len(distributionBPS)-1]
	cum := make([]float64, len(rows))
	var acc float64
	for i, r := range rows {
		acc += r[2] * last / total
		cum[i] = acc
	}
	j := 0
	for j < len(distributionBPS) {
		bp := distributionBPS[j]
		// First bucket whose cumulative weight exceeds bp.
		i := sort.Search(len(cum), func(k int) bool { return cum[k] > bp })
		placed := false
		for ; i < len(cum); i++ {
			prev := 0.0
			if i > 0 {
				prev = cum[i-1]
			}
			if cum[i] == prev {
				continue // an empty bucket: nothing to interpolate in
			}
			left := lo
			if i > 0 && prev != 0 {
				left = max(rows[i-1][1], lo)
			}
			right := min(rows[i][1], hi)
			v := left + (bp-prev)*(right-left)/(cum[i]-prev)
			out = append(out, bpValue{web.Float(bp), web.Float(v)})
			placed = true
			break
		}
		if !placed {
			break
		}
		j++
	}
	for ; j < len(distributionBPS); j++ {
		out = append(out, bpValue{web.Float(distributionBPS[j]), web.Float(hi)})
	}
	return out
}

// blobQuery is the query string of an individualImage/individualAudio URL.
// It carries the view key when the request did, so that the link works on
// a private board.
func blobQuery(c *gin.Context, run, sha string) string {
	v := url.Values{"blob": {sha}, "run": {run}}
	if k := c.Query("key"); k != "" {
		v.Set("key", k)
	}
	return v.Encode()
}

// sampleParam reads ?sample=, which of an event's images or clips to show.
func sampleParam(c *gin.Context) (int64, error) {
	sample, err := web.QueryInt(c, "sample", 0)
	if err == nil && sample < 0 {
		err = kind.Errorf(kind.Invalid, "sample=%d is negative", sample)
	}
	return sample, err
}

func (s *API) tbImages(c *gin.Context) error {
	_, r, its, done, err := s.h.PluginItems(c, "images")
	if err != nil || done {
		return err
	}
	sample, err := sampleParam(c)
	if err != nil {
		return err
	}
	type image struct {
		WallTime web.Float `json:"wall_time"`
		Step     int64     `json:"step"`
		Width    int       `json:"width"`
		Height   int       `json:"height"`
		Query    string    `json:"query"`
	}
	out := make([]image, 0, len(its))
	for _, x := range its {
		ss := x.Strings
		if int64(len(ss)) < 3+sample {
			continue
		}
		im := image{WallTime: web.Float(x.Wall), Step: x.Step, Query: blobQuery(c, r.Name(), engine.BlobSHA(ss[2+sample]))}
		im.Width, _ = strconv.Atoi(string(ss[0]))
		im.Height, _ = strconv.Atoi(string(ss[1]))
		out = append(out, im)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *API) tbAudio(c *gin.Context) error {
	_, r, its, done, err := s.h.PluginItems(c, "audio")
	if err != nil || done {
		return err
	}
	sample, err := sampleParam(c)
	if err != nil {
		return err
	}
	type clip struct {
		WallTime    web.Float `json:"wall_time"`
		Step        int64     `json:"step"`
		Label       string    `json:"label"`
		ContentType string    `json:"contentType"`
		Query       string    `json:"query"`
	}
	out := make([]clip, 0, len(its))
	for _, x := range its {
		i := 2 * sample
		ss := x.Strings
		if int64(len(ss)) <= i {
			continue
		}
		cl := clip{WallTime: web.Float(x.Wall), Step: x.Step, ContentType: x.AudioType(), Query: blobQuery(c, r.Name(), engine.BlobSHA(ss[i]))}
		if i+1 < int64(len(ss)) {
			cl.Label = html.EscapeString(string(ss[i+1]))
		}
		out = append(out, cl)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// tbIndividualBlob serves individualImage / individualAudio: the bytes named
// by ?blob=<sha256>, looked up in ?run= (or in every run when run is absent).
func (s *API) tbIndividualBlob(plugin string) web.HandlerFunc {
	return func(c *gin.Context) error {
		b, err := s.h.ReadableBoard(c)
		if err != nil {
			return err
		}
		want := strings.ToLower(c.Query("blob"))
		if !shaPattern.MatchString(want) {
			return kind.Errorf(kind.Invalid, "give the %s as ?blob=<sha256 in hex>&run=RUN, as the query of the listing gives it", strings.TrimSuffix(plugin, "s"))
		}
		var runs []*engine.Run
		if run := c.Query("run"); run != "" {
			r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, run)
			if err != nil {
				return err
			}
			runs = []*engine.Run{r}
		} else if runs, err = s.h.Engine.Runs(c.Request.Context(), b.ID); err != nil {
			return err
		}
		data, ct, ok, err := engine.FindBlob(runs, plugin, want)
		if err != nil {
			return err
		}
		if !ok {
			return kind.Errorf(kind.NotFound, "board %s has no %s %s", b.ID, strings.TrimSuffix(plugin, "s"), want)
		}
		web.ServeBlob(c, b, ct, data)
		return nil
	}
}

func (s *API) tbText(c *gin.Context) error {
	_, _, its, done, err := s.h.PluginItems(c, "text")
	if err != nil || done {
		return err
	}
	type text struct {
		WallTime    web.Float  `json:"wall_time"`
		Step        int64      `json:"step"`
		Text        string     `json:"text"`
		StringArray [][]string `json:"string_array"`
	}
	// ?markdown=false: the strings as sanitised HTML, not as Markdown.
	plain := c.Query("markdown") == "false"
	out := make([]text, 0, len(its))
	for _, x := range its {
		strs := make([]string, len(x.Strings))
		for i, b := range x.Strings {
			strs[i] = string(b)
		}
		h := ""
		if plain {
			h = markdown.PlainHTML(strs, x.Shape)
		} else {
			h = markdown.TextHTML(strs, x.Shape)
		}
		out = append(out, text{WallTime: web.Float(x.Wall), Step: x.Step, Text: h, StringArray: textTable(strs, x.Shape)})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// textTable shapes strings as rows: rank 0 and rank 1 give one string per
// row, higher ranks one row per leading index with the last dimension as
// columns.
func textTable(strs []string, shape []int64) [][]string {
	cols := 1
	if len(shape) >= 2 && shape[len(shape)-1] > 0 {
		cols = int(shape[len(shape)-1])
	}
	rows := make([][]string, 0, (len(strs)+cols-1)/cols)
	for i := 0; i < len(strs); i += cols {
		rows = append(rows, strs[i:min(i+cols, len(strs))])
	}
	return rows
}

// tbPRCurve is one pr_curves entry in TensorBoard's shape.
type tbPRCurve struct {
	WallTime       web.Float   `json:"wall_time"`
	Step           int64       `json:"step"`
	Precision      []web.Float `json:"precision"`
	Recall         []web.Float `json:"recall"`
	Thresholds     []web.Float `json:"thresholds"`
	TruePositives  []web.Float `json:"true_positives"`
	FalsePositives []web.Float `json:"false_positives"`
	TrueNegatives  []web.Float `json:"true_negatives"`
	FalseNegatives []web.Float `json:"false_negatives"`
}

// prCurve gives a pr_curves item in TensorBoard's shape.
func prCurve(x engine.Item) tbPRCurve {
	p := x.PRCurve()
	return tbPRCurve{WallTime: web.Float(x.Wall), Step: x.Step, TruePositives: web.Floats(p.TP), FalsePositives: web.Floats(p.FP),
		TrueNegatives: web.Floats(p.TN), FalseNegatives: web.Floats(p.FN), Precision: web.Floats(p.Precision), Recall: web.Floats(p.Recall),
		Thresholds: web.Floats(p.Thresholds)}
}

// tbPRCurves answers {run: [entry...]} for the tag in each ?run= given
// (TensorBoard's pr_curves route takes several runs).
func (s *API) tbPRCurves(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	names, tag := c.QueryArray("run"), c.Query("tag")
	if len(names) == 0 || tag == "" {
		return kind.Errorf(kind.Invalid, "give the series as ?run=RUN&tag=TAG (run may repeat)")
	}
	runs := make([]*engine.Run, 0, len(names))
	for _, name := range names {
		r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, name)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if web.NotModified(c, b, runs...) {
		return nil
	}
	out := map[string][]tbPRCurve{}
	for i, r := range runs {
		if !hasPluginTag(r, tag, "pr_curves") {
			return kind.Errorf(kind.NotFound, "run %q has no pr_curves tag %q", r.Name(), tag)
		}
		its, err := r.Items(tag)
		if err != nil {
			return err
		}
		curves := make([]tbPRCurve, 0, len(its))
		for _, x := range its {
			curves = append(curves, prCurve(x))
		}
		out[names[i]] = curves
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func hasPluginTag(r *engine.Run, tag, plugin string) bool {
	for _, t := range r.Samples().Tags() {
		if t.Tag == tag {
			return t.Plugin == plugin && t.Stats == nil
		}
	}
	return false
}
