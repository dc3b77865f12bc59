package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/kind"
	"tbhost/sampler"
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
// position in it. A file's bytes are the union of its parts under
// raw/<run>/<file>/ and its extents, in offset order; per-file parts keep
// their meaning, and a file may have both (small at first, then sent in
// chunks).
//
// A batch is answered once two objects are durable, whatever the number
// of runs it names: the batch object, and beside it a pending marker
//
//	boards/<id>/pending/<batch name>
//
// listing the extents the batch's pieces became (run, file, offset,
// length, position in the object) and the batch's time. The runs'
// checkpoints are written after the answer, in the background (settle),
// and the marker is deleted once every run it names has a checkpoint that
// counts its extents. Until then the marker stands for those checkpoints:
// the board's run listing names its runs (runKeys), and loading a run
// replays its pending extents past the checkpoint, or with no checkpoint
// at all, recording them as extents as the live append did (replay), so
// the run reads the same on every server, and after a crash. A crash after
// the answer loses nothing: whoever lists the board later finishes the
// marker's checkpoints (settleIdle), and a marker whose runs are all
// checkpointed is deleted by whoever notices. A graceful shutdown
// (Flush) settles this server's own markers first (settleOwn). A crash before the marker
// is durable leaves a batch object nothing names, and a client that got
// no answer sends the pieces again.

// batchRuns bounds the runs of one batch ingested at once, and the runs
// one engine checkpoints at once in the background: ingest takes a core,
// a checkpoint mostly waits on the store (more in flight share journal
// commits on a local disk).
const batchRuns = 64

// settleYield is how long at most a settle waits for this engine's
// batches in flight to be answered before it writes its checkpoints: a
// sweep's batches come back to back, and checkpoints written meanwhile
// would contend with them for the disk and the cores.
const settleYield = 5 * time.Second

// settleGrace is how old another server's pending marker must be before
// this one finishes its checkpoints, on a store servers share: the server
// that wrote it is normally at it. (Two servers settling one marker only
// duplicate work: checkpoints merge, deletes are idempotent.)
const settleGrace = time.Minute

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

func batchPrefix(id string) string   { return boardPrefix(id) + "batch/" }
func pendingPrefix(id string) string { return boardPrefix(id) + "pending/" }

// newBatchName names a batch object: time-ordered, unique across servers.
func newBatchName(t time.Time) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("name a batch: %w", err)
	}
	return fmt.Sprintf("%019d-%s", t.UnixNano(), hex.EncodeToString(b[:])), nil
}

// errSkipped answers the pieces of a run that follow one that failed: a
// run's values must arrive in order.
func errSkipped(run string) error {
	return kind.Errorf(kind.Conflict, "not applied: an earlier piece of run %q in this batch failed; send it again after that one", run)
}

// batchRun is the pieces of one run in a batch, and what applying them
// made.
type batchRun struct {
	run, key string
	idx      []int         // the run's pieces, in batch order
	w        *runWriter    // the writer they went to (nil: none applied)
	applied  []markerEntry // the extents (and new empty files) they made
}

