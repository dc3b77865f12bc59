package tfevents

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/tfevents/tfeventspb"
)

// TestDecodeMatchesProtobufGo decodes every fixture record with both the
// hand-written decoder and protobuf-go generated code and compares them.
func TestDecodeMatchesProtobufGo(t *testing.T) {
	files := readFixtures(t)
	if len(files) != 364 {
		t.Fatalf("%d fixture files, want 364", len(files))
	}
	var events, values int
	for _, f := range files {
		r := NewReader(bytes.NewReader(f), Options{})
		d := NewDecoder(nil)
		for {
			p, err := r.Next()
			if errors.Is(err, ErrBadRecord) {
				continue
			}
			if err != nil {
				break
			}
			var ev tfeventspb.Event
			perr := proto.Unmarshal(p, &ev)
			vals, derr := d.Decode(p)
			if perr != nil || derr != nil {
				t.Fatalf("record at %d: protobuf-go %v, Decode %v", r.RecordOffset(), perr, derr)
			}
			events++
			var want []Value // the fields both can tell
			switch w := ev.What.(type) {
			case *tfeventspb.Event_GraphDef:
				want = append(want, Value{Tag: GraphTag, Kind: KindGraph, Blob: w.GraphDef})
			case *tfeventspb.Event_TaggedRunMetadata:
				want = append(want, Value{Tag: string(w.TaggedRunMetadata.Tag), Kind: KindRunMetadata, Blob: w.TaggedRunMetadata.RunMetadata})
			case *tfeventspb.Event_SessionLog:
				if w.SessionLog.Status == tfeventspb.SessionLog_START {
					want = append(want, Value{Kind: KindSessionStart})
				}
			case *tfeventspb.Event_Summary:
				for _, sv := range w.Summary.Value {
					v := Value{Tag: string(sv.Tag)}
					switch x := sv.Value.(type) {
					case *tfeventspb.Summary_Value_SimpleValue:
						v.Kind, v.Scalar = KindScalar, float64(x.SimpleValue)
					case *tfeventspb.Summary_Value_Histo:
						v.Kind = KindHistogram
					case *tfeventspb.Summary_Value_Image:
						v.Kind = KindImage
						v.Blob = x.Image.EncodedImageString
					case *tfeventspb.Summary_Value_Audio:
						v.Kind = KindAudio
						v.Blob = x.Audio.EncodedAudioString
					case *tfeventspb.Summary_Value_Tensor:
						v.DType = x.Tensor.Dtype
						for _, dim := range x.Tensor.GetTensorShape().GetDim() {
							v.Shape = append(v.Shape, dim.Size)
						}
					}
					if pd := sv.GetMetadata().GetPluginData(); pd != nil {
						v.Plugin = pd.PluginName
					}
					want = append(want, v)
				}
			}
			if len(vals) != len(want) {
				t.Fatalf("record at %d: %d values, protobuf-go says %d", r.RecordOffset(), len(vals), len(want))
			}
			for i, w := range want {
				g := vals[i]
				values++
				if g.Tag != w.Tag || g.Step != ev.Step || g.WallTime != ev.WallTime {
					t.Fatalf("record at %d value %d: %q %d %v, want %q %d %v", r.RecordOffset(), i, g.Tag, g.Step, g.WallTime, w.Tag, ev.Step, ev.WallTime)
				}
				if w.Kind != 0 && g.Kind != w.Kind {
					t.Fatalf("record at %d value %d (%q): kind %v, want %v", r.RecordOffset(), i, g.Tag, g.Kind, w.Kind)
				}
				if w.Kind == KindScalar && !(g.Scalar == w.Scalar || math.IsNaN(w.Scalar) && math.IsNaN(g.Scalar)) {
					t.Fatalf("record at %d value %d (%q): %v, want %v", r.RecordOffset(), i, g.Tag, g.Scalar, w.Scalar)
				}
				if w.Plugin != "" && g.Plugin != w.Plugin {
					t.Fatalf("record at %d value %d (%q): plugin %q, want %q", r.RecordOffset(), i, g.Tag, g.Plugin, w.Plugin)
				}
				if w.Kind == 0 && w.DType != 0 {
					if g.DType != w.DType || !reflect.DeepEqual(append([]int64{}, g.Shape...), append([]int64{}, w.Shape...)) {
						t.Fatalf("record at %d value %d (%q): dtype %d shape %v, want %d %v", r.RecordOffset(), i, g.Tag, g.DType, g.Shape, w.DType, w.Shape)
					}
				}
				switch w.Kind {
				case KindGraph, KindRunMetadata:
					if !bytes.Equal(g.Blob, w.Blob) {
						t.Fatalf("record at %d: blob differs", r.RecordOffset())
					}
				case KindImage:
					if len(g.Strings) != 3 || !bytes.Equal(g.Strings[2], w.Blob) {
						t.Fatalf("record at %d: image differs", r.RecordOffset())
					}
				case KindAudio:
					if len(g.Strings) != 2 || !bytes.Equal(g.Strings[0], w.Blob) {
						t.Fatalf("record at %d: audio differs", r.RecordOffset())
					}
				}
			}
		}
	}
	t.Logf("%d events, %d values agree", events, values)
	if events < 10000 {
		t.Fatalf("only %d events compared", events)
	}
}
