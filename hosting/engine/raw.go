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
// bytes, in offset order, each trimmed so that parts never overlap; fs is
// the file's state, which names its extents in batch objects (nil: none).
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
	var pos int64
	for i := range parts {
		p := &parts[i]
		if p.off != pos {
			return nil, fmt.Errorf("raw file %s/%s: bytes %d to %d are missing from the store", run, file, pos, p.off)
		}
		end := size
		if i+1 < len(parts) {
			end = parts[i+1].off
		}
		p.len = min(p.len, end-p.off)
		pos = p.off + p.len
	}
	if pos != size {
		return nil, fmt.Errorf("raw file %s/%s: the store holds %d of its %d bytes", run, file, pos, size)
	}
	return parts, nil
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
	// those listed): list them again and go on from the bytes written.
	var done int64
	for attempt := 0; ; attempt++ {
		parts, err := s.rawParts(ctx, id, run, file, fs, size)
		if err != nil {
			return err
		}
		err = s.copyParts(ctx, w, parts, &done)
		if err == nil || kind.Of(err) != kind.NotFound || attempt == maxRelists {
			return err
		}
	}
}

// maxRelists bounds how often a reader lists a file's parts again after
// a compaction deleted one it had listed.
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
