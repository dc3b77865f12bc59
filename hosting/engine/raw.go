package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// rawPart is one stored append of a raw file: an object of its own, or
// an extent of a batch object (batch.go).
type rawPart struct {
	key      string
	off, len int64
	pos      int64 // where the bytes start in the object
	inBatch  bool  // an extent: read len bytes at pos, not the whole object
}

// rawParts lists the parts of (run, file) that make up its first size
// bytes, in offset order, each cut to the bytes it supplies, so that
// parts never overlap; fs is the file's state, which names its extents in
// batch objects (nil: none).
func (s *Engine) rawParts(ctx context.Context, id, run, file string, fs *hostingpb.FileState, size int64) ([]rawPart, error) {
	prefix := rawFilePrefix(id, run, file)
	objs, err := s.store.List(ctx, prefix, "")
	if err != nil {
		s.storeError("list")
		return nil, fmt.Errorf("list raw parts of %s/%s: %w", run, file, err)
	}
	var parts []rawPart
	for _, p := range partsOf(objs, prefix) {
		if p.off < size {
			parts = append(parts, p)
		}
	}
	parts = mergeParts(parts, extentParts(id, fs, size))
	spans, pos := cutParts(parts, size)
	if pos != size {
		for _, p := range parts {
			if p.off > pos {
				return nil, fmt.Errorf("raw file %s/%s: bytes %d to %d are missing from the store", run, file, pos, p.off)
			}
		}
		return nil, fmt.Errorf("raw file %s/%s: the store holds %d of its %d bytes", run, file, pos, size)
	}
	return spans, nil
}

// cutParts cuts parts (in mergeParts order) into the spans that make up
// the file's bytes from 0 on, up to size or the first byte no part holds,
// which it returns. Each part supplies the bytes from its offset to the
// next part's: a part starting inside another one ends it, as the sources
// left beside a segment end it (a segment may hold a torn tail past its
// last whole source, which its sources hold, see compact.go). Bytes after
// a part that no later part holds come from the last earlier part that
// does: a stale server may re-send a part that compaction had merged into
// a segment, and store it again, inside the segment, shorter.
func cutParts(parts []rawPart, size int64) ([]rawPart, int64) {
	var spans []rawPart
	var pos int64
	i := 0 // parts[:i] start at or before pos
	for pos < size {
		for i < len(parts) && parts[i].off <= pos {
			i++
		}
		// The part holding pos that starts last; of two starting at one
		// offset, the longer (mergeParts puts it last).
		from := -1
		for j := i - 1; j >= 0; j-- {
			if parts[j].off+parts[j].len > pos {
				from = j
				break
			}
		}
		if from < 0 {
			break // a hole
		}
		p := parts[from]
		end := min(p.off+p.len, size)
		if i < len(parts) {
			end = min(end, parts[i].off)
		}
		spans = append(spans, rawPart{key: p.key, off: pos, len: end - pos, pos: p.pos + pos - p.off, inBatch: p.inBatch})
		pos = end
	}
	return spans, pos
}

// partsOf picks from objs the raw parts under a file's prefix, in offset
// order, untrimmed.
func partsOf(objs []store.ObjectInfo, prefix string) []rawPart {
	var parts []rawPart
	for _, o := range objs {
		rest, ok := strings.CutPrefix(o.Key, prefix)
		if !ok {
			continue
		}
		off, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			continue
		}
		parts = append(parts, rawPart{key: o.Key, off: off, len: o.Size})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].off < parts[j].off })
	return parts
}

// CopyRaw writes the first size bytes of (run, file) as uploaded to w.
func (s *Engine) CopyRaw(ctx context.Context, w io.Writer, id, run, file string, size int64) error {
	var fs *hostingpb.FileState
	if size > 0 {
		// The run's state names the file's extents in batch objects.
		r, err := s.loadRun(ctx, digestKey(id, run), false)
		if err != nil {
			return err
		}
		fs = r.d.Files[file]
	}
	// A compaction may merge the parts while they are read (and delete
	// those listed): list them again and go on from the bytes written. A
	// compaction under way deletes its sources one by one, so a reader
	// behind it may meet a deleted part again and again, each time
	// further on: only relists that get nowhere are counted.
	var done int64
	for stuck := 0; ; {
		parts, err := s.rawParts(ctx, id, run, file, fs, size)
		if err != nil {
			return err
		}
		before := done
		err = s.copyParts(ctx, w, parts, &done)
		if err == nil || kind.Of(err) != kind.NotFound {
			return err
		}
		if done > before {
			stuck = 0
		} else if stuck++; stuck > maxRelists {
			return err
		}
	}
}

// maxRelists bounds how often in a row a reader lists a file's parts
// again, after a compaction deleted one it had listed, without reading a
// byte more.
const maxRelists = 4

// copyParts writes the bytes of parts from offset *done on to w, and
// moves *done past what it wrote.
func (s *Engine) copyParts(ctx context.Context, w io.Writer, parts []rawPart, done *int64) error {
	for _, p := range parts {
		if p.off+p.len <= *done {
			continue
		}
		skip := max(*done-p.off, 0)
		rc, err := s.store.Open(ctx, p.key, p.pos+skip)
		if err != nil {
			if kind.Of(err) != kind.NotFound {
				s.storeError("get")
			}
			return fmt.Errorf("open %s: %w", p.key, err)
		}
		n, err := io.CopyN(w, rc, p.len-skip)
		rc.Close()
		*done += n
		if err != nil {
			return fmt.Errorf("read %s: %w", p.key, err)
		}
	}
	return nil
}

// Files returns a run's file names in name order (the order they were written).
func (r *Run) Files() []string {
	names := make([]string, 0, len(r.d.Files))
	for n := range r.d.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
