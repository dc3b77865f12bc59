package frontend_test

// The log dirs the browser tests' boards are made of.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// fixtureDir returns the log dir a board of the browser tests is made of:
// the real corpus' project folder fixture when the corpus is present
// (tfeventstest; under CI=true a missing corpus fails the test), else a
// log dir written now in its stead by the project's tfevents.Writer, with
// what the tests look for in it (see standIns).
func fixtureDir(tb testing.TB, fixture string) string {
	tb.Helper()
	if c := tfeventstest.RealIfPresent(tb); c != nil {
		return filepath.Join(c.LogDir, fixture)
	}
	write, ok := standIns[fixture]
	if !ok {
		tb.Fatalf("no stand-in for the fixture %s: add one to standIns", fixture)
	}
	dir := tb.TempDir()
	if err := write(tb, dir); err != nil {
		tb.Fatalf("writing the stand-in for %s: %v", fixture, err)
	}
	return dir
}

// standIns write, for each real project folder the browser tests use, a
// log dir of the same shape: the runs and tags the tests name, and the
// plugins whose tabs they open.
var standIns = map[string]func(tb testing.TB, dir string) error{
	// Nine runs of scalars: three lax runs sharing lax/foo (each with two
	// lax/bar_N of its own), three strict runs of strict/foo every 5
	// steps, three runs of train/loss.
	"janosh__tensorboard-reducer": func(_ testing.TB, dir string) error {
		for i := 1; i <= 3; i++ {
			steps := 100 + 10*i
			lax := map[string][]float64{"lax/foo": nil, fmt.Sprintf("lax/bar_%d", i): nil, fmt.Sprintf("lax/bar_%d", i+1): nil}
			for tag := range lax {
				lax[tag] = curve(steps, float64(i)+float64(len(tag))/10)
			}
			runs := []struct {
				run    string
				series map[string][]float64
				every  int64
			}{
				{fmt.Sprintf("tests/runs/lax/run_%d", i), lax, 1},
				{fmt.Sprintf("tests/runs/strict/run_%d", i), map[string][]float64{"strict/foo": curve(100, float64(i))}, 5},
				{fmt.Sprintf("tests/tensorboard_runs/run_%d", i), map[string][]float64{"train/loss": curve(50, float64(i))}, 1},
			}
			for _, r := range runs {
				if err := writeScalars(filepath.Join(dir, filepath.FromSlash(r.run)), r.series, r.every); err != nil {
					return err
				}
			}
		}
		return nil
	},
	// Every plugin's tab: the generated corpus (scalars, histograms,
	// pr_curves, hparams, text, audio, graphs) and a run of images a
	// browser decodes (the corpus' image bytes are not pictures).
	"ZeroToMax-ZYZ__study_tensorboard": func(_ testing.TB, dir string) error {
		if _, err := tfeventstest.Write(dir); err != nil {
			return err
		}
		return writeImages(filepath.Join(dir, "images"))
	},
	// Text summaries: the generated corpus has TF1, TF2 and Keras ones.
	"ryanwakabayashi__python-notebook-summarization": func(_ testing.TB, dir string) error {
		_, err := tfeventstest.Write(dir)
		return err
	},
}

// curve is a noisy decaying curve of n values, varied by seed.
func curve(n int, seed float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		x := float64(i) / float64(n)
		out[i] = math.Exp(-3*x)*(1+seed/4) + 0.05*math.Sin(float64(i)*seed)
	}
	return out
}

// writeScalars writes one event file into run holding each series at
// steps 0, every, 2·every, ...
func writeScalars(run string, series map[string][]float64, every int64) error {
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	wall := 1.6e9
	if err := w.WriteFileVersion(wall); err != nil {
		return err
	}
	n := 0
	for _, vs := range series {
		n = max(n, len(vs))
	}
	tags := slices.Sorted(maps.Keys(series))
	for i := range n {
		for _, tag := range tags {
			if vs := series[tag]; i < len(vs) {
				if err := w.WriteScalar(tag, int64(i)*every, wall+float64(i), vs[i]); err != nil {
					return err
				}
			}
		}
	}
	return writeEventFile(run, "events.out.tfevents.1600000000.standin", buf.Bytes())
}

// writeImages writes a run of five 32×32 PNG images (TF1 image summaries).
func writeImages(run string) error {
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	if err := w.WriteFileVersion(1.6e9); err != nil {
		return err
	}
	for step := range int64(5) {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for y := range 32 {
			for x := range 32 {
				img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), uint8(step * 50), 255})
			}
		}
		var p bytes.Buffer
		if err := png.Encode(&p, img); err != nil {
			return err
		}
		if err := w.WriteImageTF1("Debug_Images/gradient", step, 1.6e9+float64(step), 32, 32, p.Bytes()); err != nil {
			return err
		}
	}
	return writeEventFile(run, "events.out.tfevents.1600000001.standin", buf.Bytes())
}

func writeEventFile(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), data, 0o644)
}