// AppendBatch stores object (a batch request's body) and applies its
// pieces, as Append would apply each, in order per run; different runs
// are applied concurrently. It returns one result per piece once the
// batch object and its pending marker are durable; the runs' checkpoints
// follow in the background. The error is for the batch as a whole (the
// board is gone, the object or the marker could not be stored): then no
// piece was applied.
func (s *Engine) AppendBatch(ctx context.Context, id string, object []byte, pieces []Piece) ([]PieceResult, error) {
	results := make([]PieceResult, len(pieces))
	var order []*batchRun
	byRun := map[string]*batchRun{}
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
		br := byRun[p.Run]
		if br == nil {
			br = &batchRun{run: p.Run, key: digestKey(id, p.Run)}
			byRun[p.Run] = br
			order = append(order, br)
		}
		br.idx = append(br.idx, i)
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
	s.batches.enter()
	left := false
	leave := func() {
		if !left {
			left = true
			s.batches.leave()
		}
	}
	defer leave()
	now := s.now()
	name, err := newBatchName(now)
	if err != nil {
		return nil, err
	}
	// The object is stored while the pieces are parsed; the marker, which
	// names what they became, only once the object is durable.
	stored := make(chan error, 1)
	go func() { stored <- s.store.Put(ctx, batchPrefix(id)+name, object) }()

	// The batch's runs stay locked until the marker is durable: no other
	// append may build on bytes the store may yet lack. Locks are taken
	// in key order, so that batches sharing runs cannot deadlock.
	locked := slices.Clone(order)
	slices.SortFunc(locked, func(a, b *batchRun) int { return cmp.Compare(a.key, b.key) })
	unlocks := make([]func(), 0, len(locked))
	for _, br := range locked {
		unlocks = append(unlocks, s.runs.lock(br.key))
	}
	unlockAll := func() {
		for _, u := range unlocks {
			u()
		}
	}

	sem := make(chan struct{}, batchRuns)
	var wg sync.WaitGroup
	for _, br := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.applyRun(ctx, id, br, name, now, object, pieces, results)
		}()
	}
	wg.Wait()

	m := &marker{name: name, unixNano: now.UnixNano()}
	for _, br := range order {
		m.entries = append(m.entries, br.applied...)
	}
	err = <-stored
	if err != nil {
		s.storeError("put")
		err = fmt.Errorf("store a batch of %d pieces: %w", len(pieces), err)
	} else if len(m.entries) > 0 {
		if err = s.store.Put(ctx, pendingPrefix(id)+name, encodeMarker(m)); err != nil {
			s.storeError("put")
			err = fmt.Errorf("store the pending marker of a batch of %d pieces: %w", len(pieces), err)
		}
	}
	if err != nil {
		for _, br := range order {
			if br.w != nil && len(br.applied) > 0 {
				s.dropWriter(br.w) // its state counts bytes no stored object names
			}
		}
		unlockAll()
		return nil, err
	}
	if len(m.entries) > 0 {
		s.batches.add(s, id, m, true)
	}
	// (The writers' timers are armed by their settle: thousands of timers
	// flushing at once would contend with it and with the next batches.)
	unlockAll()
	leave()
	if len(m.entries) > 0 {
		if !s.batches.syncSettle {
			s.startSettle(id, name)
		} else if done := s.claimSettle(id, name); done != nil {
			s.settle(id, name, done)
		}
	}
	s.trimWriters()
	return results, nil
}

