package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/kind"
	"tbhost/sampler"
	"tbhost/tfevents"
)

// maxConflictRetries bounds how often a checkpoint is retried when another
// server wrote the same digest at the same time.
const maxConflictRetries = 8

// AppendResult is the answer to an upload request.
type AppendResult struct {
	Run  string `json:"run"`
	File string `json:"file"`
	// Size is the bytes the server holds for the file: the next offset.
	Size       int64    `json:"size"`
	Records    int64    `json:"records"`
	BadRecords int64    `json:"bad_records"`
	Values     int64    `json:"values"`
	Truncated  bool     `json:"truncated"`
	Corrupt    bool     `json:"corrupt"`
	Warnings   []string `json:"warnings"`
}

// Append stores data as the bytes of (run, file) from offset on and parses
// them into the run's state; the run's checkpoint is written when due
// (see writer.go). Bytes the server already holds are skipped; a gap is a
// Conflict carrying the offset the server expects.
func (s *Engine) Append(ctx context.Context, id, run, file string, offset int64, data []byte) (*AppendResult, error) {
	run, err := CleanRun(run)
	if err != nil {
		return nil, err
	}
	if file, err = CleanFile(file); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, kind.Errorf(kind.Invalid, "offset %d is negative", offset)
	}
	if !s.gates.enter(id) {
		return nil, kind.Errorf(kind.NotFound, "board %s not found", id)
	}
	defer s.gates.leave(id)
	// The board may have been deleted since the request was authorised
	// (its body may have taken minutes to arrive).
	if _, err := s.Board(ctx, id); err != nil {
		return nil, err
	}
	key := digestKey(id, run)
	unlock := s.runs.lock(key)
	res, err := s.appendLocked(ctx, id, run, key, file, offset, data)
	unlock()
	if err == nil {
		s.trimWriters() // with no run lock held
	}
	return res, err
}

func (s *Engine) appendLocked(ctx context.Context, id, run, key, file string, offset int64, data []byte) (*AppendResult, error) {
	reloaded := false
	for attempt := 0; ; attempt++ {
		// (After errPartStored the reloaded state is in the cache.)
		w, err := s.openWriter(ctx, id, run, key, attempt > 0 && !reloaded)
		if err != nil {
			return nil, err
		}
		res, err := s.appendTo(ctx, w, file, offset, data)
		if errors.Is(err, errPartStored) {
			if attempt == maxConflictRetries {
				return nil, kind.Errorf(kind.Unavailable, "%s/%s: the store holds a part at offset %d that the run as stored does not reach; retry", run, file, w.d.Files[file].GetSize())
			}
			// A stale state: answer from the stored one, replayed
			// even with no checkpoint (the part may be that of a first
			// append whose checkpoint failed).
			if _, err := s.readRunOf(ctx, key, run); err != nil {
				return nil, err
			}
			reloaded = true
			continue
		}
		reloaded = false
		if kind.Of(err) == kind.Conflict && attempt == 0 {
			continue // a gap by a stale state: make sure with the stored one
		}
		if err == nil && !s.cache.listed(id, key) {
			// Another server may have created the run since this one
			// listed the board: the list would lack it.
			s.cache.dropRunList(id)
		}
		return res, err
	}
}

// errPartStored says that the raw part an append would create exists:
// the writer's state is stale (another server appended, and maybe merged
// the parts into a segment at that key), so the append is answered from
// the stored state instead.
var errPartStored = errors.New("a raw part is stored at that offset already")

