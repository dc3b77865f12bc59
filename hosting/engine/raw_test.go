package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
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

func TestCutParts(t *testing.T) {
	p := func(key string, off, n int64) rawPart { return rawPart{key: key, off: off, len: n} }
	tests := []struct {
		name  string
		parts []rawPart
		size  int64
		want  string // key:off+len@pos ...
		pos   int64
	}{
		{"abutting parts", []rawPart{p("a", 0, 10), p("b", 10, 10)}, 20, "a:0+10@0 b:10+10@0", 20},
		{"cut at size", []rawPart{p("a", 0, 10), p("b", 10, 10)}, 15, "a:0+10@0 b:10+5@0", 15},
		{"a segment beside its sources ends at the first", []rawPart{p("s", 0, 25), p("b", 10, 10), p("c", 20, 10)}, 30, "s:0+10@0 b:10+10@0 c:20+10@0", 30},
		{"the longer of two at one offset", []rawPart{p("a", 0, 10), p("b", 0, 20)}, 20, "b:0+20@0", 20},
		{"a stale part inside a segment", []rawPart{p("s", 0, 40), p("x", 10, 5), p("c", 40, 10)}, 50, "s:0+10@0 x:10+5@0 s:15+25@15 c:40+10@0", 50},
		{"a hole", []rawPart{p("a", 0, 10), p("c", 20, 10)}, 30, "a:0+10@0", 10},
		{"bytes missing at the end", []rawPart{p("a", 0, 10)}, 30, "a:0+10@0", 10},
		{"an extent", []rawPart{p("a", 0, 10), {key: "batch", off: 10, len: 10, pos: 100, inBatch: true}}, 20, "a:0+10@0 batch:10+10@100", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans, pos := cutParts(tc.parts, tc.size)
			var got []string
			for _, s := range spans {
				got = append(got, fmt.Sprintf("%s:%d+%d@%d", s.key, s.off, s.len, s.pos))
			}
			if strings.Join(got, " ") != tc.want || pos != tc.pos {
				t.Errorf("spans %q to %d; want %q to %d", strings.Join(got, " "), pos, tc.want, tc.pos)
			}
		})
	}
}

// mergingStore merges each part but the first into the first when it is
// opened, as a compaction on another server deleting its sources one by
// one ahead of a reader would, and answers that open as the store would:
// not found.
type mergingStore struct {
	store.Store
	head   string // the first part's key
	merged atomic.Int32
}

func (m *mergingStore) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if m.head == "" || key == m.head || !strings.Contains(key, "/raw/") {
		return m.Store.Open(ctx, key, off)
	}
	head, _, err := m.Store.Get(ctx, m.head)
	if err != nil {
		return nil, err
	}
	part, _, err := m.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := m.Store.Put(ctx, m.head, append(head, part...)); err != nil {
		return nil, err
	}
	if err := m.Store.Delete(ctx, key); err != nil {
		return nil, err
	}
	m.merged.Add(1)
	return nil, kind.Errorf(kind.NotFound, "open %s: no such object", key)
}

// An export behind a compaction that deletes every part it is about to
// read goes on as long as each listing gets it further.
func TestCopyRawFollowsACompaction(t *testing.T) {
	ctx := context.Background()
	var file []byte
	for step := range int64(300) {
		file = tfevents.AppendRecord(file, tfevents.AppendScalarEvent(nil, "loss", step, 1, float64(step)))
	}
	ms := &mergingStore{Store: store.NewMem()}
	e, err := New(Config{Store: ms, FlushInterval: time.Hour, CompactParts: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.CreateBoard(ctx, BoardSpec{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	const parts = 12
	for i := range parts {
		from, to := i*len(file)/parts, (i+1)*len(file)/parts
		if _, err := e.Append(ctx, b.ID, "run", "f", int64(from), file[from:to]); err != nil {
			t.Fatal(err)
		}
	}
	ms.head = rawPartKey(b.ID, "run", "f", 0)
	var out bytes.Buffer
	if err := e.CopyRaw(ctx, &out, b.ID, "run", "f", int64(len(file))); err != nil {
		t.Fatalf("after %d merges: %v", ms.merged.Load(), err)
	}
	if !bytes.Equal(out.Bytes(), file) {
		t.Errorf("export has %d bytes, not the file's %d as uploaded", out.Len(), len(file))
	}
	if n := ms.merged.Load(); n != parts-1 {
		t.Errorf("%d parts merged ahead of the reader; want %d", n, parts-1)
	}
}