// applyRun applies the pieces of one run of a batch, in order, filling in
// their results and br's writer and entries. The caller holds the run lock.
func (s *Engine) applyRun(ctx context.Context, id string, br *batchRun, name string, now time.Time, object []byte, pieces []Piece, results []PieceResult) {
	fail := func(idx []int, err error) {
		for n, i := range idx {
			if n == 0 {
				results[i] = PieceResult{Err: err}
			} else {
				results[i] = PieceResult{Err: errSkipped(br.run)}
			}
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		w, err := s.openWriter(ctx, id, br.run, br.key, attempt > 0)
		if err != nil {
			fail(br.idx, err)
			return
		}
		br.w = w
		for n, i := range br.idx {
			p := &pieces[i]
			res, e, err := s.appendPiece(ctx, w, p.File, p.Offset, object[p.Pos:p.Pos+p.Len], name, p.Pos, now)
			if err != nil {
				if kind.Of(err) == kind.Conflict && attempt == 0 && n == 0 {
					break // a gap by a stale state: make sure with the stored one
				}
				fail(br.idx[n:], err)
				return
			}
			results[i] = PieceResult{AppendResult: res}
			if e != nil {
				br.applied = append(br.applied, *e)
			}
			if n == len(br.idx)-1 {
				return
			}
		}
	}
}

// appendPiece applies the bytes data of file from offset, kept at pos in
// batch object name, to the run of writer w (like appendTo, but the bytes
// are stored already and the caller writes the pending marker). It
// returns the marker entry the piece became (nil: nothing new). The
// caller holds the run lock.
func (s *Engine) appendPiece(ctx context.Context, w *runWriter, file string, offset int64, data []byte, name string, pos int64, now time.Time) (*AppendResult, *markerEntry, error) {
	fs := w.d.Files[file]
	size := fs.GetSize()
	if offset > size {
		return nil, nil, &kind.Error{Kind: kind.Conflict, Offset: &size,
			Message: fmt.Sprintf("upload gap: the server holds %d bytes of %s/%s, the piece starts at %d; resend from offset %d", size, w.run, file, offset, size)}
	}
	skip := size - offset
	if fs != nil && skip >= int64(len(data)) {
		return resultOf(w.run, file, fs, 0), nil, nil // nothing new: a re-sent range
	}
	fresh := data[skip:]
	if s.cfg.MaxBoardBytes > 0 {
		n, err := s.boardSize(ctx, w.id)
		if err != nil {
			return nil, nil, err
		}
		if n+int64(len(fresh)) > s.cfg.MaxBoardBytes {
			return nil, nil, kind.Errorf(kind.TooLarge, "board %s would hold %d bytes; this server keeps at most %d per board", w.id, n+int64(len(fresh)), s.cfg.MaxBoardBytes)
		}
	}
	e := &markerEntry{run: w.run, file: file, offset: size, length: int64(len(fresh)), pos: pos + skip}
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
	values := applyExtent(w.d, fs, w.s, name, e, fresh, now.UnixNano())
	s.sizes.add(w.id, int64(len(fresh)))
	if w.dirty == 0 {
		w.dirtySince = now
	}
	w.dirty += max(int64(len(fresh)), 1)
	w.used.Store(s.now().UnixNano())
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
	return res, e, nil
}

// applyExtent parses fresh, the bytes of marker entry e of batch name
// (fs.Size is e.offset), into the run's state and records them as an
// extent of the file: the one step a live batch append and a replay of
// its pending marker share, so both make the same state. It returns the
// values parsed.
func applyExtent(d *hostingpb.Digest, fs *hostingpb.FileState, sr *sampler.Run, name string, e *markerEntry, fresh []byte, unixNano int64) int64 {
	values := ingest(d, fs, sr, fresh)
	if len(fresh) > 0 {
		fs.Extents = append(fs.Extents, &hostingpb.Extent{Offset: e.offset, Length: e.length, Batch: name, Pos: e.pos})
	}
	fs.LastPart = proto.Int64(e.offset)
	fs.Size += int64(len(fresh))
	d.UpdatedUnixNano = max(d.UpdatedUnixNano, unixNano)
	return values
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
			if kind.Of(err) != kind.NotFound { // (merged by a compaction: the replay lists again)
				s.storeError("get")
			}
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

// Pending markers.

// markerMagic starts an encoded pending marker.
const markerMagic = "TBP1"

// marker is a pending marker: the extents a batch's pieces became, whose
// runs may lack checkpoints that count them.
type marker struct {
	name     string // the batch's name: of its object and of the marker
	unixNano int64  // the batch's time (Digest.updated_unix_nano)
	entries  []markerEntry
}

// markerEntry is one piece of a batch as applied: the bytes [offset,
// offset+length) of (run, file) are the bytes [pos, pos+length) of the
// batch object. Length 0 is a new, empty file.
type markerEntry struct {
	run, file           string
	offset, length, pos int64
}

// encodeMarker encodes m: "TBP1", the uvarint time, then per entry the
// uvarint-prefixed run and file names and the uvarint offset, length and
// position (its name is its key's).
func encodeMarker(m *marker) []byte {
	b := make([]byte, 0, 16+len(m.entries)*64)
	b = append(b, markerMagic...)
	b = binary.AppendUvarint(b, uint64(m.unixNano))
	for _, e := range m.entries {
		b = binary.AppendUvarint(b, uint64(len(e.run)))
		b = append(b, e.run...)
		b = binary.AppendUvarint(b, uint64(len(e.file)))
		b = append(b, e.file...)
		b = binary.AppendUvarint(b, uint64(e.offset))
		b = binary.AppendUvarint(b, uint64(e.length))
		b = binary.AppendUvarint(b, uint64(e.pos))
	}
	return b
}

// decodeMarker decodes the marker of batch name.
func decodeMarker(name string, b []byte) (*marker, error) {
	rest, ok := bytes.CutPrefix(b, []byte(markerMagic))
	if !ok {
		return nil, fmt.Errorf("pending marker %s: not a marker", name)
	}
	m := &marker{name: name}
	num := func() (int64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > math.MaxInt64 {
			return 0, false
		}
		rest = rest[n:]
		return int64(v), true
	}
	str := func() (string, bool) {
		l, ok := num()
		if !ok || l > int64(len(rest)) {
			return "", false
		}
		s := string(rest[:l])
		rest = rest[l:]
		return s, true
	}
	t, ok := num()
	if !ok {
		return nil, fmt.Errorf("pending marker %s: cut short", name)
	}
	m.unixNano = t
	for len(rest) > 0 {
		var e markerEntry
		var ok1, ok2, ok3, ok4, ok5 bool
		e.run, ok1 = str()
		e.file, ok2 = str()
		e.offset, ok3 = num()
		e.length, ok4 = num()
		e.pos, ok5 = num()
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return nil, fmt.Errorf("pending marker %s: entry %d is cut short", name, len(m.entries))
		}
		m.entries = append(m.entries, e)
	}
	return m, nil
}

// pendingPiece is a marker entry as a run's replay takes it.
type pendingPiece struct {
	batch    string
	unixNano int64
	markerEntry
}

// pendingRun is what a board's markers hold for one run.
type pendingRun struct {
	run    string
	pieces []pendingPiece // in marker (time) order, then batch order
}

// pendingBoard is a board's pending markers, as this server knows them.
type pendingBoard struct {
	loaded  time.Time          // when the store's markers were last listed (zero: never)
	markers map[string]*marker // by name
	own     map[string]bool    // written here and not deleted yet: kept whatever a listing says
	runs    map[string]*pendingRun
}

// maxPendingBoards bounds the boards whose markers an engine remembers
// when they have none (each costs a listing to learn again).
const maxPendingBoards = 100_000

// batchState is what an engine keeps of batches: each board's pending
// markers, and the markers it is settling.
type batchState struct {
	mu       sync.Mutex
	boards   map[string]*pendingBoard
	settling map[string]chan struct{} // "<id>/<name>" of markers being settled here: closed when done
	sem      chan struct{}            // batchRuns checkpoints at once, made on first use
	active   int                      // batches being applied and stored
	quiet    chan struct{}            // closed while active is 0 (nil: never busy yet)

	// For tests: syncSettle settles before answering (the checkpoints then
	// precede the answer, as before markers); hold, when set, is waited on
	// by every settle before it starts.
	syncSettle bool
	hold       chan struct{}
}

// enter counts a batch in flight.
func (b *batchState) enter() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == 0 {
		b.quiet = make(chan struct{})
	}
	b.active++
}