// appendTo appends to the run of writer w. The caller holds the run lock.
func (s *Engine) appendTo(ctx context.Context, w *runWriter, file string, offset int64, data []byte) (*AppendResult, error) {
	fs := w.d.Files[file] // only holders of the run lock change the map
	size := fs.GetSize()
	if offset > size {
		return nil, &kind.Error{Kind: kind.Conflict, Offset: &size,
			Message: fmt.Sprintf("upload gap: the server holds %d bytes of %s/%s, the request starts at %d; resend from offset %d", size, w.run, file, offset, size)}
	}
	skip := size - offset
	if fs != nil && skip >= int64(len(data)) {
		// Nothing new: a re-sent range. A run no checkpoint counts yet
		// (a reload found the parts of a first append whose checkpoint
		// failed) is checkpointed, so that listings find it.
		w.mu.Lock()
		gen := w.gen
		w.mu.Unlock()
		if gen == 0 {
			if err := s.afterAppend(ctx, w, false); err != nil {
				return nil, err
			}
		}
		return resultOf(w.run, file, fs, 0), nil
	}
	fresh := data[skip:]
	if s.cfg.MaxBoardBytes > 0 {
		size, err := s.boardSize(ctx, w.id)
		if err != nil {
			return nil, err
		}
		if size+int64(len(fresh)) > s.cfg.MaxBoardBytes {
			return nil, kind.Errorf(kind.TooLarge, "board %s would hold %d bytes; this server keeps at most %d per board", w.id, size+int64(len(fresh)), s.cfg.MaxBoardBytes)
		}
	}
	if fs == nil && hashedSegment(escapeSegment(file)) {
		// A long name is hashed in its key: keep it beside the parts, for
		// replays that find the file in the store.
		if err := s.store.Put(ctx, rawFilePrefix(w.id, w.run, file)+nameObject, []byte(file)); err != nil {
			s.storeError("put")
			return nil, fmt.Errorf("store the name of %s/%s: %w", w.run, file, err)
		}
	}
	// The raw bytes are stored while they are parsed; readers wait for
	// both (or take the previous snapshot). A part is only ever created,
	// never replaced: a writer whose state predates another server's
	// appends would otherwise overwrite bytes it has not seen, such as a
	// segment compaction made at that key (errPartStored).
	stored := make(chan error, 1)
	go func() {
		_, err := s.store.PutIf(ctx, rawPartKey(w.id, w.run, file, size), fresh, 0)
		stored <- err
	}()

	w.mu.Lock()
	w.appending.Store(true)
	if w.shared {
		// Readers hold the state as it is: change a copy.
		w.d, w.s, w.shared = proto.CloneOf(w.d), w.s.Clone(), false
		fs = w.d.Files[file]
	}
	newFile := fs == nil
	// A new file that sorts before one already counted is checkpointed at
	// once: a replay meeting it would parse the run again in name order,
	// and the writer counted it in arrival order. One that sorts after
	// waits for the next checkpoint like any append (replays find its
	// parts by listing the run's folder).
	outOfOrder := newFile && sortsBeforeCounted(w.d, file)
	if newFile {
		fs = &hostingpb.FileState{}
		w.d.Files[file] = fs
	}
	warned := len(fs.Warnings)
	values := ingest(w.d, fs, w.s, fresh)
	if err := <-stored; err != nil {
		w.appending.Store(false)
		w.mu.Unlock()
		s.dropWriter(w) // its state holds bytes the store lacks
		if kind.Of(err) == kind.Conflict {
			return nil, fmt.Errorf("store %d bytes of %s/%s at %d: %w", len(fresh), w.run, file, size, errPartStored)
		}
		s.storeError("put")
		return nil, fmt.Errorf("store %d bytes of %s/%s: %w", len(fresh), w.run, file, err)
	}
	s.sizes.add(w.id, int64(len(fresh)))
	fs.LastPart = proto.Int64(size)
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

	if err := s.afterAppend(ctx, w, outOfOrder); err != nil {
		return nil, err
	}
	if s.Metrics != nil {
		s.Metrics.Ingested(int64(len(fresh)), values)
	}
	return res, nil
}

// sortsBeforeCounted reports whether file sorts before a file d counts
// bytes of.
func sortsBeforeCounted(d *hostingpb.Digest, file string) bool {
	for name, fs := range d.Files {
		if fs.GetSize() > 0 && file < name {
			return true
		}
	}
	return false
}

// resultOf reports a file's state; Warnings is left for the caller to
// fill with what this request found.
func resultOf(run, file string, fs *hostingpb.FileState, values int64) *AppendResult {
	return &AppendResult{Run: run, File: file, Size: fs.Size, Records: fs.Records, BadRecords: fs.BadRecords,
		Values: values, Truncated: fs.Truncated, Corrupt: fs.Corrupt, Warnings: []string{}}
}

