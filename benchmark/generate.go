package benchmark

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"tbhost/tfevents"
)

// Shape of the generated run: one run ("train") a week long, written as one
// event file per day (a training job restarted daily), holding Tags scalar
// series logged every step, a histogram per tag every histEvery steps and a
// small PNG every imageEvery steps. Histograms come often enough that
// their reservoirs (500 per tag) are full within the first quarter of the
// default run: the memory rows compare a quarter of the run with the whole,
// and a reservoir still filling would be growth by design (bounded), not
// growth with the input.
const (
	runName      = "train"
	days         = 7
	week         = 7 * 24 * 3600.0 // seconds
	histEvery    = 100
	imageEvery   = 5000
	histBuckets  = 30
	imageSide    = 32
	startWall    = 1.7e9
	genBufferLen = 1 << 20
)

// genFile is one generated event file.
type genFile struct {
	Path string // on disk
	Name string // base name, as uploaded
	Size int64
}

// generated describes the generated log dir.
type generated struct {
	Files                       []genFile
	Bytes                       int64
	Steps                       int64
	Scalars, Histograms, Images int64
	ScalarTags                  []string
	HistogramTags               []string
	ImageTag                    string
	ScalarRecordBytes           int64 // bytes of one scalar record
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// scalarTagNames returns n scalar tag names, grouped like a real run's.
func scalarTagNames(n int) []string {
	groups := []string{"train", "eval", "optim", "system"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/metric_%03d", groups[i%len(groups)], i)
	}
	return out
}

// scalarValue is a noisy decaying curve per tag, with rare spikes, so the
// M4 summaries have something to keep.
func scalarValue(tag int, step int64) float64 {
	x := float64(step)
	v := (1 + float64(tag%7)) * math.Exp(-x/2e5)
	// Cheap deterministic noise.
	h := uint64(step)*0x9E3779B97F4A7C15 ^ uint64(tag)*0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	v += (float64(h%1000)/1000 - 0.5) * 0.05
	if h%100003 == 0 {
		v *= 40 // a loss spike
	}
	return v
}

func histogram(tag int, step int64) [][3]float64 {
	b := make([][3]float64, histBuckets)
	spread := 1 + float64(step)/1e5
	for i := range b {
		left := (float64(i) - histBuckets/2) * spread / histBuckets
		right := left + spread/histBuckets
		z := (left + right) / 2 / (spread / 4)
		b[i] = [3]float64{left, right, math.Round(1000 * math.Exp(-z*z/2) * (1 + float64(tag%3)))}
	}
	return b
}

// samplePNG encodes a small RGB image that changes with step.
func samplePNG(step int64) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, imageSide, imageSide))
	s := uint8(step / imageEvery)
	for y := range imageSide {
		for x := range imageSide {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x*8) + s, G: uint8(y*8) ^ s, B: uint8((x+y)*4) + 3*s, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // cannot fail on an in-memory buffer
	}
	return buf.Bytes()
}

// estimateStepBytes returns the average bytes a step adds to the files.
func estimateStepBytes(tags []string) (scalarRec, perStep float64) {
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	w.WriteScalar(tags[len(tags)-1], 123456, startWall+week/2, 0.123)
	scalarRec = float64(buf.Len())
	buf.Reset()
	w.WriteHistogram("weights/layer_000", 123000, startWall+week/2, histogram(0, 123000))
	hist := float64(buf.Len())
	buf.Reset()
	w.WriteImage("samples/image", 125000, startWall+week/2, imageSide, imageSide, samplePNG(125000))
	img := float64(buf.Len())
	perStep = float64(len(tags))*scalarRec + float64(len(tags))*hist/histEvery + img/imageEvery
	return scalarRec, perStep
}

// generate writes a week-long run of about size bytes with nTags scalar
// tags into dir (one file per day).
func generate(dir string, size int64, nTags int) (*generated, error) {
	g := &generated{ScalarTags: scalarTagNames(nTags), ImageTag: "samples/image"}
	for i := range nTags {
		g.HistogramTags = append(g.HistogramTags, fmt.Sprintf("weights/layer_%03d", i))
	}
	scalarRec, perStep := estimateStepBytes(g.ScalarTags)
	g.ScalarRecordBytes = int64(scalarRec)
	g.Steps = max(int64(float64(size)/perStep), days)
	perDay := (g.Steps + days - 1) / days
	dt := week / float64(g.Steps)
	if err := os.MkdirAll(filepath.Join(dir, runName), 0o755); err != nil {
		return nil, err
	}
	var step int64
	for day := range days {
		wall0 := startWall + float64(step)*dt
		name := fmt.Sprintf("events.out.tfevents.%d.bench-host.%d.%d", int64(wall0), 1000+day, day)
		path := filepath.Join(dir, runName, name)
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(f, genBufferLen)
		cw := &countingWriter{w: bw}
		w := tfevents.NewWriter(cw)
		err = w.WriteFileVersion(wall0)
		if day > 0 && err == nil {
			err = w.WriteSessionStart(step, wall0) // a restart resumes at step
		}
		end := min(step+perDay, g.Steps)
		for ; step < end && err == nil; step++ {
			wall := startWall + float64(step)*dt
			for i, tag := range g.ScalarTags {
				if err = w.WriteScalar(tag, step, wall, scalarValue(i, step)); err != nil {
					break
				}
				g.Scalars++
			}
			if step%histEvery == 0 {
				for i, tag := range g.HistogramTags {
					if err = w.WriteHistogram(tag, step, wall, histogram(i, step)); err != nil {
						break
					}
					g.Histograms++
				}
			}
			if step%imageEvery == 0 && err == nil {
				err = w.WriteImage(g.ImageTag, step, wall, imageSide, imageSide, samplePNG(step))
				g.Images++
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("generate %s: %w", path, err)
		}
		g.Files = append(g.Files, genFile{Path: path, Name: name, Size: cw.n})
		g.Bytes += cw.n
		if step >= g.Steps {
			break
		}
	}
	return g, nil
}