// leave counts a batch answered.
func (b *batchState) leave() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active--; b.active == 0 {
		close(b.quiet)
	}
}

// waitQuiet waits until no batch is in flight, or until deadline.
func (b *batchState) waitQuiet(deadline time.Time) {
	b.mu.Lock()
	quiet := b.quiet
	b.mu.Unlock()
	if quiet == nil {
		return
	}
	select {
	case <-quiet:
		return
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-quiet:
	case <-t.C:
	}
}

// board returns the entry of board id, made if need be. The caller holds mu.
func (b *batchState) board(id string) *pendingBoard {
	if b.boards == nil {
		b.boards = map[string]*pendingBoard{}
		b.settling = map[string]chan struct{}{}
	}
	pb := b.boards[id]
	if pb == nil {
		if len(b.boards) >= maxPendingBoards {
			for k, v := range b.boards {
				if len(v.markers) == 0 {
					delete(b.boards, k) // listed again on its next use
				}
			}
		}
		pb = &pendingBoard{markers: map[string]*marker{}, own: map[string]bool{}, runs: map[string]*pendingRun{}}
		b.boards[id] = pb
	}
	return pb
}

// add records marker m of board id (own: written by this server).
func (b *batchState) add(s *Engine, id string, m *marker, own bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pb := b.board(id)
	if own {
		pb.own[m.name] = true
	}
	if pb.markers[m.name] != nil {
		return
	}
	pb.markers[m.name] = m
	later := false // a marker older than one known: runs' pieces must be sorted again
	for _, e := range m.entries {
		key := digestKey(id, e.run)
		pr := pb.runs[key]
		if pr == nil {
			pr = &pendingRun{run: e.run}
			pb.runs[key] = pr
		}
		if n := len(pr.pieces); n > 0 && pr.pieces[n-1].batch > m.name {
			later = true
		}
		pr.pieces = append(pr.pieces, pendingPiece{batch: m.name, unixNano: m.unixNano, markerEntry: e})
	}
	if later {
		for _, e := range m.entries {
			pr := pb.runs[digestKey(id, e.run)]
			sorted := slices.Clone(pr.pieces) // readers may hold the old slice
			slices.SortStableFunc(sorted, func(a, b pendingPiece) int { return cmp.Compare(a.batch, b.batch) })
			pr.pieces = sorted
		}
	}
}