// newRunState makes the cached form of digest d, taking d: its sampler
// bytes are dropped, as sr holds them decoded.
func newRunState(key string, gen int64, d *hostingpb.Digest, sr *sampler.Run, now time.Time) *Run {
	if d.Sampler != nil { // (d may be published already, and read: write only when needed)
		d.Sampler = nil
	}
	return &Run{key: key, gen: gen, size: digestBytes(d), d: d, s: sr, loaded: now}
}

// maxWarnings bounds the warnings kept per file.
const maxWarnings = 20

// ingestPipelineAfter is the tfevents.Options.PipelineAfter of ingest's
// Scanner (0: the default); tests set it to compare the pipelined
// ingest (the Scanner frames on a goroutine of its own while this one
// decodes and samples) with the sequential one.
var ingestPipelineAfter int64

// ingest parses the file's pending bytes followed by fresh into sr and
// updates fs (all but Size) and d's tag metadata. It returns the number of
// values ingested.
func ingest(d *hostingpb.Digest, fs *hostingpb.FileState, sr *sampler.Run, fresh []byte) int64 {
	if fs.Corrupt {
		return 0 // framing is lost: the bytes are stored, not parsed
	}
	if fs.Plugins == nil {
		fs.Plugins = map[string]string{}
	}
	start := fs.Parsed
	in := io.MultiReader(bytes.NewReader(fs.Pending), bytes.NewReader(fresh))
	sc := tfevents.NewScanner(in, tfevents.Options{Plugins: fs.Plugins, PipelineAfter: ingestPipelineAfter})
	defer sc.Close()
	defer sr.Settle() // readers may share sr once the caller is done
	var values int64
	var scratch itemScratch
	for sc.Scan() {
		addValue(d, sr, sc.Value(), &scratch)
		values++
	}
	st := sc.Stats()
	fs.Records += int64(st.Records)
	fs.BadRecords += int64(st.BadRecords)
	fs.Truncated = st.Truncated
	warnings := st.Warnings
	if st.Truncated && len(warnings) > 0 {
		// The last warning says the input ends inside a record: that is
		// where the next append resumes, not a defect (Truncated says it).
		warnings = warnings[:len(warnings)-1]
	}
	for _, w := range warnings {
		if len(fs.Warnings) < maxWarnings {
			fs.Warnings = append(fs.Warnings, fmt.Sprintf("%s (reading from file offset %d)", w, start))
		}
	}
	if err := sc.Err(); err != nil {
		fs.Corrupt = true
		fs.Pending = nil
		if len(fs.Warnings) < maxWarnings {
			fs.Warnings = append(fs.Warnings, fmt.Sprintf("stopped reading at offset %d: %v", start+st.Offset, err))
		}
		fs.Parsed = start + st.Offset
		return values
	}
	total := int64(len(fs.Pending)) + int64(len(fresh))
	rest := total - st.Offset
	pending := make([]byte, 0, rest)
	if rest > int64(len(fresh)) {
		pending = append(pending, fs.Pending[int64(len(fs.Pending))-(rest-int64(len(fresh))):]...)
		pending = append(pending, fresh...)
	} else {
		pending = append(pending, fresh[int64(len(fresh))-rest:]...)
	}
	fs.Pending = pending
	fs.Parsed = start + st.Offset
	return values
}

// itemScratch holds the buffers addValue encodes an item in: the sampler
// copies what it keeps.
type itemScratch struct {
	it      hostingpb.Item
	floats  []float64
	payload []byte
}

