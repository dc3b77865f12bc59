package engine

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/kind"
)

// Batches.
//
// A batch is one request's appends to many files of many runs (a sweep of
// thousands of small runs would otherwise cost a request, a raw object and
// a checkpoint write per file). Its bytes are stored once, as one object,
//
//	boards/<id>/batch/<unix ns:019d>-<random>
//
// holding the request body as it came (decompressed). Each piece's fresh
// bytes become an Extent of its file's state naming the object and the
// position in it, and every run the batch changed is checkpointed before
// the batch is answered, concurrently: the object is durable before any
// checkpoint counts it, and no checkpoint lags behind a batch, so a replay
// never has to look for a batch (a server that dies mid-batch leaves an
// object no checkpoint names, and a client that got no answer sends the
// pieces again). A file's bytes are the union of its parts under
// raw/<run>/<file>/ and its extents, in offset order; per-file parts keep
// their meaning, and a file may have both (small at first, then sent in
// chunks).

// batchRuns bounds the runs of one batch ingested and checkpointed at once:
// ingest takes a core, a checkpoint mostly waits on the store.
const batchRuns = 64

// Piece is one append of a batch: the bytes [Pos, Pos+Len) of the batch
// object are the bytes of (Run, File) from Offset on.
type Piece struct {
	Run, File string
	Offset    int64
	Pos, Len  int64
}

// PieceResult is the answer for one piece: its file's state, or why the
// piece was not applied.
type PieceResult struct {
	*AppendResult
	Err error
}

func batchPrefix(id string) string { return boardPrefix(id) + "batch/" }

// newBatchName names a batch object: time-ordered, unique across servers.
func (s *Engine) newBatchName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("name a batch: %w", err)
	}
	return fmt.Sprintf("%019d-%s", s.now().UnixNano(), hex.EncodeToString(b[:])), nil
}

// errSkipped answers the pieces of a run that follow one that failed: a
// run's values must arrive in order.
func errSkipped(run string) error {
	return kind.Errorf(kind.Conflict, "not applied: an earlier piece of run %q in this batch failed; send it again after that one", run)
}

// AppendBatch stores object (a batch request's body) and applies its
// pieces, as Append would apply each, in order per run; different runs
// are applied concurrently. It returns one result per piece. The error is
// for the batch as a whole (the board is gone, the object could not be
// stored): then no piece was applied.
func (s *Engine) AppendBatch(ctx context.Context, id string, object []byte, pieces []Piece) ([]PieceResult, error) {
	results := make([]PieceResult, len(pieces))
	type runPieces struct {
		run string
		idx []int
	}
	var order []*runPieces
	byRun := map[string]*runPieces{}
	for i := range pieces {
		p := &pieces[i]
		var err error
		if p.Run, err = CleanRun(p.Run); err != nil {
			results[i].Err = err
			continue
		}
		if p.File, err = CleanFile(p.File); err != nil {
			results[i].Err = err
			continue
		}
		switch {
		case p.Offset < 0:
			results[i].Err = kind.Errorf(kind.Invalid, "offset %d is negative", p.Offset)
			continue
		case p.Pos < 0 || p.Len < 0 || p.Pos+p.Len > int64(len(object)):
			results[i].Err = kind.Errorf(kind.Invalid, "piece %d lies outside the batch", i)
			continue
		}
		rp := byRun[p.Run]
		if rp == nil {
			rp = &runPieces{run: p.Run}
			byRun[p.Run] = rp
			order = append(order, rp)
		}
		rp.idx = append(rp.idx, i)
	}
	if len(order) == 0 {
		return results, nil
	}
	if !s.gates.enter(id) {
		return nil, kind.Errorf(kind.NotFound, "board %s not found", id)
	}
	defer s.gates.leave(id)
	if _, err := s.Board(ctx, id); err != nil {
		return nil, err
	}
	name, err := s.newBatchName()
	if err != nil {
		return nil, err
	}
	// The bytes are durable before any checkpoint counts them.
	if err := s.store.Put(ctx, batchPrefix(id)+name, object); err != nil {
		s.storeError("put")
		return nil, fmt.Errorf("store a batch of %d pieces: %w", len(pieces), err)
	}

	sem := make(chan struct{}, batchRuns)
	var wg sync.WaitGroup
	for _, rp := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.batchRun(ctx, id, rp.run, name, object, pieces, rp.idx, results)
		}()
	}
	wg.Wait()
	s.trimWriters()
	return results, nil
}