// remove forgets marker name of board id.
func (b *batchState) remove(id, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pb := b.boards[id]
	if pb == nil || pb.markers[name] == nil {
		return
	}
	m := pb.markers[name]
	delete(pb.markers, name)
	delete(pb.own, name)
	for _, e := range m.entries {
		key := digestKey(id, e.run)
		pr := pb.runs[key]
		if pr == nil {
			continue
		}
		kept := make([]pendingPiece, 0, len(pr.pieces)) // readers may hold the old slice
		for _, p := range pr.pieces {
			if p.batch != name {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(pb.runs, key)
		} else {
			pr.pieces = kept
		}
	}
}

// forget drops what is known of board id's markers (the board is gone).
func (b *batchState) forget(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.boards, id)
}

// loadPending brings what this server knows of board id's markers up to
// date: it lists them from the store when it has not yet, or (on a store
// servers share) when its list is older than the cache TTL, reading the
// markers it does not know and forgetting those another server deleted.
func (s *Engine) loadPending(ctx context.Context, id string) error {
	b := &s.batches
	b.mu.Lock()
	pb := b.board(id)
	fresh := !pb.loaded.IsZero() && s.cache.fresh(pb.loaded, s.now())
	b.mu.Unlock()
	if fresh {
		return nil
	}
	_, err, _ := s.loads.Do("pending:"+id, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		started := s.now()
		prefix := pendingPrefix(id)
		objs, err := s.store.List(lctx, prefix, "")
		if err != nil {
			s.storeError("list")
			return nil, fmt.Errorf("list pending batches of board %s: %w", id, err)
		}
		listed := map[string]bool{}
		for _, o := range objs {
			name := strings.TrimPrefix(o.Key, prefix)
			listed[name] = true
			b.mu.Lock()
			known := b.board(id).markers[name] != nil
			b.mu.Unlock()
			if known {
				continue
			}
			raw, _, err := s.store.Get(lctx, o.Key)
			if kind.Of(err) == kind.NotFound {
				continue // settled since it was listed
			}
			if err != nil {
				s.storeError("get")
				return nil, fmt.Errorf("read pending marker %s: %w", o.Key, err)
			}
			m, err := decodeMarker(name, raw)
			if err != nil {
				return nil, err
			}
			b.add(s, id, m, false)
		}
		b.mu.Lock()
		pb := b.board(id)
		var gone []string
		for name := range pb.markers {
			if !listed[name] && !pb.own[name] {
				gone = append(gone, name)
			}
		}
		pb.loaded = started
		b.mu.Unlock()
		for _, name := range gone {
			// Another server settled it: its runs are in the digest
			// listing now, which may be older than that.
			b.remove(id, name)
			s.cache.dropRunList(id)
		}
		return nil, nil
	})
	return err
}

// pendingOf returns the pending pieces of the run at key (nil: none).
func (s *Engine) pendingOf(ctx context.Context, key string) (*pendingRun, error) {
	id := boardOfKey(key)
	if err := s.loadPending(ctx, id); err != nil {
		return nil, err
	}
	b := &s.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	pr := b.board(id).runs[key]
	if pr == nil {
		return nil, nil
	}
	return &pendingRun{run: pr.run, pieces: pr.pieces}, nil
}

// pendingKeys returns the digest keys of board id's runs that pending
// markers name, and starts settling the markers nobody is settling (see
// settleIdle).
func (s *Engine) pendingKeys(ctx context.Context, id string) ([]string, error) {
	if err := s.loadPending(ctx, id); err != nil {
		return nil, err
	}
	b := &s.batches
	b.mu.Lock()
	pb := b.board(id)
	keys := slices.Collect(maps.Keys(pb.runs))
	var idle []string
	for name := range pb.markers {
		if b.settling[id+"/"+name] != nil {
			continue
		}
		t, err := strconv.ParseInt(name[:min(len(name), 19)], 10, 64)
		if pb.own[name] || !s.Shared() || err != nil || s.now().Sub(time.Unix(0, t)) >= settleGrace {
			idle = append(idle, name)
		}
	}
	b.mu.Unlock()
	for _, name := range idle {
		s.startSettle(id, name)
	}
	return keys, nil
}