// addValue puts one decoded value into the run's sampler state.
func addValue(d *hostingpb.Digest, sr *sampler.Run, v *tfevents.Value, scratch *itemScratch) {
	if v.Kind == tfevents.KindSessionStart {
		sr.Start(v.Step)
		return
	}
	if v.Plugin != "" && (v.Kind != tfevents.KindScalar || v.Plugin != tfevents.PluginScalars) {
		// (A scalar series' plugin is "scalars" unless set otherwise:
		// no second lookup per value for the common case.)
		sr.SetPlugin(v.Tag, v.Plugin)
	}
	if (v.DisplayName != "" || v.Description != "") && d.Tags[v.Tag] == nil {
		if d.Tags == nil {
			d.Tags = map[string]*hostingpb.TagMeta{}
		}
		d.Tags[v.Tag] = &hostingpb.TagMeta{DisplayName: v.DisplayName, Description: v.Description}
	}
	if v.Plugin == "hparams" && v.Metadata != nil && d.Hparams[v.Tag] == nil {
		// The first metadata of a tag wins, as in TensorBoard's
		// plugin_event_accumulator and RustBoard: a restarted job (or
		// Lightning, which logs the session start twice) writes it again.
		if d.Hparams == nil {
			d.Hparams = map[string][]byte{}
		}
		d.Hparams[v.Tag] = append([]byte(nil), v.Metadata...)
	}
	if v.Kind == tfevents.KindScalar {
		sr.AddScalar(v.Tag, v.Step, v.WallTime, v.Scalar)
		return
	}
	it := &scratch.it
	*it = hostingpb.Item{Shape: v.Shape, Dtype: v.DType, ContentType: v.ContentType, Strings: v.Strings, Floats: v.Floats}
	switch v.Kind {
	case tfevents.KindHistogram:
		scratch.floats = scratch.floats[:0]
		for _, b := range v.Buckets {
			scratch.floats = append(scratch.floats, b[0], b[1], b[2])
		}
		it.Floats = scratch.floats
	case tfevents.KindGraph, tfevents.KindRunMetadata:
		it.Strings = [][]byte{v.Blob}
	}
	payload, err := proto.MarshalOptions{}.MarshalAppend(scratch.payload[:0], it)
	if err != nil {
		return // cannot happen for this message; nothing to keep
	}
	scratch.payload = payload
	sr.AddItem(v.Tag, v.Plugin, v.Step, v.WallTime, payload)
}

// loadRun returns the run state at key: this server's writer's if it has
// one, else the cached or stored one, or with fresh the stored one; a run
// with no digest yet is an empty state with generation 0.
func (s *Engine) loadRun(ctx context.Context, key string, fresh bool) (*Run, error) {
	if fresh {
		return s.readRun(ctx, key)
	}
	if w := s.writerOf(key); w != nil {
		if r := w.snapshot(s.now()); r != nil {
			s.cache.hit()
			return r, nil
		}
	}
	return s.loadStored(ctx, key)
}

// loadStored returns the cached state at key, or reads it from the store.
func (s *Engine) loadStored(ctx context.Context, key string) (*Run, error) {
	if r, ok := s.cache.run(key, s.now()); ok {
		return r, nil
	}
	// Concurrent cold reads of one digest share a single load.
	// The load outlives the request that started it: others wait on it.
	v, err, _ := s.loads.Do(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return s.readRun(lctx, key)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Run), nil
}

// readRun reads and decodes the digest at key, replays the raw parts
// stored past it and the pieces of pending batches (batch.go) it lacks,
// and caches the result. A run with neither a digest nor pending pieces
// is an empty state with generation 0.
func (s *Engine) readRun(ctx context.Context, key string) (*Run, error) {
	return s.readRunOf(ctx, key, "")
}

// readRunOf is readRun; given the run's name, it replays the run's raw
// parts even when there is no digest (an append stored a part and failed
// to write the run's first checkpoint), which readRun leaves for the
// next append, sparing a listing per new run.
func (s *Engine) readRunOf(ctx context.Context, key, run string) (*Run, error) {
	// The pending pieces before the digest: a marker is deleted only once
	// the digests count it.
	pend, err := s.pendingOf(ctx, key)
	if err != nil {
		return nil, err
	}
	raw, gen, err := s.store.Get(ctx, key)
	if err != nil && kind.Of(err) != kind.NotFound {
		s.storeError("get")
		return nil, fmt.Errorf("read digest %s: %w", key, err)
	}
	d := &hostingpb.Digest{}
	sr := sampler.NewRun(s.samplerConfig())
	if err != nil { // not found
		switch {
		case pend != nil:
			d.Run = pend.run
		case run != "":
			d.Run = run
		default:
			return &Run{key: key, d: d, s: sr, loaded: s.now()}, nil
		}
	} else {
		var state []byte
		if d, state, err = decodeDigest(raw); err != nil {
			return nil, fmt.Errorf("decode digest %s: %w", key, err)
		}
		if err := sr.UnmarshalBinary(state); err != nil {
			return nil, fmt.Errorf("decode sampler state in %s: %w", key, err)
		}
	}
	sr, replayed, changed, err := s.replay(ctx, key, d, sr, pend)
	if err != nil {
		return nil, err
	}
	if replayed > 0 && s.Metrics != nil {
		s.Metrics.Replayed(replayed)
	}
	r := newRunState(key, gen, d, sr, s.now())
	r.replayed = replayed
	if changed && replayed == 0 {
		r.replayed = 1 // an empty file of a pending batch: checkpoint it too
	}
	s.cache.putRun(r)
	return r, nil
}

