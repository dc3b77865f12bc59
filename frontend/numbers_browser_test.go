package frontend_test

// Browser tests of the numbers the board page draws: on charts of known
// ranges, the tick labels uPlot drew (recorded by the page in each
// chart's data-axes) read back as their ticks, increase, lie inside the
// data's range and fit the canvas; the tooltip shows exact steps.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"tbhost/tfevents"
)

const (
	numbersBase  = 1.7e9 // wall time of the first event of every run
	spikeStep    = 654321
	spikeValue   = 123.456789
	weeksSpan    = 21 * 86400.0
	hoursSpan    = 5 * 3600.0
	secondsSpan  = 30.0
	numbersSteps = 1_000_000
)

var (
	numbersOnce sync.Once
	numbersID   string
)

// numbersBoard uploads, once per test binary, a board whose charts have
// known ranges: run "main" with steps to 1e6 (a spike at 654,321) and to
// 1e9, values from 1e-7 to 1e7, negative and tiny, histograms and images
// at steps to 1e6; runs "secs", "hours" and "weeks" whose wall times span
// 30 s, 5 h and 3 weeks.
func numbersBoard(t *testing.T) string {
	t.Helper()
	numbersOnce.Do(func() {
		b := createBoard(t, "numbers", "Charts of known ranges for the number tests")
		files := map[string]*bytes.Buffer{}
		writer := func(run string) *tfevents.Writer {
			if files[run] == nil {
				files[run] = new(bytes.Buffer)
			}
			return tfevents.NewWriter(files[run])
		}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		w := writer("main")
		must(w.WriteFileVersion(numbersBase))
		// every 50,000 steps, none near the spike: the cursor finds it
		// within a few pixels
		for s := 0; s <= numbersSteps; s += 50_000 {
			if s == 800_000 {
				must(w.WriteScalar("steps/1M", spikeStep, numbersBase+float64(spikeStep)/1000, spikeValue))
			}
			if s > 500_000 && s < 800_000 {
				continue
			}
			must(w.WriteScalar("steps/1M", int64(s), numbersBase+float64(s)/1000, 1+float64(s)/1e6))
		}
		for s := int64(0); s <= 1e9; s += 1e7 {
			must(w.WriteScalar("steps/1G", s, numbersBase+float64(s)/1e6, math.Sin(float64(s)/1e8)))
		}
		for i := 0; i <= 200; i++ {
			v := math.Pow(10, -7+14*float64(i)/200)
			wall := numbersBase + float64(i)
			must(w.WriteScalar("values/wide", int64(i), wall, v))
			must(w.WriteScalar("values/negative", int64(i), wall, -v))
			must(w.WriteScalar("values/tiny", int64(i), wall, 1e-7*(1+4*float64(i)/200)))
		}
		for s := int64(0); s <= 1e6; s += 1e5 {
			var buckets [][3]float64
			for k := range 20 {
				left := 1e6 + float64(k)*1e4 + float64(s)/10
				buckets = append(buckets, [3]float64{left, left + 1e4, float64(1 + (k*7+int(s/1e5))%11)})
			}
			must(w.WriteHistogram("hist/big", s, numbersBase+float64(s)/1000, buckets))
		}
		for _, s := range []int64{0, 500_000, 1_000_000} {
			must(w.WriteImage("img/sample", s, numbersBase+float64(s)/1000, 8, 8, tinyPNG(uint8(s/4000))))
		}
		for run, span := range map[string]float64{"secs": secondsSpan, "hours": hoursSpan, "weeks": weeksSpan} {
			w := writer(run)
			must(w.WriteFileVersion(numbersBase))
			tag := "time/" + map[string]string{"secs": "seconds", "hours": "hours", "weeks": "weeks"}[run]
			for i := 0; i <= 300; i++ {
				must(w.WriteScalar(tag, int64(i), numbersBase+span*float64(i)/300, math.Cos(float64(i)/30)))
			}
		}
		for run, buf := range files {
			must(putFile(b, run, "events.out.tfevents.1700000000.numbers", 0, buf.Bytes()))
		}
		numbersID = b.ID
	})
	if numbersID == "" {
		t.Fatal("the numbers board was not uploaded")
	}
	return numbersID
}

