package hosting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/tfevents"
)

// The hand-written JSON of scalar answers says what encoding/json says.
func TestScalarSeriesJSON(t *testing.T) {
	tests := []struct {
		name string
		sr   ScalarSeries
	}{
		{"empty", ScalarSeries{Points: []triple{}, Envelope: []triple{}, NonFinite: []triple{}}},
		{"named", ScalarSeries{Run: `a "run"/<x>`, Tag: "loss/ü", Points: []triple{{1.5e9, 0, 0.25}, {1.5e9 + 1, 1e6, -3e-9}},
			Envelope: []triple{{0, -1, 1}}, NonFinite: []triple{{1, 2, math.NaN()}, {1, 3, math.Inf(1)}, {1, 4, math.Inf(-1)}},
			Stats: ScalarStats{Count: 5, NonFinite: 3, Min: -1, Max: 1, First: 0.25, Last: Float(math.NaN())}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.sr)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.sr.appendJSON(nil)
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// decodeDigest reads what proto.Unmarshal reads, the sampler state aside.
func TestDecodeDigest(t *testing.T) {
	want := &hostingpb.Digest{Run: "train/ü", Sampler: []byte("state bytes"), UpdatedUnixNano: 42,
		Files:   map[string]*hostingpb.FileState{"events.out.tfevents.1": {Size: 100, Parsed: 90, Pending: []byte("tail"), Warnings: []string{"w"}}},
		Tags:    map[string]*hostingpb.TagMeta{"loss": {DisplayName: "Loss"}},
		Hparams: map[string][]byte{"_hparams_/experiment": {1, 2, 3}}}
	raw, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	d, state, err := decodeDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(state) != "state bytes" || d.Sampler != nil {
		t.Errorf("state %q, digest's own %q", state, d.Sampler)
	}
	d.Sampler = state
	if !proto.Equal(d, want) {
		t.Errorf("decoded %v, want %v", d, want)
	}
	for _, n := range []int{1, len(raw) - 1} { // inside the first and the last field
		if _, _, err := decodeDigest(raw[:n]); err == nil {
			t.Errorf("a digest cut to %d of %d bytes decoded without error", n, len(raw))
		}
	}
}

// A snapshot handed to readers stays as it was when appends follow: the
// writer copies the state it shares before changing it.
func TestSnapshotOutlivesAppends(t *testing.T) {
	ctx := context.Background()
	srv, err := NewServer(Config{Store: NewMemStore(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	for step := range int64(3000) {
		if err := w.WriteScalar("loss", step, float64(step), float64(step%7)); err != nil {
			t.Fatal(err)
		}
	}
	data := buf.Bytes()
	half := len(data) / 2
	if _, err := srv.Append(ctx, "b", "train", "f", 0, data[:half]); err != nil {
		t.Fatal(err)
	}
	key := digestKey("b", "train")
	answer := func(r *runState) string {
		sr, ok := scalarSeries(r, "loss", 0, 0, 100)
		if !ok {
			t.Fatal("no series")
		}
		return string(sr.appendJSON(nil)) + fmt.Sprint(r.d.Files["f"].Size)
	}
	first, err := srv.loadRun(ctx, key, false)
	if err != nil {
		t.Fatal(err)
	}
	before := answer(first)
	if _, err := srv.Append(ctx, "b", "train", "f", int64(half), data[half:]); err != nil {
		t.Fatal(err)
	}
	if got := answer(first); got != before {
		t.Error("an append changed a snapshot given out before it")
	}
	second, err := srv.loadRun(ctx, key, false)
	if err != nil {
		t.Fatal(err)
	}
	if answer(second) == before {
		t.Error("the snapshot after the append does not show it")
	}
}

// Board ids work as command-line arguments: none starts with "-" (or "_").
func TestBoardIDs(t *testing.T) {
	for range 5000 { // a leading '-' or '_' would come once in 32 draws
		id, err := newBoardID()
		if err != nil {
			t.Fatal(err)
		}
		if checkID(id) != nil || id[0] == '-' || id[0] == '_' {
			t.Fatalf("board id %q", id)
		}
	}
}