// samplerField is the field number of hostingpb.Digest.sampler.
const samplerField = 2

// decodeDigest decodes a stored digest but for its sampler state, which
// it returns as a slice of raw: the state is most of a digest, and
// proto.Unmarshal would copy it only for it to be decoded and dropped.
func decodeDigest(raw []byte) (*hostingpb.Digest, []byte, error) {
	var state []byte
	rest := make([]byte, 0, 1024)
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, protowire.ParseError(m)
		}
		if num == samplerField && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[n:])
			state = v // the last one wins, as in proto.Unmarshal
		} else {
			rest = append(rest, b[:n+m]...)
		}
		b = b[n+m:]
	}
	d := &hostingpb.Digest{}
	if err := proto.Unmarshal(rest, d); err != nil {
		return nil, nil, err
	}
	return d, state, nil
}

// replay parses into d and sr the raw parts stored past d's checkpoint:
// appends whose checkpoint was not written yet (or never will be, if their
// server died), and files the checkpoint does not name at all (another
// server's, whose checkpoint lost a race with this one's). It lists each
// file's parts from the last one the checkpoint counts (a live run of a
// week holds a hundred thousand parts per file; the store skips those
// below); a part another server's compaction deletes between the listing
// and its read makes it list the file again, from its first part. Parts
// may overlap (see cutParts): each is parsed from the first byte not
// counted yet. Files are parsed in name order, as TensorBoard reads
// them: a file found that sorts before one already counted makes the run
// be parsed again from its first byte. The pieces of pending batches
// (pend, which may be nil) are parts too, in their batch objects: those
// the checkpoint lacks are parsed and recorded as extents, as the append
// that answered them did, and their files join without a parse from the
// start (the append counted them in the order they came). It returns the
// state, which is sr unless the run was parsed again, the bytes replayed,
// and whether pending pieces changed the state.
func (s *Engine) replay(ctx context.Context, key string, d *hostingpb.Digest, sr *sampler.Run, pend *pendingRun) (*sampler.Run, int64, bool, error) {
	id := boardOfKey(key)
	if d.Files == nil {
		d.Files = map[string]*hostingpb.FileState{}
	}
	found, err := s.runFiles(ctx, id, d.Run)
	if err != nil {
		return nil, 0, false, err
	}
	var last string // the last file counted, in name order
	for name, fs := range d.Files {
		if fs.Size > 0 && name > last {
			last = name
		}
	}
	if pend != nil {
		for _, p := range pend.pieces {
			if d.Files[p.file] == nil {
				d.Files[p.file] = &hostingpb.FileState{}
			}
		}
	}
	rebuild := false
	for _, name := range found {
		if d.Files[name] == nil {
			d.Files[name] = &hostingpb.FileState{}
			rebuild = rebuild || name < last
		}
	}
	if rebuild {
		for name, fs := range d.Files {
			// (Extents stay: they say where bytes are, not what was parsed.)
			d.Files[name] = &hostingpb.FileState{Extents: fs.GetExtents()}
		}
		d.Tags, d.Hparams = nil, nil
		sr = sampler.NewRun(s.samplerConfig())
	}
	var n int64
	changed := false
	for _, name := range slices.Sorted(maps.Keys(d.Files)) {
		fs := d.Files[name]
		from := fs.Size
		if fs.LastPart != nil {
			from = fs.GetLastPart()
		}
		// A compaction by another server may delete parts listed here
		// before they are read: list the file again and go on. The part
		// holding the next byte is then in a segment at an earlier key
		// (its first source's), so the listing starts at the first part;
		// a compaction leaves few. Only relists that get no further are
		// bounded, as for exports (CopyRaw).
		for stuck := 0; ; {
			size := fs.Size
			m, ch, err := s.replayFile(ctx, id, d, fs, sr, name, pend, from)
			n += m
			changed = changed || ch
			if err == nil {
				break
			}
			if !errors.Is(err, errPartGone) {
				return nil, 0, false, err
			}
			if fs.Size > size {
				stuck = 0
			} else if stuck++; stuck > maxRelists {
				return nil, 0, false, err
			}
			from = 0
		}
		if fs.Size == 0 && fs.LastPart == nil {
			delete(d.Files, name) // a folder whose parts are gone
		}
	}
	return sr, n, changed, nil
}