func tinyPNG(shade uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, color.RGBA{shade, 128, 255 - shade, 255})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// axisRec and axesRec are what a chart recorded of its axes (data-axes,
// see src/axes.ts), plus each label's width measured in the page.
type axisRec struct {
	Side   int
	Size   float64
	Incr   float64
	Labels []string
	Splits []float64
	Px     []float64
	Widths []float64
}

type axesRec struct {
	Font          string
	Tick, Gap     float64
	Width, Height float64
	Plot          struct{ Left, Top, Width, Height float64 }
	Scales        struct{ X, Y [2]float64 }
	Axes          []axisRec
}

// readAxes returns what the chart at sel drew on its axes, once drawn.
func readAxes(tb *tab, sel string) axesRec {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: 'center'})`, sel)))
	tb.waitFor("chart "+sel, fmt.Sprintf(`document.querySelector(%q)?.dataset.state === 'drawn' && document.querySelector(%q).dataset.axes`, sel, sel), 60*time.Second)
	raw := eval[string](tb, fmt.Sprintf(`((c) => {
	  const a = JSON.parse(c.dataset.axes);
	  const m = document.createElement('canvas').getContext('2d');
	  m.font = a.font;
	  for (const ax of a.axes) ax.widths = ax.labels.map((l) => m.measureText(l).width);
	  return JSON.stringify(a);
	})(document.querySelector(%q))`, sel))
	var a axesRec
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		tb.t.Fatalf("%s: data-axes %s: %v", sel, raw, err)
	}
	if len(a.Axes) != 2 {
		tb.t.Fatalf("%s: %d axes recorded", sel, len(a.Axes))
	}
	return a
}

// reader reads a label as the value it states and the unit of its last digit.
type reader func(label string) (v, unit float64, err error)

var numberLabel = regexp.MustCompile(`^(-?)(\d{1,3}(?:,\d{3})*)(?:\.(\d+))?(?:e(-?\d+))?([kMGT]?)$`)

// readNumber reads "1,234.5", "-2.5e-7", "200k", "1.25M".
func readNumber(label string) (float64, float64, error) {
	m := numberLabel.FindStringSubmatch(label)
	if m == nil || (m[4] != "" && m[5] != "") {
		return 0, 0, fmt.Errorf("not a number label: %q", label)
	}
	scale := 1.0
	if m[4] != "" {
		e, _ := strconv.Atoi(m[4])
		scale = math.Pow(10, float64(e))
	} else if m[5] != "" {
		scale = map[string]float64{"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m[5]]
	}
	mant, err := strconv.ParseFloat(strings.ReplaceAll(m[2], ",", "")+"."+m[3]+"0", 64)
	if err != nil {
		return 0, 0, err
	}
	if m[1] == "-" {
		mant = -mant
	}
	return mant * scale, math.Pow(10, -float64(len(m[3]))) * scale, nil
}

var durationLabel = regexp.MustCompile(`^(-?)(?:(\d+)d)? ?(?:(\d+)h)? ?(?:(\d+)m)? ?(?:(\d+)(?:\.(\d+))?s)?$`)

// readDuration reads "1d 2h 3m 4.25s", "45s", "2h".
func readDuration(label string) (float64, float64, error) {
	m := durationLabel.FindStringSubmatch(label)
	if m == nil || label == "" {
		return 0, 0, fmt.Errorf("not a duration label: %q", label)
	}
	v, unit := 0.0, 0.0
	for i, u := range []float64{86400, 3600, 60} {
		if m[2+i] != "" {
			n, _ := strconv.Atoi(m[2+i])
			v += float64(n) * u
			unit = u
		}
	}
	if m[5] != "" {
		s, _ := strconv.ParseFloat(m[5]+"."+m[6]+"0", 64)
		v += s
		unit = math.Pow(10, -float64(len(m[6])))
	}
	if m[1] == "-" {
		v = -v
	}
	return v, unit, nil
}

// wallReader checks a wall-clock label against its tick in local time:
// it returns the tick itself when the label names it (time, and date
// when it has one), so the increasing check runs on the ticks.
func wallReader(incr float64) func(label string, tick float64) error {
	return func(label string, tick float64) error {
		tm := time.Unix(0, int64(math.Round(tick*1e3))*1e6).Local()
		var want []string
		switch {
		case incr >= 365*86400:
			want = []string{tm.Format("2006")}
		case incr >= 28*86400:
			want = []string{tm.Format("2006-01")}
		case incr >= 86400:
			want = []string{tm.Format("01-02")}
		case incr >= 60:
			want = []string{tm.Format("15:04")}
		default:
			want = []string{tm.Format("15:04:05")}
		}
		if strings.Contains(label, "-") && incr < 28*86400 {
			want = append(want, tm.Format("01-02"))
		}
		for _, w := range want {
			if !strings.Contains(label, w) {
				return fmt.Errorf("label %q for %s (tick %v, spacing %v s): lacks %q", label, tm.Format(time.RFC3339), tick, incr, w)
			}
		}
		return nil
	}
}

// checkAxis checks one axis of a chart: at least min labels; each reads
// back as its tick; labels and ticks increase; ticks lie in [lo, hi]; each
// label fits the canvas (and, on the y axis, the axis' width) and does
// not overlap its neighbour. read is nil for a wall-clock axis.
func checkAxis(t *testing.T, name string, a axesRec, i int, read reader, lo, hi float64, min int) []string {
	t.Helper()
	ax := a.Axes[i]
	var shown []string
	prevV, prevTick, prevRight := math.Inf(-1), math.Inf(-1), math.Inf(-1)
	eps := 1e-9 * math.Max(math.Abs(lo), math.Abs(hi))
	for k, label := range ax.Labels {
		if label == "" {
			continue
		}
		shown = append(shown, label)
		tick, w, px := ax.Splits[k], ax.Widths[k], ax.Px[k]
		if tick < lo-eps || tick > hi+eps {
			t.Errorf("%s axis %d: tick %v (%q) outside the data's range [%v, %v]", name, i, tick, label, lo, hi)
		}
		if tick <= prevTick {
			t.Errorf("%s axis %d: ticks not increasing at %v", name, i, tick)
		}
		prevTick = tick
		if read != nil {
			v, unit, err := read(label)
			if err != nil {
				t.Errorf("%s axis %d: %v", name, i, err)
			} else {
				if math.Abs(v-tick) > unit/2+1e-9*math.Abs(tick) {
					t.Errorf("%s axis %d: label %q reads %v, not its tick %v", name, i, label, v, tick)
				}
				if v <= prevV {
					t.Errorf("%s axis %d: labels not increasing at %q (%v)", name, i, label, ax.Labels)
				}
				prevV = v
			}
		} else if err := wallReader(ax.Incr)(label, tick); err != nil {
			t.Errorf("%s axis %d: %v", name, i, err)
		}
		if ax.Side == 2 { // bottom: centred on the tick
			left, right := px-w/2, px+w/2
			if left < -0.5 || right > a.Width+0.5 {
				t.Errorf("%s: x label %q spans [%.1f, %.1f] px, outside the canvas (0 to %.0f px): clipped", name, label, left, right, a.Width)
			}
			if left < prevRight+2 {
				t.Errorf("%s: x label %q overlaps the one before it (%v)", name, label, ax.Labels)
			}
			prevRight = right
		} else { // left: right-aligned before the ticks
			if w+a.Tick+a.Gap > ax.Size+0.5 {
				t.Errorf("%s: y label %q is %.1f px wide, the axis %.0f px (with %v px of ticks and gap): clipped", name, label, w, ax.Size, a.Tick+a.Gap)
			}
			if a.Plot.Left-a.Tick-a.Gap-w < -0.5 {
				t.Errorf("%s: y label %q starts left of the canvas", name, label)
			}
		}
	}
	if len(shown) < min {
		t.Errorf("%s axis %d: %d labels %v, want at least %d", name, i, len(shown), ax.Labels, min)
	}
	return shown
}

func chartSel(tag string) string { return fmt.Sprintf(`.chart[data-tag=%q]`, tag) }

// screenshot writes the page to $TBHOST_SCREENSHOTS/name when that is set.
func screenshot(t *testing.T, tb *tab, name string) {
	dir := os.Getenv("TBHOST_SCREENSHOTS")
	if dir == "" {
		return
	}
	img, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
		t.Fatal(err)
	}
}

func has(labels []string, want string) bool {
	for _, l := range labels {
		if l == want {
			return true
		}
	}
	return false
}

func TestAxisLabelsReadBackAndFit(t *testing.T) {
	id := numbersBoard(t)

	t.Run("steps and values", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#smoothing=0")
		a := readAxes(tb, chartSel("steps/1M"))
		x := checkAxis(t, "steps/1M", a, 0, readNumber, 0, numbersSteps, 3)
		checkAxis(t, "steps/1M", a, 1, readNumber, a.Scales.Y[0], a.Scales.Y[1], 3)
		if x[0] != "0" || x[len(x)-1] != "1M" {
			t.Errorf("steps/1M x labels %v: want 0 to 1M", x)
		}
		if !has(x, "200k") && !has(x, "250k") && !has(x, "500k") {
			t.Errorf("steps/1M x labels %v: no 200k, 250k or 500k", x)
		}
		for _, l := range x {
			if l == "1k" || l == "2k" || l == "4k" || l == "6k" || l == "8k" {
				t.Errorf("steps/1M x labels %v: %q drops an integer's zeros", x, l)
			}
		}

		a = readAxes(tb, chartSel("steps/1G"))
		x = checkAxis(t, "steps/1G", a, 0, readNumber, 0, 1e9, 3)
		checkAxis(t, "steps/1G", a, 1, readNumber, a.Scales.Y[0], a.Scales.Y[1], 3)
		if x[0] != "0" || x[len(x)-1] != "1G" {
			t.Errorf("steps/1G x labels %v: want 0 to 1G", x)
		}

		for _, tag := range []string{"values/wide", "values/negative", "values/tiny"} {
			a = readAxes(tb, chartSel(tag))
			checkAxis(t, tag, a, 0, readNumber, 0, 200, 3)
			y := checkAxis(t, tag, a, 1, readNumber, a.Scales.Y[0], a.Scales.Y[1], 3)
			switch tag {
			case "values/wide":
				if !has(y, "1e7") && !has(y, "5e6") {
					t.Errorf("%s y labels %v: want the top at 1e7 or 5e6", tag, y)
				}
			case "values/negative":
				if !strings.HasPrefix(y[0], "-") {
					t.Errorf("%s y labels %v: want negative labels", tag, y)
				}
			case "values/tiny":
				for _, l := range y {
					if !strings.Contains(l, "e-7") && l != "0" {
						t.Errorf("%s y labels %v: want n e-7 labels", tag, y)
						break
					}
				}
			}
		}
		screenshot(t, tb, "numbers-steps.png")
		tb.noConsoleErrors()
	})

	t.Run("log y", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#smoothing=0&logy=1")
		a := readAxes(tb, chartSel("values/wide"))
		y := checkAxis(t, "log values/wide", a, 1, readNumber, a.Scales.Y[0], a.Scales.Y[1], 3)
		for _, l := range y {
			if v, _, err := readNumber(l); err == nil {
				m := v / math.Pow(10, math.Floor(math.Log10(v)+1e-9))
				if math.Abs(m-math.Round(m)) > 1e-9 {
					t.Errorf("log y label %q is not a 1..9 × 10^k tick", l)
				}
			}
		}
		if !has(y, "1e6") && !has(y, "1e-6") && !has(y, "1") {
			t.Errorf("log y labels %v: want decades such as 1e-6, 1 or 1e6", y)
		}
		screenshot(t, tb, "numbers-logy.png")
		tb.noConsoleErrors()
	})

	t.Run("relative time", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#smoothing=0&x=relative")
		for tag, span := range map[string]float64{"time/seconds": secondsSpan, "time/hours": hoursSpan, "time/weeks": weeksSpan} {
			a := readAxes(tb, chartSel(tag))
			x := checkAxis(t, tag, a, 0, readDuration, 0, span, 3)
			last, _, _ := readDuration(x[len(x)-1])
			if last < span/2 {
				t.Errorf("%s relative labels %v: the last is below half the span %v s", tag, x, span)
			}
			if tag == "time/weeks" && !strings.HasSuffix(x[len(x)-1], "d") {
				t.Errorf("%s relative labels %v: want days", tag, x)
			}
		}
		screenshot(t, tb, "numbers-relative.png")
		tb.noConsoleErrors()
	})

	t.Run("wall time", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#smoothing=0&x=wall")
		for tag, span := range map[string]float64{"time/seconds": secondsSpan, "time/hours": hoursSpan, "time/weeks": weeksSpan} {
			a := readAxes(tb, chartSel(tag))
			x := checkAxis(t, tag, a, 0, nil, numbersBase, numbersBase+span, 3)
			if !strings.Contains(x[0], "-") {
				t.Errorf("%s wall labels %v: the first carries no date", tag, x)
			}
		}
		screenshot(t, tb, "numbers-wall.png")
		tb.noConsoleErrors()
	})

	t.Run("tooltip at the spike", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#smoothing=0")
		sel := chartSel("steps/1M")
		a := readAxes(tb, sel)
		box := eval[[]float64](tb, fmt.Sprintf(`(() => { const r = document.querySelector(%q).querySelector('.u-over').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, sel))
		x := box[0] + box[2]*(spikeStep-a.Scales.X[0])/(a.Scales.X[1]-a.Scales.X[0])
		y := box[1] + box[3]*0.2
		tb.do(
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x-30, y),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
		)
		tb.waitFor("the tooltip", fmt.Sprintf(`!document.querySelector(%q).querySelector('.tooltip').hidden`, sel), 10*time.Second)
		got := eval[[]string](tb, fmt.Sprintf(`['.tip-step', '.tip-value', '.tip-time'].map((c) => document.querySelector(%q).querySelector('.tooltip ' + c)?.textContent ?? '')`, sel))
		wall := numbersBase + float64(spikeStep)/1000
		want := []string{"654,321", strconv.FormatFloat(float64(float32(spikeValue)), 'g', 6, 64), time.Unix(int64(wall), 0).Local().Format("2006-01-02 15:04:05") + ".321"}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("tooltip %s = %q, want %q", []string{"step", "value", "time"}[i], got[i], want[i])
			}
		}
		screenshot(t, tb, "numbers-tooltip.png")
		tb.noConsoleErrors()
	})

	t.Run("histograms, distributions and images", func(t *testing.T) {
		tb := newTab(t)
		tb.open(boardPath(id) + "#tab=distributions")
		sel := `.dist-card[data-tag="hist/big"]`
		a := readAxes(tb, sel)
		x := checkAxis(t, "distribution", a, 0, readNumber, 0, 1e6, 3)
		checkAxis(t, "distribution", a, 1, readNumber, a.Scales.Y[0], a.Scales.Y[1], 3)
		if x[len(x)-1] != "1M" {
			t.Errorf("distribution x labels %v: want 1M last", x)
		}
		screenshot(t, tb, "numbers-distributions.png")

		tb.open(boardPath(id) + "#tab=histograms")
		tb.waitFor("the histogram", `document.querySelector('.hist-card[data-tag="hist/big"] canvas')?.dataset.axes`, 60*time.Second)
		var h struct {
			Lo, Hi float64
			Labels []string
			Px     []float64
			Steps  []string
		}
		raw := eval[string](tb, `document.querySelector('.hist-card[data-tag="hist/big"] canvas').dataset.axes`)
		if err := json.Unmarshal([]byte(raw), &h); err != nil {
			t.Fatal(err)
		}
		if len(h.Labels) < 2 {
			t.Errorf("histogram x labels %v", h.Labels)
		}
		prev := math.Inf(-1)
		for _, l := range h.Labels {
			v, _, err := readNumber(l)
			if err != nil || v <= prev || v < h.Lo || v > h.Hi {
				t.Errorf("histogram x labels %v (range %v..%v): %q wrong (%v)", h.Labels, h.Lo, h.Hi, l, err)
			}
			prev = v
		}
		if !has(h.Steps, "step 1,000,000") {
			t.Errorf("histogram step labels %v: want step 1,000,000", h.Steps)
		}
		screenshot(t, tb, "numbers-histograms.png")

		tb.open(boardPath(id) + "#tab=images")
		tb.waitFor("the image slider", `document.querySelector('.image-item .step-label')?.textContent`, 60*time.Second)
		if got := eval[string](tb, `document.querySelector('.image-item .step-label').textContent`); got != "step 1,000,000" {
			t.Errorf("image step label %q, want step 1,000,000", got)
		}
		screenshot(t, tb, "numbers-images.png")
		tb.noConsoleErrors()
	})
}