// batchRun applies the pieces idx (all of one run, in order) and
// checkpoints the run, filling in their results.
func (s *Engine) batchRun(ctx context.Context, id, run, name string, object []byte, pieces []Piece, idx []int, results []PieceResult) {
	key := digestKey(id, run)
	unlock := s.runs.lock(key)
	defer unlock()
	fail := func(idx []int, err error) {
		for n, i := range idx {
			if n == 0 {
				results[i] = PieceResult{Err: err}
			} else {
				results[i] = PieceResult{Err: errSkipped(run)}
			}
		}
	}
	todo := idx
	for attempt := 0; ; attempt++ {
		w, err := s.openWriter(ctx, id, run, key, attempt > 0)
		if err != nil {
			fail(todo, err)
			return
		}
		var applied []int
		for n, i := range todo {
			p := &pieces[i]
			res, err := s.appendPiece(ctx, w, p.File, p.Offset, object[p.Pos:p.Pos+p.Len], name, p.Pos)
			if err != nil {
				if kind.Of(err) == kind.Conflict && attempt == 0 && len(applied) == 0 {
					break // a gap by a stale state: make sure with the stored one
				}
				fail(todo[n:], err)
				break
			}
			results[i] = PieceResult{AppendResult: res}
			applied = append(applied, i)
		}
		if len(applied) == 0 {
			if results[todo[0]].Err == nil && attempt == 0 {
				continue
			}
			return
		}
		// Replays do not look inside batches: checkpoint before answering.
		if err := s.flush(ctx, w); err != nil {
			s.dropWriter(w) // its state counts bytes no checkpoint names
			fail(applied, err)
			return
		}
		// A checkpoint that lost a race with another server's took the
		// stored state, which lacks this batch's extents: apply the pieces
		// it lacks again.
		var lost []int
		for _, i := range applied {
			p := &pieces[i]
			if fs := w.d.Files[p.File]; fs == nil || fs.Size < p.Offset+p.Len {
				lost = append(lost, i)
			}
		}
		if len(lost) == 0 {
			s.arm(w, s.cfg.FlushInterval)
			break
		}
		if attempt == maxConflictRetries {
			fail(lost, kind.Errorf(kind.Unavailable, "run %q is being written by another server at the same time; retry", run))
			return
		}
		todo = lost
	}
	if !s.cache.listed(id, key) {
		s.cache.dropRunList(id)
	}
}

