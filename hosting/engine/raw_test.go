package engine

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// compactingStore merges a file's parts into one at the first open of
// a part, as a compaction on another server would, and then
// answers that open as the store would: not found.
type compactingStore struct {
	store.Store
	prefix string
	opens  atomic.Int32 // the open that meets the compaction counts down to 0
}

func (c *compactingStore) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if c.opens.Add(-1) != 0 {
		return c.Store.Open(ctx, key, off)
	}
	objs, err := c.Store.List(ctx, c.prefix, "")
	if err != nil {
		return nil, err
	}
	var seg []byte
	for _, o := range objs {
		data, _, err := c.Store.Get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		seg = append(seg, data...)
	}
	if err := c.Store.Put(ctx, objs[0].Key, seg); err != nil {
		return nil, err
	}
	for _, o := range objs[1:] {
		if err := c.Store.Delete(ctx, o.Key); err != nil {
			return nil, err
		}
	}
	if key != objs[0].Key {
		return nil, kind.Errorf(kind.NotFound, "open %s: no such object", key)
	}
	return c.Store.Open(ctx, key, off)
}

// An export that meets a compaction reads the merged segment from where
// it was and loses no byte.
func TestCopyRawMeetsACompaction(t *testing.T) {
	var file []byte
	for step := range int64(300) {
		file = tfevents.AppendRecord(file, tfevents.AppendScalarEvent(nil, "loss", step, 1, float64(step)))
	}
	third := len(file) / 3
	for _, tt := range []struct {
		name string
		at   int32
	}{{"opening the first part", 1}, {"opening the second part", 2}, {"opening the last part", 3}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cs := &compactingStore{Store: store.NewMem()}
			e, err := New(Config{Store: cs, FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "t"})
			if err != nil {
				t.Fatal(err)
			}
			for _, cut := range [][2]int{{0, third}, {third, 2 * third}, {2 * third, len(file)}} {
				if _, err := e.Append(ctx, b.ID, "run", "f", int64(cut[0]), file[cut[0]:cut[1]]); err != nil {
					t.Fatal(err)
				}
			}
			cs.prefix = rawFilePrefix(b.ID, "run", "f")
			cs.opens.Store(tt.at)
			var out bytes.Buffer
			if err := e.CopyRaw(ctx, &out, b.ID, "run", "f", int64(len(file))); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), file) {
				t.Errorf("export has %d bytes, not the file's %d as uploaded", out.Len(), len(file))
			}
		})
	}
}
