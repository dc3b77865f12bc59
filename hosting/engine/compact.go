package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// Compaction.
//
// Every append stores a raw part of its own, so a file sent live for a
// week (--watch: an append every 5 s) would hold some 120,000 objects,
// which exports, deletes and listings walk one by one. After a checkpoint,
// a file with about Config.CompactParts parts below it has them merged
// into segments of up to Config.SegmentBytes: a segment is a part like any
// other, at the offset of its first source (its key), holding the bytes of
// all its sources. Readers take parts in offset order, each trimmed at the
// next one's offset, so a segment and the sources it holds read as the
// sources alone did: that is what makes each step safe to stop at.
//
//  1. List the file's parts, with their generations.
//  2. Plan: walk the parts in offset order, up to the checkpointed size
//     only (a replay lists the parts from the checkpoint's last part on,
//     so a segment must hold no byte the checkpoint does not count). A
//     part that abuts the previous one joins its group while the group
//     stays within SegmentBytes; a gap, an overlap or a full group starts
//     a new group. A part whose bytes earlier parts hold already is
//     redundant (a source left by a compaction that stopped, or a part
//     stored twice).
//  3. Delete the redundant parts, in offset order (see deleteParts).
//  4. Merge each group into its first part: Store.Compose (a GCS compose,
//     an append to a file; MaxComposeSources at a time) with generation
//     preconditions on the first part and on every source, then delete
//     the sources with DeleteIf at the generations listed, in offset
//     order, once the segment is durable.
//
// A crash anywhere leaves parts that read as before: a segment beside the
// sources not deleted yet, which follow it without a hole as they are
// deleted in offset order (deleteParts), and which the next pass deletes
// as redundant. Two
// servers compacting one file at once cannot lose bytes: a compose whose
// destination or sources changed since they were listed fails (Conflict),
// and a delete of a part that became another server's segment since does
// nothing, as its generation changed. Compaction runs in the background,
// a few files at a time (compactWorkers), holding no lock: appends go on.

// Defaults of Config.CompactParts and Config.SegmentBytes.
const (
	defaultCompactParts = 32
	defaultSegmentBytes = 64 << 20
	// compactWorkers bounds the files compacted at once by one engine.
	compactWorkers = 2
	// compactTimeout bounds one file's compaction.
	compactTimeout = 10 * time.Minute
	// compactMemo bounds the files whose last look the engine remembers.
	compactMemo = 100_000
)

// compactor tracks the files this engine compacts.
type compactor struct {
	mu    sync.Mutex
	files map[string]*fileLook // by compactKey
	sem   chan struct{}        // compactWorkers slots, made on first use
	wg    sync.WaitGroup       // compactions under way
}

// fileLook is what the compactor remembers of a file.
type fileLook struct {
	looked int64 // checkpointed size when it last listed the file's parts
	busy   bool  // a compaction of the file is under way
}

func compactKey(runKey, file string) string { return runKey + "\x00" + file }

func (s *Engine) compactParts() int {
	if s.cfg.CompactParts == 0 {
		return defaultCompactParts
	}
	return s.cfg.CompactParts
}

func (s *Engine) segmentBytes() int64 {
	if s.cfg.SegmentBytes <= 0 {
		return defaultSegmentBytes
	}
	return s.cfg.SegmentBytes
}

// compactAfterCheckpoint starts, in the background, the compaction of
// the files of w that have about CompactParts parts below the checkpoint
// just written since the compactor last looked at them. It counts no
// parts (that would take a listing per checkpoint): the length of a
// file's last part, its size less LastPart, stands for the length of its
// parts since the last look. A misjudged file costs one listing too many,
// or is merged at the next checkpoint. The caller holds the run lock.
func (s *Engine) compactAfterCheckpoint(w *runWriter) {
	n := s.compactParts()
	if n < 0 {
		return
	}
	for name, fs := range w.d.Files {
		if fs.LastPart == nil {
			continue // no part of its own yet
		}
		size, last := fs.Size, max(fs.Size-fs.GetLastPart(), 1)
		key := compactKey(w.key, name)
		s.compact.mu.Lock()
		if s.compact.files == nil {
			s.compact.files = map[string]*fileLook{}
			s.compact.sem = make(chan struct{}, compactWorkers)
		}
		f := s.compact.files[key]
		looked := int64(0)
		if f != nil {
			looked = f.looked
		}
		due := (f == nil || !f.busy) && (size-looked)/last >= int64(n)
		if due {
			if f == nil {
				if len(s.compact.files) >= compactMemo {
					s.compact.forget()
				}
				f = &fileLook{}
				s.compact.files[key] = f
			}
			f.busy = true
			s.compact.wg.Add(1)
		}
		s.compact.mu.Unlock()
		if due {
			go s.compactInBackground(key, w.id, w.run, name, size)
		}
	}
}

// forget drops the files not being compacted; the caller holds c.mu.
// A file forgotten is listed once more at its next checkpoint.
func (c *compactor) forget() {
	for k, f := range c.files {
		if !f.busy {
			delete(c.files, k)
		}
	}
}

// compactInBackground compacts a file below size, its checkpointed size.
func (s *Engine) compactInBackground(key, id, run, file string, size int64) {
	defer s.compact.wg.Done()
	s.compact.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), compactTimeout)
	st, err := s.compactFile(ctx, id, run, file, size)
	cancel()
	<-s.compact.sem
	s.compact.mu.Lock()
	if f := s.compact.files[key]; f != nil {
		f.looked, f.busy = size, false
	}
	s.compact.mu.Unlock()
	switch {
	case kind.Of(err) == kind.Conflict:
		// Another server is merging the same parts, or appends rewrote
		// one: what is left is merged at a later checkpoint.
		s.log.Debug("compaction stopped by a concurrent write", "run", run, "file", file, "err", err)
	case err != nil:
		s.log.Warn("compaction failed; retrying later", "run", run, "file", file, "err", err)
	default:
		s.log.Debug("compacted", "run", run, "file", file, "composes", st.composes, "deleted", st.deleted, "objects", st.objects)
	}
}