// errPartGone says that a raw part listed for a replay was deleted before
// it was read (merged into a segment by a compaction).
var errPartGone = errors.New("a listed raw part is gone")

// replayFile replays into d, fs and sr the parts of file name that may
// hold bytes from the part at offset from on (its own parts and extents,
// and its pieces in pend), from the first byte fs does not count. It
// returns the bytes replayed and whether pending pieces changed the state,
// and an error wrapping errPartGone when a part of its own listed was
// deleted before it was read.
func (s *Engine) replayFile(ctx context.Context, id string, d *hostingpb.Digest, fs *hostingpb.FileState, sr *sampler.Run, name string, pend *pendingRun, from int64) (int64, bool, error) {
	parts, err := s.partsFrom(ctx, id, d.Run, name, fs, from)
	if err != nil {
		return 0, false, err
	}
	pparts, pieceOf := pendingParts(id, name, fs, pend)
	parts = mergeParts(parts, pparts)
	var n int64
	changed := false
	for _, p := range parts {
		piece, pending := pieceOf[p]
		if pending && p.len == 0 {
			if fs.Size == 0 && fs.LastPart == nil { // a new, empty file
				applyExtent(d, fs, sr, piece.batch, &piece.markerEntry, nil, piece.unixNano)
				changed = true
			}
			continue
		}
		if p.off+p.len <= fs.Size {
			continue // counted already
		}
		if p.off > fs.Size {
			break // bytes are missing: parse no further than the store holds
		}
		data, err := s.readPart(ctx, p)
		if err != nil {
			if !p.inBatch && kind.Of(err) == kind.NotFound {
				err = fmt.Errorf("%w: %w", errPartGone, err)
			}
			return n, changed, err
		}
		if p.off+int64(len(data)) <= fs.Size {
			continue // rewritten shorter since it was listed
		}
		skip := fs.Size - p.off
		data = data[skip:]
		n += int64(len(data))
		if pending {
			e := piece.markerEntry
			e.offset, e.length, e.pos = fs.Size, int64(len(data)), e.pos+skip
			applyExtent(d, fs, sr, piece.batch, &e, data, piece.unixNano)
			changed = true
			continue
		}
		ingest(d, fs, sr, data)
		fs.LastPart = proto.Int64(p.off)
		fs.Size += int64(len(data))
	}
	return n, changed, nil
}

