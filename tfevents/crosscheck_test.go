package tfevents_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/tfevents"
	"tbhost/tfevents/tfeventspb"
)

// TestDecodeMatchesProtobufGo decodes every record of each corpus with both
// the hand-written decoder and protobuf-go generated code and compares
// them: both must reject the same records, and decode as many events as
// the corpus says its files hold.
func TestDecodeMatchesProtobufGo(t *testing.T) {
	for _, c := range corpora {
		t.Run(c.name, func(t *testing.T) {
			corpus := c.get(t)
			wantEvents := 0
			for _, f := range corpus.Files {
				wantEvents += f.Records
			}
			events, values := crossCheck(t, corpus.ReadFiles(t))
			t.Logf("%d events, %d values agree", events, values)
			if events != wantEvents {
				t.Fatalf("%d events decoded, the corpus' files hold %d", events, wantEvents)
			}
		})
	}
}

func crossCheck(t *testing.T, files [][]byte) (events, values int) {
	for _, f := range files {
		r := tfevents.NewReader(bytes.NewReader(f), tfevents.Options{})
		d := tfevents.NewDecoder(nil)
		for {
			p, err := r.Next()
			if errors.Is(err, tfevents.ErrBadRecord) {
				continue
			}
			if err != nil {
				break
			}
			var ev tfeventspb.Event
			perr := proto.Unmarshal(p, &ev)
			vals, derr := d.Decode(p)
			if (perr != nil) != (derr != nil) {
				t.Fatalf("record at %d: protobuf-go %v, Decode %v", r.RecordOffset(), perr, derr)
			}
			if derr != nil {
				continue // undecodable: a bad record for both
			}
			events++
			var want []tfevents.Value // the fields both can tell
			switch w := ev.What.(type) {
			case *tfeventspb.Event_GraphDef:
				want = append(want, tfevents.Value{Tag: tfevents.GraphTag, Kind: tfevents.KindGraph, Blob: w.GraphDef})
			case *tfeventspb.Event_TaggedRunMetadata:
				want = append(want, tfevents.Value{Tag: string(w.TaggedRunMetadata.Tag), Kind: tfevents.KindRunMetadata, Blob: w.TaggedRunMetadata.RunMetadata})
			case *tfeventspb.Event_SessionLog:
				if w.SessionLog.Status == tfeventspb.SessionLog_START {
					want = append(want, tfevents.Value{Kind: tfevents.KindSessionStart})
				}
			case *tfeventspb.Event_Summary:
				for _, sv := range w.Summary.Value {
					v := tfevents.Value{Tag: string(sv.Tag)}
					switch x := sv.Value.(type) {
					case *tfeventspb.Summary_Value_SimpleValue:
						v.Kind, v.Scalar = tfevents.KindScalar, float64(x.SimpleValue)
					case *tfeventspb.Summary_Value_Histo:
						v.Kind = tfevents.KindHistogram
					case *tfeventspb.Summary_Value_Image:
						v.Kind = tfevents.KindImage
						v.Blob = x.Image.EncodedImageString
					case *tfeventspb.Summary_Value_Audio:
						v.Kind = tfevents.KindAudio
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
				if w.Kind == tfevents.KindScalar && !(g.Scalar == w.Scalar || math.IsNaN(w.Scalar) && math.IsNaN(g.Scalar)) {
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
				case tfevents.KindGraph, tfevents.KindRunMetadata:
					if !bytes.Equal(g.Blob, w.Blob) {
						t.Fatalf("record at %d: blob differs", r.RecordOffset())
					}
				case tfevents.KindImage:
					if len(g.Strings) != 3 || !bytes.Equal(g.Strings[2], w.Blob) {
						t.Fatalf("record at %d: image differs", r.RecordOffset())
					}
				case tfevents.KindAudio:
					if len(g.Strings) != 2 || !bytes.Equal(g.Strings[0], w.Blob) {
						t.Fatalf("record at %d: audio differs", r.RecordOffset())
					}
				}
			}
		}
	}
	return events, values
}
