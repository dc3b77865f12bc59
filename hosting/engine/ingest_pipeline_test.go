package engine

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/sampler"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// multiTagRun returns an event file of steps steps of tags scalar tags
// (one value per event, as PyTorch writes them), a histogram per tag
// every 50 steps, and a restart (SessionLog START) half way that preempts
// the steps after it: the shape of a long training run.
func multiTagRun(tb testing.TB, tags, steps int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(w.WriteFileVersion(1.7e9))
	for s := range steps {
		step := int64(s)
		if s > steps/2 {
			step -= int64(steps / 10) // the restart resumes from an earlier step
		}
		if s == steps/2+1 {
			must(w.WriteSessionStart(step, 1.7e9+float64(s)))
		}
		for t := range tags {
			v := math.Sin(float64(s*tags + t))
			if s%997 == 0 && t == 0 {
				v = math.NaN()
			}
			must(w.WriteScalar(fmt.Sprintf("train/metric_%02d", t), step, 1.7e9+float64(s), v))
			if s%50 == 0 {
				must(w.WriteHistogram(fmt.Sprintf("weights/layer_%02d", t), step, 1.7e9+float64(s), [][3]float64{{-1, 0, float64(s % 7)}, {0, 1, float64(t)}}))
			}
		}
	}
	return buf.Bytes()
}

// ingestState ingests files (each in chunks of chunk bytes, as appends
// give them) with ingest's Scanner pipelining after `after` bytes, and
// returns the marshalled sampler state and the digest.
func ingestState(t *testing.T, files [][]byte, chunk int, after int64) ([]byte, *hostingpb.Digest) {
	t.Helper()
	old := ingestPipelineAfter
	ingestPipelineAfter = after
	defer func() { ingestPipelineAfter = old }()
	d := &hostingpb.Digest{Files: map[string]*hostingpb.FileState{}}
	sr := sampler.NewRun(sampler.Config{})
	for i, data := range files {
		fs := &hostingpb.FileState{}
		d.Files[fmt.Sprintf("events.out.tfevents.%03d", i)] = fs
		for off := 0; off < len(data); off += chunk {
			fresh := data[off:min(off+chunk, len(data))]
			ingest(d, fs, sr, fresh)
			fs.Size += int64(len(fresh))
		}
	}
	state, err := sr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return state, d
}

// TestPipelinedIngestMatchesSequential: the sampler state (marshalled),
// the tag metadata, hparams and file states after a pipelined ingest are
// those of the sequential one, on the generated corpus (each run's files
// in order) and on a long multi-tag scalar run, whole and in chunks.
func TestPipelinedIngestMatchesSequential(t *testing.T) {
	corpus := tfeventstest.Generate(t)
	runs := map[string][][]byte{}
	for _, f := range corpus.Files {
		data, err := os.ReadFile(filepath.Join(corpus.LogDir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		runs[f.Run] = append(runs[f.Run], data)
	}
	if len(runs) < 5 {
		t.Fatalf("the generated corpus has %d runs", len(runs))
	}
	big := multiTagRun(t, 20, 12_000) // ~11 MB: pipelines by default too
	cases := []struct {
		name  string
		files [][]byte
		chunk int
		after int64 // when the pipeline starts (0: the default)
	}{
		{"multi-tag run, whole, default", [][]byte{big}, len(big), 0},
		{"multi-tag run, 1 MiB chunks, default", [][]byte{big}, 1 << 20, 0},
		{"multi-tag run, 300 kB chunks, from the first record", [][]byte{big}, 300_000, 1},
	}
	for name, files := range runs {
		cases = append(cases,
			struct {
				name  string
				files [][]byte
				chunk int
				after int64
			}{"generated " + name + ", from the first record", files, 1 << 30, 1},
			struct {
				name  string
				files [][]byte
				chunk int
				after int64
			}{"generated " + name + ", 1000 B chunks, from the first record", files, 1000, 1})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, wd := ingestState(t, c.files, c.chunk, -1)
			got, gd := ingestState(t, c.files, c.chunk, c.after)
			if !bytes.Equal(got, want) {
				t.Errorf("sampler state: %d bytes pipelined, %d sequential, not equal", len(got), len(want))
			}
			if !proto.Equal(gd, wd) {
				t.Errorf("digest pipelined\n%v\nsequential\n%v", gd, wd)
			}
			if len(wd.Files) != len(c.files) {
				t.Errorf("%d file states for %d files", len(wd.Files), len(c.files))
			}
		})
	}
}

// BenchmarkIngest is ingest alone (parse and sample, no store, no
// checkpoint) of a long multi-tag run in 8 MiB appends, sequential and
// pipelined.
func BenchmarkIngest(b *testing.B) {
	data := multiTagRun(b, 50, 20_000)
	for _, m := range []struct {
		name  string
		after int64
	}{{"sequential", -1}, {"pipelined", 0}} {
		b.Run(m.name, func(b *testing.B) {
			old := ingestPipelineAfter
			ingestPipelineAfter = m.after
			defer func() { ingestPipelineAfter = old }()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				d := &hostingpb.Digest{}
				fs := &hostingpb.FileState{}
				sr := sampler.NewRun(sampler.Config{})
				for off := 0; off < len(data); off += 8 << 20 {
					fresh := data[off:min(off+8<<20, len(data))]
					ingest(d, fs, sr, fresh)
				}
			}
		})
	}
}