// runFiles returns the names of the files of a run that have raw parts
// in the store, whatever any checkpoint says.
func (s *Engine) runFiles(ctx context.Context, id, run string) ([]string, error) {
	prefix := rawPrefix(id) + escapeSegment(run) + "/"
	segs, err := s.store.Children(ctx, prefix)
	if err != nil {
		s.storeError("list")
		return nil, fmt.Errorf("list files of run %q: %w", run, err)
	}
	names := make([]string, 0, len(segs))
	for _, seg := range segs {
		name, err := s.fileName(ctx, prefix+seg+"/", seg)
		if err != nil {
			return nil, err
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// fileName returns the file name a raw file folder stands for: its
// segment unescaped or, for a long name (escaped to a prefix and a hash),
// the name kept beside its parts ("" when there is none).
func (s *Engine) fileName(ctx context.Context, prefix, seg string) (string, error) {
	if !hashedSegment(seg) {
		name, err := url.PathUnescape(seg)
		if err != nil {
			return "", nil // not a folder tbhost made
		}
		return name, nil
	}
	data, _, err := s.store.Get(ctx, prefix+nameObject)
	if kind.Of(err) == kind.NotFound {
		// Not shortened after all: a name of its own with a "~" in it.
		name, err := url.PathUnescape(seg)
		if err != nil {
			return "", nil
		}
		return name, nil
	}
	if err != nil {
		s.storeError("get")
		return "", fmt.Errorf("read %s: %w", prefix+nameObject, err)
	}
	return string(data), nil
}

// Runs returns every run of a board that has a digest, sorted by name.
func (s *Engine) Runs(ctx context.Context, id string) ([]*Run, error) {
	keys, err := s.runKeys(ctx, id)
	if err != nil {
		return nil, err
	}
	runs := make([]*Run, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runs[i], errs[i] = s.loadRun(ctx, k, false)
		}()
	}
	wg.Wait()
	out := runs[:0]
	for i, r := range runs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if r.exists() {
			out = append(out, r)
		}
	}
	SortRuns(out)
	return out, nil
}

// runKeys returns the digest keys of a board's runs: those with a digest,
// and those pending batches name (whose digests may not be written yet).
func (s *Engine) runKeys(ctx context.Context, id string) ([]string, error) {
	// The pending runs first: a marker is deleted only once its runs'
	// digests are written, so each run is in one list or the other.
	pending, err := s.pendingKeys(ctx, id)
	if err != nil {
		return nil, err
	}
	keys, epoch, ok := s.cache.runList(id, s.now())
	if !ok {
		objs, err := s.store.List(ctx, digestPrefix(id), "")
		if err != nil {
			s.storeError("list")
			return nil, fmt.Errorf("list runs of board %s: %w", id, err)
		}
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".pb") {
				keys = append(keys, o.Key)
			}
		}
		s.cache.putRunList(id, keys, epoch, s.now())
	}
	if len(pending) == 0 {
		return keys, nil
	}
	listed := make(map[string]bool, len(keys))
	for _, k := range keys {
		listed[k] = true
	}
	all := slices.Clip(keys) // the cached list stays as it is
	for _, k := range pending {
		if !listed[k] {
			all = append(all, k)
		}
	}
	return all, nil
}

// FindRun returns the named run of a board.
func (s *Engine) FindRun(ctx context.Context, id, run string) (*Run, error) {
	run, err := CleanRun(run)
	if err != nil {
		return nil, err
	}
	r, err := s.loadRun(ctx, digestKey(id, run), false)
	if err != nil {
		return nil, err
	}
	if !r.exists() {
		return nil, kind.Errorf(kind.NotFound, "board %s has no run %q", id, run)
	}
	return r, nil
}

// PutRun writes a run's digest straight from a sampler state, with no raw
// bytes behind it. It is for generated boards in benchmarks and tests
// (generating 10⁸ events to upload would take longer than the measurement);
// such a run has no files to export.
func (s *Engine) PutRun(ctx context.Context, id, run string, sr *sampler.Run) error {
	run, err := CleanRun(run)
	if err != nil {
		return err
	}
	key := digestKey(id, run)
	unlock := s.runs.lock(key)
	defer unlock()
	if w := s.writerOf(key); w != nil {
		s.dropWriter(w)
	}
	st, err := s.loadRun(ctx, key, true)
	if err != nil {
		return err
	}
	d := &hostingpb.Digest{Run: run, UpdatedUnixNano: s.now().UnixNano()}
	raw, done, err := encodeDigest(d, sr)
	if err != nil {
		return err
	}
	gen, err := s.store.PutIf(ctx, st.key, raw, st.gen)
	done()
	if err != nil {
		return fmt.Errorf("write digest of run %q: %w", run, err)
	}
	s.cache.dropRunList(id)
	s.cache.putRun(newRunState(st.key, gen, d, sr, s.now()))
	return nil
}