// startSettle settles marker name of board id in the background, unless
// this server is at it already.
func (s *Engine) startSettle(id, name string) {
	if done := s.claimSettle(id, name); done != nil {
		go func() {
			if h := s.batches.hold; h != nil {
				<-h
			}
			s.settle(id, name, done)
		}()
	}
}

// claimSettle marks marker name of board id as being settled by the
// caller and returns the channel to close when done; nil when this server
// is settling it already.
func (s *Engine) claimSettle(id, name string) chan struct{} {
	b := &s.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	b.board(id)
	if b.settling[id+"/"+name] != nil {
		return nil
	}
	done := make(chan struct{})
	b.settling[id+"/"+name] = done
	return done
}

// settle writes the checkpoints of the runs pending marker name of board
// id names, at most batchRuns at once, and deletes the marker once each
// counts the marker's extents; then it closes done. When a checkpoint
// fails the marker stays: the writer's timer tries the checkpoint again,
// and the next listing of the board settles the marker again.
func (s *Engine) settle(id, name string, done chan struct{}) {
	b := &s.batches
	defer func() {
		b.mu.Lock()
		delete(b.settling, id+"/"+name)
		b.mu.Unlock()
		close(done)
	}()
	b.mu.Lock()
	m := b.board(id).markers[name]
	b.mu.Unlock()
	if m == nil {
		return
	}
	byRun := map[string][]markerEntry{}
	var runs []string
	for _, e := range m.entries {
		if byRun[e.run] == nil {
			runs = append(runs, e.run)
		}
		byRun[e.run] = append(byRun[e.run], e)
	}
	s.settleOnce(id, name, runs, byRun)
}

// SettleBoard writes the checkpoints pending batches of board id still
// lack, and deletes their markers; it waits for those this server is
// settling already. It returns an error when a marker remains (a
// checkpoint or the marker's delete failed: calling it again tries
// again). Batches are answered before their runs' checkpoints are
// written; this is for tests, and for whoever wants them written now.
func (s *Engine) SettleBoard(ctx context.Context, id string) error {
	if err := s.loadPending(ctx, id); err != nil {
		return err
	}
	b := &s.batches
	b.mu.Lock()
	names := slices.Sorted(maps.Keys(b.board(id).markers))
	b.mu.Unlock()
	if err := s.settleMarkers(ctx, id, names); err != nil {
		return err
	}
	b.mu.Lock()
	left := len(b.board(id).markers)
	b.mu.Unlock()
	if left > 0 {
		return kind.Errorf(kind.Unavailable, "board %s: %d batches still lack checkpoints; try again", id, left)
	}
	return nil
}

// settleOwn settles the pending markers this server wrote and has not
// deleted yet (those whose background settle failed, or is under way:
// it waits for those), so that a graceful shutdown (Flush) leaves none
// for the next listing of their boards to settle. It returns an error
// when a marker remains; its runs' checkpoints are then written by the
// next listing of the board, on any server.
func (s *Engine) settleOwn(ctx context.Context) error {
	b := &s.batches
	own := map[string][]string{}
	b.mu.Lock()
	for id, pb := range b.boards {
		for name := range pb.own {
			own[id] = append(own[id], name)
		}
	}
	b.mu.Unlock()
	for id, names := range own {
		slices.Sort(names)
		if err := s.settleMarkers(ctx, id, names); err != nil {
			return err
		}
	}
	left := 0
	b.mu.Lock()
	for id := range own {
		if pb := b.boards[id]; pb != nil {
			left += len(pb.own)
		}
	}
	b.mu.Unlock()
	if left > 0 {
		return kind.Errorf(kind.Unavailable, "%d pending batches still lack checkpoints; the next listing of their boards settles them", left)
	}
	return nil
}