// waitCompactions waits for the compactions under way (for tests).
func (s *Engine) waitCompactions() { s.compact.wg.Wait() }

// storedPart is a raw part as listed: its key, offset, size and
// generation.
type storedPart struct {
	key           string
	off, len, gen int64
}

func (p storedPart) end() int64 { return p.off + p.len }

func (p storedPart) source() store.Source { return store.Source{Key: p.key, Gen: p.gen} }

// compactStats counts what one compaction did.
type compactStats struct {
	composes, deleted int
	objects           int // parts left
}

// compactFile merges the parts of (run, file) below counted, the size its
// stored checkpoint counts, into segments (see Compaction above).
func (s *Engine) compactFile(ctx context.Context, id, run, file string, counted int64) (compactStats, error) {
	var st compactStats
	prefix := rawFilePrefix(id, run, file)
	objs, err := s.store.List(ctx, prefix, "")
	if err != nil {
		s.storeError("list")
		return st, fmt.Errorf("list raw parts of %s/%s: %w", run, file, err)
	}
	parts := listedParts(objs, prefix)
	st.objects = len(parts)
	groups, redundant := planCompaction(parts, counted, s.segmentBytes())
	// The redundant parts go first: a source left beside a segment ends
	// where the segment did, so deleting the parts merged into it since
	// would leave a hole after that source.
	if err := s.deleteParts(ctx, redundant, &st); err != nil {
		return st, err
	}
	for _, g := range groups {
		if err := s.mergeGroup(ctx, g, &st); err != nil {
			return st, err
		}
	}
	st.objects -= st.deleted
	return st, nil
}

// listedParts picks from objs the raw parts under a file's prefix, in
// offset order.
func listedParts(objs []store.ObjectInfo, prefix string) []storedPart {
	var parts []storedPart
	for _, o := range objs {
		rest, ok := strings.CutPrefix(o.Key, prefix)
		if !ok {
			continue
		}
		off, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			continue // the file's name object
		}
		parts = append(parts, storedPart{key: o.Key, off: off, len: o.Size, gen: o.Gen})
	}
	slices.SortFunc(parts, func(a, b storedPart) int { return cmp.Compare(a.off, b.off) })
	return parts
}

// planCompaction groups the parts (in offset order) that lie below
// counted into runs of abutting parts of at most segment bytes from the
// first part's offset, and picks the parts whose bytes earlier parts hold.
// It returns the groups of two parts or more.
func planCompaction(parts []storedPart, counted, segment int64) (groups [][]storedPart, redundant []storedPart) {
	var group []storedPart
	var reach int64 // the parts so far hold the bytes below reach
	for _, p := range parts {
		if p.end() > counted {
			break // bytes the checkpoint does not count, or past them
		}
		switch {
		case p.end() <= reach:
			redundant = append(redundant, p)
			continue
		case len(group) > 0 && p.off == reach && p.end()-group[0].off <= segment:
			group = append(group, p)
		default: // a gap, an overlap, or a full segment
			if len(group) > 1 {
				groups = append(groups, group)
			}
			group = []storedPart{p}
		}
		reach = p.end()
	}
	if len(group) > 1 {
		groups = append(groups, group)
	}
	return groups, redundant
}

// mergeGroup merges a group of abutting parts into its first one,
// MaxComposeSources at a time, deleting each batch of sources once the
// segment holding them is written.
func (s *Engine) mergeGroup(ctx context.Context, group []storedPart, st *compactStats) error {
	head, rest := group[0], group[1:]
	for len(rest) > 0 {
		batch := rest[:min(len(rest), store.MaxComposeSources-1)]
		srcs := make([]store.Source, 0, len(batch)+1)
		srcs = append(srcs, head.source())
		for _, p := range batch {
			srcs = append(srcs, p.source())
		}
		gen, err := store.Compose(ctx, s.store, head.key, head.gen, srcs)
		if err != nil {
			if kind.Of(err) != kind.Conflict && kind.Of(err) != kind.NotFound {
				s.storeError("put")
			}
			return fmt.Errorf("merge raw parts into %s: %w", head.key, err)
		}
		st.composes++
		head.gen, head.len = gen, head.len+sumLen(batch)
		if err := s.deleteParts(ctx, batch, st); err != nil {
			return err
		}
		rest = rest[len(batch):]
	}
	return nil
}

// deleteParts deletes parts whose bytes other parts hold, those still at
// the generation listed, one at a time in offset order. The order is what
// keeps a stop between two deletes safe: readers trim each part at the
// next one's offset, so the sources left beside a segment must follow it
// without a hole (a segment, its third source and its fifth would read as
// the segment's bytes up to the third source, the third, then nothing
// until the fifth). Servers deleting at once keep the order too, as each
// deletes a prefix of the same parts.
func (s *Engine) deleteParts(ctx context.Context, parts []storedPart, st *compactStats) error {
	for _, p := range parts {
		if err := store.DeleteIf(ctx, s.store, p.key, p.gen); err != nil {
			s.storeError("delete")
			return fmt.Errorf("delete merged raw part %s: %w", p.key, err)
		}
		st.deleted++
	}
	return nil
}

func sumLen(parts []storedPart) int64 {
	var n int64
	for _, p := range parts {
		n += p.len
	}
	return n
}
