package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"sort"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/sampler"
)

// Name is the run's name ("." for the log dir's root).
func (r *Run) Name() string { return r.d.Run }

// Key is the store key of the run's digest: with Gen and Size it names
// the run's version.
func (r *Run) Key() string { return r.key }

// Gen is the store generation of the run's checkpoint (0: none yet).
func (r *Run) Gen() int64 { return r.gen }

// Size is the raw bytes parsed into the state, over all files.
func (r *Run) Size() int64 { return r.size }

// Digest is the run's digest without its sampler state: files, tag
// metadata, hparams. Callers must not change it.
func (r *Run) Digest() *hostingpb.Digest { return r.d }

// Samples is the run's sampled series. Callers must not change it.
func (r *Run) Samples() *sampler.Run { return r.s }

// SortRuns sorts runs by name.
func SortRuns(runs []*Run) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].d.Run < runs[j].d.Run })
}

// Item is one kept value of a non-scalar series, decoded.
type Item struct {
	Step int64
	Wall float64
	*hostingpb.Item
}

// Items returns the reservoir of a (run, tag), decoded.
func (r *Run) Items(tag string) ([]Item, error) {
	raw := r.s.Items(tag)
	out := make([]Item, 0, len(raw))
	for _, x := range raw {
		it := &hostingpb.Item{}
		if err := proto.Unmarshal(x.Payload, it); err != nil {
			return nil, fmt.Errorf("decode item of %q at step %d: %w", tag, x.Step, err)
		}
		out = append(out, Item{Step: x.Step, Wall: x.Wall, Item: it})
	}
	return out, nil
}

// Histogram returns a histogram item's buckets as [left, right, count].
func (x Item) Histogram() [][3]float64 {
	rows := make([][3]float64, 0, len(x.Floats)/3)
	for i := 0; i+2 < len(x.Floats); i += 3 {
		rows = append(rows, [3]float64{x.Floats[i], x.Floats[i+1], x.Floats[i+2]})
	}
	return rows
}

// Images returns an image item's encoded images (after its width and
// height).
func (x Item) Images() [][]byte {
	if len(x.Strings) < 2 {
		return nil
	}
	return x.Strings[2:]
}

// AudioClip is one clip of an audio item.
type AudioClip struct {
	Data  []byte
	Label string
}

// AudioClips returns an audio item's clips with their labels.
func (x Item) AudioClips() []AudioClip {
	var out []AudioClip
	for i := 0; i < len(x.Strings); i += 2 {
		c := AudioClip{Data: x.Strings[i]}
		if i+1 < len(x.Strings) {
			c.Label = string(x.Strings[i+1])
		}
		out = append(out, c)
	}
	return out
}

// AudioType is an audio item's content type (WAV unless it says).
func (x Item) AudioType() string {
	if x.ContentType == "" {
		return "audio/wav"
	}
	return x.ContentType
}

// PRCurve is a pr_curves item: its [6, n] tensor split into its rows.
type PRCurve struct {
	TP, FP, TN, FN, Precision, Recall, Thresholds []float64
}

// PRCurve splits a [6, n] pr_curves tensor (rows TP, FP, TN, FN,
// precision, recall) into its rows, as TensorBoard's pr_curves plugin
// gives them (_make_pr_entry): threshold j is j/(n-1); the counts are
// truncated toward zero; the trailing thresholds where no example is
// predicted positive (TP+FP is 0, so precision is undefined) are dropped,
// the first one always kept.
func (x Item) PRCurve() PRCurve {
	n := len(x.Floats) / 6
	row := func(i int) []float64 { return x.Floats[i*n : (i+1)*n : (i+1)*n] }
	counts := func(i int) []float64 {
		out := make([]float64, n)
		for j, v := range row(i) {
			out[j] = prCount(v)
		}
		return out
	}
	pc := PRCurve{TP: counts(0), FP: counts(1), TN: counts(2), FN: counts(3), Precision: row(4), Recall: row(5), Thresholds: make([]float64, n)}
	for j := range n {
		if n > 1 {
			pc.Thresholds[j] = float64(j) / float64(n-1)
		}
	}
	end := n
	for end > 1 && pc.TP[end-1]+pc.FP[end-1] == 0 {
		end--
	}
	for _, r := range []*[]float64{&pc.TP, &pc.FP, &pc.TN, &pc.FN, &pc.Precision, &pc.Recall, &pc.Thresholds} {
		*r = (*r)[:end]
	}
	return pc
}

// prCount is a count of a PR curve as TensorBoard gives it: truncated
// toward zero (non-finite values are kept as they are).
func prCount(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Trunc(v)
}

// BlobSHA names an image or audio clip: its SHA-256, in hex.
func BlobSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// FindBlob looks for the image or audio clip whose SHA-256 is want in the
// given runs' reservoirs of plugin ("images" or "audio"). It returns the
// bytes and their content type.
func FindBlob(runs []*Run, plugin, want string) ([]byte, string, bool, error) {
	for _, r := range runs {
		for _, t := range r.s.Tags() {
			if t.Plugin != plugin || t.Stats != nil {
				continue
			}
			its, err := r.Items(t.Tag)
			if err != nil {
				return nil, "", false, err
			}
			for _, x := range its {
				if plugin == "audio" {
					for _, c := range x.AudioClips() {
						if BlobSHA(c.Data) == want {
							return c.Data, x.AudioType(), true, nil
						}
					}
					continue
				}
				for _, img := range x.Images() {
					if BlobSHA(img) == want {
						return img, http.DetectContentType(img), true, nil
					}
				}
			}
		}
	}
	return nil, "", false, nil
}