// settleMarkers settles markers names of board id in turn (see settle),
// or waits for those this server is settling already.
func (s *Engine) settleMarkers(ctx context.Context, id string, names []string) error {
	b := &s.batches
	for _, name := range names {
		if done := s.claimSettle(id, name); done != nil {
			s.settle(id, name, done)
			continue
		}
		b.mu.Lock()
		done := b.settling[id+"/"+name]
		b.mu.Unlock()
		if done != nil {
			select {
			case <-done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// settleOnce settles a marker once: true when the marker is deleted,
// gone when its board is.
func (s *Engine) settleOnce(id, name string, runs []string, byRun map[string][]markerEntry) (ok, gone bool) {
	if !s.gates.enter(id) {
		return false, true // a delete is under way: it deletes the marker
	}
	defer s.gates.leave(id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := s.Board(ctx, id); kind.Of(err) == kind.NotFound {
		s.batches.forget(id)
		return false, true
	}
	b := &s.batches
	b.mu.Lock()
	if b.sem == nil {
		b.sem = make(chan struct{}, batchRuns)
	}
	sem := b.sem
	b.mu.Unlock()
	var failed atomic.Bool
	var wg sync.WaitGroup
	yield := time.Now().Add(settleYield) // a real-time wait: no engine clock
	for _, run := range runs {
		b.waitQuiet(yield)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.checkpointPending(ctx, id, run, byRun[run]); err != nil {
				failed.Store(true)
				s.log.Warn("pending batch: checkpoint failed", "board", id, "run", run, "batch", name, "err", err)
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		return false, false
	}
	if err := s.store.Delete(ctx, pendingPrefix(id)+name); err != nil {
		s.storeError("delete")
		s.log.Warn("pending batch: delete marker failed", "board", id, "batch", name, "err", err)
		return false, false
	}
	b.remove(id, name)
	return true, false
}

// checkpointPending writes the run's checkpoint if it lacks any of
// entries, the run's entries of one marker.
func (s *Engine) checkpointPending(ctx context.Context, id, run string, entries []markerEntry) error {
	key := digestKey(id, run)
	unlock := s.runs.lock(key)
	defer unlock()
	w, err := s.openWriter(ctx, id, run, key, false)
	if err != nil {
		return err
	}
	err = s.flush(ctx, w)
	s.arm(w, s.cfg.FlushInterval) // retires it when idle; flushes it again if this failed
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() || w.gen == 0 || w.dirty != 0 {
		return fmt.Errorf("checkpoint of run %q: the writer was dropped", run)
	}
	for _, e := range entries {
		if fs := w.d.Files[e.file]; fs == nil || fs.Size < e.offset+e.length {
			return fmt.Errorf("checkpoint of run %q lacks bytes %d to %d of %s", run, e.offset, e.offset+e.length, e.file)
		}
	}
	return nil
}

// exists reports whether the run is one the board lists: it has a
// checkpoint, or stored bytes a checkpoint will count (pieces of a batch
// whose checkpoints are pending; or an append about to be checkpointed).
func (r *Run) exists() bool {
	if r.gen != 0 {
		return true
	}
	for _, fs := range r.d.Files {
		if fs.LastPart != nil {
			return true
		}
	}
	return false
}

// pendingParts returns the pending pieces of file as raw parts (with the
// times of their batches), those the file's state names as extents
// already left out.
func pendingParts(id, file string, fs *hostingpb.FileState, pr *pendingRun) ([]rawPart, map[rawPart]pendingPiece) {
	if pr == nil {
		return nil, nil
	}
	var parts []rawPart
	var of map[rawPart]pendingPiece
	for _, p := range pr.pieces {
		if p.file != file || p.length == 0 && fs.GetSize() > 0 {
			continue
		}
		if slices.ContainsFunc(fs.GetExtents(), func(e *hostingpb.Extent) bool { return e.Batch == p.batch && e.Offset == p.offset }) {
			continue // checkpointed
		}
		rp := rawPart{key: batchPrefix(id) + p.batch, off: p.offset, len: p.length, pos: p.pos, inBatch: true}
		if of == nil {
			of = map[rawPart]pendingPiece{}
		}
		if _, dup := of[rp]; !dup {
			parts = append(parts, rp)
			of[rp] = p
		}
	}
	return parts, of
}