// appendPiece applies the bytes data of file from offset, kept at pos in
// batch object name, to the run of writer w (like appendTo, but the bytes
// are stored already and the caller checkpoints). The caller holds the
// run lock.
func (s *Engine) appendPiece(ctx context.Context, w *runWriter, file string, offset int64, data []byte, name string, pos int64) (*AppendResult, error) {
	fs := w.d.Files[file]
	size := fs.GetSize()
	if offset > size {
		return nil, &kind.Error{Kind: kind.Conflict, Offset: &size,
			Message: fmt.Sprintf("upload gap: the server holds %d bytes of %s/%s, the piece starts at %d; resend from offset %d", size, w.run, file, offset, size)}
	}
	skip := size - offset
	if fs != nil && skip >= int64(len(data)) {
		return resultOf(w.run, file, fs, 0), nil // nothing new: a re-sent range
	}
	fresh := data[skip:]
	if s.cfg.MaxBoardBytes > 0 {
		n, err := s.boardSize(ctx, w.id)
		if err != nil {
			return nil, err
		}
		if n+int64(len(fresh)) > s.cfg.MaxBoardBytes {
			return nil, kind.Errorf(kind.TooLarge, "board %s would hold %d bytes; this server keeps at most %d per board", w.id, n+int64(len(fresh)), s.cfg.MaxBoardBytes)
		}
	}
	w.mu.Lock()
	w.appending.Store(true)
	if w.shared {
		w.d, w.s, w.shared = proto.CloneOf(w.d), w.s.Clone(), false
		fs = w.d.Files[file]
	}
	if fs == nil {
		fs = &hostingpb.FileState{}
		w.d.Files[file] = fs
	}
	warned := len(fs.Warnings)
	values := ingest(w.d, fs, w.s, fresh)
	if len(fresh) > 0 {
		fs.Extents = append(fs.Extents, &hostingpb.Extent{Offset: size, Length: int64(len(fresh)), Batch: name, Pos: pos + skip})
	}
	fs.LastPart = proto.Int64(size)
	s.sizes.add(w.id, int64(len(fresh)))
	fs.Size += int64(len(fresh))
	now := s.now()
	w.d.UpdatedUnixNano = now.UnixNano()
	if w.dirty == 0 {
		w.dirtySince = now
	}
	w.dirty += max(int64(len(fresh)), 1)
	w.used.Store(now.UnixNano())
	w.held.Store(digestBytes(w.d))
	w.size.Store(int64(w.s.SizeBytes()) + int64(len(fs.Pending)))
	w.pubFresh.Store(false)
	res := resultOf(w.run, file, fs, values)
	res.Warnings = append(res.Warnings, fs.Warnings[warned:]...)
	w.appending.Store(false)
	w.mu.Unlock()
	if s.Metrics != nil {
		s.Metrics.Ingested(int64(len(fresh)), values)
	}
	return res, nil
}

// extentParts returns a file's extents below size as raw parts.
func extentParts(id string, fs *hostingpb.FileState, size int64) []rawPart {
	var parts []rawPart
	for _, e := range fs.GetExtents() {
		if e.Offset < size {
			parts = append(parts, rawPart{key: batchPrefix(id) + e.Batch, off: e.Offset, len: e.Length, pos: e.Pos, inBatch: true})
		}
	}
	return parts
}

// readPart reads a raw part's bytes: a part of its own whole, an extent
// from its batch object.
func (s *Engine) readPart(ctx context.Context, p rawPart) ([]byte, error) {
	if !p.inBatch {
		data, _, err := s.store.Get(ctx, p.key)
		if err != nil {
			s.storeError("get")
			return nil, fmt.Errorf("read raw part %s: %w", p.key, err)
		}
		return data, nil
	}
	rc, err := s.store.Open(ctx, p.key, p.pos)
	if err != nil {
		s.storeError("get")
		return nil, fmt.Errorf("open batch %s: %w", p.key, err)
	}
	defer rc.Close()
	data := make([]byte, p.len)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("read %d bytes at %d of batch %s: %w", p.len, p.pos, p.key, err)
	}
	return data, nil
}

// mergeParts merges a file's own parts and its extents, each in offset
// order, into one list in offset order; of two starting at one offset
// (the same bytes stored twice, by a retry) the longer comes last, so
// that trimming each at the next one's offset keeps it.
func mergeParts(own, extents []rawPart) []rawPart {
	if len(extents) == 0 {
		return own
	}
	all := append(append(make([]rawPart, 0, len(own)+len(extents)), own...), extents...)
	slices.SortStableFunc(all, func(a, b rawPart) int {
		if c := cmp.Compare(a.off, b.off); c != 0 {
			return c
		}
		return cmp.Compare(a.len, b.len)
	})
	return all
}

// partsFrom lists the parts of a file (its own and its extents) that may
// hold bytes from the part at offset from on, for replays.
func (s *Engine) partsFrom(ctx context.Context, id, run, file string, fs *hostingpb.FileState, from int64) ([]rawPart, error) {
	prefix := rawFilePrefix(id, run, file)
	objs, err := s.store.List(ctx, prefix, rawPartKey(id, run, file, from))
	if err != nil {
		s.storeError("list")
		return nil, fmt.Errorf("list raw parts of %s/%s: %w", run, file, err)
	}
	var extents []rawPart
	for _, p := range extentParts(id, fs, math.MaxInt64) {
		if p.off+p.len > from {
			extents = append(extents, p)
		}
	}
	return mergeParts(partsOf(objs, prefix), extents), nil
}
