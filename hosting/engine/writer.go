package engine

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/kind"
	"tbhost/sampler"
)

// Checkpoints.
//
// The raw parts of a file are the truth; a run's digest in the store is a
// checkpoint of parsing them: it counts, per file, a prefix of the bytes
// the store holds (FileState.Size). A server appending to a run keeps the
// run's state in a runWriter and writes the checkpoint every
// Config.FlushInterval or Config.FlushBytes, not on every append: an
// append costs its raw bytes and their parsing, not a re-encoding of the
// whole run. Whoever reads a digest replays the raw parts past it (see
// replay), so an append is visible to every server as soon as its raw
// part is stored, and a server that dies before its next checkpoint loses
// nothing. The first append of a run or of a file writes the checkpoint
// at once, so that listings of the board's digests find the run and
// replays find the file.

// writerIdle is how long a writer with nothing to write waits for the next
// append before it hands its state to the cache and goes: 30 s on a store
// only this server writes; on a shared one, FlushInterval or the cache TTL
// (the longer), as readers here see the writer's state, not another
// server's appends to the run.
func (s *Engine) writerIdle() time.Duration {
	if s.cfg.CacheTTL > time.Hour {
		return 30 * time.Second
	}
	return max(s.cfg.FlushInterval, s.cfg.CacheTTL)
}

// runWriter is the state of a run this server appends to. Appends, flushes
// and retirement hold the run's run lock (Server.runLock); mu guards
// the state against readers taking a snapshot. mu is a leaf lock.
type runWriter struct {
	id, run, key string

	mu         sync.Mutex
	gen        int64             // generation of the stored checkpoint (0: none yet)
	d          *hostingpb.Digest // owned: readers get clones
	s          *sampler.Run
	dirty      int64     // bytes appended since the stored checkpoint
	dirtySince time.Time // the first of those appends
	// shared: pub holds d and s themselves, not copies; the next append
	// copies them before it changes them.
	shared bool

	pub       atomic.Pointer[Run] // the last snapshot given to readers
	pubFresh  atomic.Bool         // pub holds every append; set under mu
	appending atomic.Bool         // an append holds mu
	closed    atomic.Bool         // dropped: readers must load the run elsewhere
	size      atomic.Int64        // bytes of the state, as of the last append
	used      atomic.Int64        // time of the last append, Unix ns
	held      atomic.Int64        // raw bytes of all files (digestBytes(d))

	timer *time.Timer // flushes and retires; set under the run lock
}

// writerOf returns the run's writer on this server, if any.
func (s *Engine) writerOf(key string) *runWriter {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writers[key]
}

// openWriter returns the run's writer, making one from the cached or
// stored state (or, when fresh, from the store only). The caller holds
// the run's run lock.
func (s *Engine) openWriter(ctx context.Context, id, run, key string, fresh bool) (*runWriter, error) {
	if w := s.writerOf(key); w != nil && !fresh {
		return w, nil
	}
	var st *Run
	var err error
	if fresh {
		st, err = s.readRun(ctx, key)
	} else {
		st, err = s.loadStored(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	d := proto.CloneOf(st.d)
	if d.Files == nil {
		d.Files = map[string]*hostingpb.FileState{}
	}
	d.Run = run
	w := &runWriter{id: id, run: run, key: key, gen: st.gen, d: d, s: st.s.Clone()}
	w.pub.Store(st)
	w.pubFresh.Store(true)
	w.held.Store(digestBytes(d))
	if st.replayed > 0 {
		w.dirty, w.dirtySince = st.replayed, s.now() // checkpoint what was replayed
	}
	s.wmu.Lock()
	old := s.writers[key]
	s.writers[key] = w
	s.wmu.Unlock()
	if old != nil {
		old.close()
	}
	s.cache.dropRun(key) // the writer answers for the run now
	return w, nil
}

// close marks w dropped. The caller holds the run lock or owns w.
func (w *runWriter) close() {
	w.closed.Store(true)
	if w.timer != nil {
		w.timer.Stop()
	}
}

// dropWriter forgets w, whose state may hold bytes the store lacks; the
// next reader or append loads the run from the store.
func (s *Engine) dropWriter(w *runWriter) {
	s.wmu.Lock()
	if s.writers[w.key] == w {
		delete(s.writers, w.key)
	}
	s.wmu.Unlock()
	w.close()
	s.cache.dropRun(w.key)
}

// dropWriters forgets the writers of a deleted board. The caller holds no
// run lock.
func (s *Engine) dropWriters(id string) {
	s.wmu.Lock()
	var ws []*runWriter
	for _, w := range s.writers {
		if w.id == id {
			ws = append(ws, w)
		}
	}
	s.wmu.Unlock()
	for _, w := range ws {
		unlock := s.runs.lock(w.key)
		s.dropWriter(w)
		unlock()
	}
}

// snapshot returns the writer's state for readers; nil when the writer
// was dropped. It hands out the writer's own state, which the next append
// copies before changing (so a board read after an upload costs no copy;
// one read between appends of a live run costs one). A reader that finds
// an append in progress gets the last snapshot rather than wait for it,
// unless that one predates the run's first checkpoint (it would leave the
// run out). Otherwise a reader gets every append answered: one that finds
// another reader or a checkpoint holding mu waits for it unless the last
// snapshot is current (a run missing from one answer stays missing from a
// page that has no reason to ask again).
func (w *runWriter) snapshot(now time.Time) *Run {
	if !w.mu.TryLock() {
		fresh, appending := w.pubFresh.Load(), w.appending.Load() // before pub: it only moves on
		if p := w.pub.Load(); p != nil && !w.closed.Load() && (fresh || (appending && p.gen != 0)) {
			return p
		}
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if w.closed.Load() {
		return nil
	}
	if !w.pubFresh.Load() {
		w.pub.Store(newRunState(w.key, w.gen, w.d, w.s, now))
		w.pubFresh.Store(true)
		w.shared = true
	}
	return w.pub.Load()
}

// digestBytes sums a digest's file sizes.
func digestBytes(d *hostingpb.Digest) int64 {
	var n int64
	for _, f := range d.Files {
		n += f.Size
	}
	return n
}

// encode returns the digest with its sampler state, as stored, and a
// function that gives its buffer back once the bytes are written.
// It does not change w.d, which readers may share.
func (w *runWriter) encode() ([]byte, func(), error) { return encodeDigest(w.d, w.s) }

// checkpointBufs holds the buffers of written checkpoints for the next
// ones (Store.Put keeps no data after it returns): a big run's checkpoint
// is tens of MB, and fresh memory that size took longer to fault in and
// clear than the state took to encode.
var checkpointBufs sync.Pool // of *[]byte

// maxPooledCheckpoint bounds the buffers checkpointBufs keeps.
const maxPooledCheckpoint = 256 << 20

// encodeDigest returns digest d, whose Sampler field is nil, with the
// sampler state sr in that field, as stored, and a function that gives its
// buffer back once the bytes are written (the bytes must not be used
// after it). The state (tens of MB for a big run) is encoded once into
// the buffer it is returned in: the digest's other fields (small) are
// copied in front of it.
func encodeDigest(d *hostingpb.Digest, sr *sampler.Run) ([]byte, func(), error) {
	head, err := proto.Marshal(d)
	if err != nil {
		return nil, nil, fmt.Errorf("encode digest of run %q: %w", d.Run, err)
	}
	head = protowire.AppendTag(head, samplerField, protowire.BytesType)
	room := len(head) + binary.MaxVarintLen64
	pooled, _ := checkpointBufs.Get().(*[]byte)
	if pooled == nil {
		pooled = new([]byte)
	}
	buf := *pooled
	if cap(buf) < room {
		buf = make([]byte, room)
	}
	buf, err = sr.AppendBinary(buf[:room])
	if err != nil {
		return nil, nil, fmt.Errorf("encode sampler state of run %q: %w", d.Run, err)
	}
	head = protowire.AppendVarint(head, uint64(len(buf)-room))
	start := room - len(head)
	copy(buf[start:], head)
	done := func() {
		if cap(buf) <= maxPooledCheckpoint {
			*pooled = buf[:0]
			checkpointBufs.Put(pooled)
		}
	}
	return buf[start:], done, nil
}

// flush writes the writer's checkpoint if it has appends the stored one
// lacks. When another server wrote the digest meanwhile, the writer takes
// the stored state (whose replay holds this server's appends, as their raw
// parts are stored) and writes that. The caller holds the run lock.
func (s *Engine) flush(ctx context.Context, w *runWriter) error {
	for attempt := 0; ; attempt++ {
		w.mu.Lock()
		if w.closed.Load() || (w.dirty == 0 && w.gen != 0) {
			w.mu.Unlock()
			return nil
		}
		raw, done, err := w.encode()
		gen := w.gen
		w.mu.Unlock()
		if err != nil {
			return err
		}
		newGen, err := s.store.PutIf(ctx, w.key, raw, gen)
		size := len(raw)
		done()
		if gen == 0 {
			// A new run, or maybe one (the write may have landed although it
			// reported an error): the board's run list is stale either way.
			s.cache.dropRunList(w.id)
		}
		if err == nil {
			if s.Metrics != nil {
				s.Metrics.Checkpointed(int64(size))
			}
			w.mu.Lock()
			w.gen, w.dirty = newGen, 0
			switch p := w.pub.Load(); {
			case w.pubFresh.Load():
				w.pub.Store(newRunState(w.key, newGen, p.d, p.s, p.loaded))
			case p == nil || p.gen == 0:
				// Publish the run's first checkpointed state: a reader
				// that arrives while an append waits on its store write
				// gets the last snapshot rather than wait, but not one
				// from before the run's first checkpoint (see snapshot).
				// The next append copies the state (small so far).
				w.pub.Store(newRunState(w.key, newGen, w.d, w.s, s.now()))
				w.pubFresh.Store(true)
				w.shared = true
			default:
				// The last snapshot stays for readers that arrive during
				// appends; one that arrives between them publishes the
				// state (snapshot). Publishing at every checkpoint made
				// the next append copy the whole state: two states in
				// memory through a long upload nobody reads.
			}
			w.mu.Unlock()
			s.compactAfterCheckpoint(w) // merges parts the checkpoint counts
			return nil
		}
		if kind.Of(err) != kind.Conflict {
			s.storeError("put")
			return fmt.Errorf("write digest of run %q: %w", w.run, err)
		}
		if attempt == maxConflictRetries {
			return kind.Errorf(kind.Unavailable, "run %q is being written by another server at the same time; retry", w.run)
		}
		st, err := s.readRun(ctx, w.key)
		if err != nil {
			return err
		}
		if st.gen == 0 {
			s.dropWriter(w) // the run was deleted
			return kind.Errorf(kind.NotFound, "run %q was deleted while it was written", w.run)
		}
		d := proto.CloneOf(st.d)
		if d.Files == nil {
			d.Files = map[string]*hostingpb.FileState{}
		}
		w.held.Store(digestBytes(d))
		w.mu.Lock()
		w.d, w.s, w.gen, w.shared = d, st.s.Clone(), st.gen, false
		w.dirty = st.replayed
		w.pub.Store(st)
		w.pubFresh.Store(true)
		w.mu.Unlock()
	}
}

// afterAppend writes the checkpoint when it is due and arms the writer's
// timer. The caller holds the run lock.
func (s *Engine) afterAppend(ctx context.Context, w *runWriter, mustFlush bool) error {
	w.mu.Lock()
	due := mustFlush || w.gen == 0 || w.dirty >= s.cfg.FlushBytes || s.now().Sub(w.dirtySince) >= s.cfg.FlushInterval
	w.mu.Unlock()
	if due {
		if err := s.flush(ctx, w); err != nil {
			if mustFlush || w.gen == 0 {
				// Neither listings nor replays would find the file: fail
				// the request, and the client's retry writes it again.
				s.dropWriter(w)
				return err
			}
			s.log.WarnContext(ctx, "checkpoint failed; retrying later", "run", w.run, "err", err)
		}
	}
	s.arm(w, s.cfg.FlushInterval)
	return nil
}

// arm (re)starts the writer's timer. The caller holds the run lock.
func (s *Engine) arm(w *runWriter, d time.Duration) {
	if w.timer == nil {
		w.timer = time.AfterFunc(d, func() { s.tick(w) })
		return
	}
	w.timer.Reset(d)
}

// tick flushes a writer whose checkpoint is due, and retires one that has
// been idle for writerIdle.
func (s *Engine) tick(w *runWriter) {
	unlock := s.runs.lock(w.key)
	defer unlock()
	if w.closed.Load() {
		return
	}
	w.mu.Lock()
	dirty, since := w.dirty, w.dirtySince
	w.mu.Unlock()
	if dirty > 0 {
		if wait := s.cfg.FlushInterval - s.now().Sub(since); wait > 0 {
			s.arm(w, wait)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := s.flush(ctx, w)
		cancel()
		if err != nil {
			s.log.Warn("checkpoint failed; retrying later", "run", w.run, "err", err)
			s.arm(w, s.cfg.FlushInterval)
			return
		}
	}
	if wait := s.writerIdle() - s.now().Sub(time.Unix(0, w.used.Load())); wait > 0 {
		s.arm(w, wait)
		return
	}
	s.retire(w)
}

// retire hands a clean writer's state to the cache and forgets the writer.
// The caller holds the run lock.
func (s *Engine) retire(w *runWriter) {
	w.mu.Lock()
	if !w.pubFresh.Load() && !w.closed.Load() {
		w.pub.Store(newRunState(w.key, w.gen, w.d, w.s, s.now()))
		w.pubFresh.Store(true)
		w.shared = true
	}
	w.mu.Unlock()
	if r := w.pub.Load(); r != nil && r.gen != 0 && !w.closed.Load() {
		s.cache.putRun(r)
	}
	s.wmu.Lock()
	if s.writers[w.key] == w {
		delete(s.writers, w.key)
	}
	s.wmu.Unlock()
	w.close()
}

// Flush writes every pending checkpoint and retires the writers; the
// server stays usable. Call it at shutdown, after the HTTP server has
// stopped taking requests. A checkpoint it cannot write loses nothing (the
// raw parts are stored): the next load of the run replays them.
func (s *Engine) Flush(ctx context.Context) error {
	first := s.settleOwn(ctx) // this server's pending batches (batch.go): their runs' checkpoints, then their markers
	s.wmu.Lock()
	ws := make([]*runWriter, 0, len(s.writers))
	for _, w := range s.writers {
		ws = append(ws, w)
	}
	s.wmu.Unlock()
	for _, w := range ws {
		unlock := s.runs.lock(w.key)
		if err := s.flush(ctx, w); err != nil {
			if first == nil {
				first = err
			}
			// Its state counts bytes no checkpoint holds: cached under the
			// stored generation, it would pass for that checkpoint (and a
			// settle would delete markers whose extents none counts). The
			// next load replays them instead.
			s.dropWriter(w)
		} else {
			s.retire(w)
		}
		unlock()
	}
	return first
}

// trimWriters checkpoints and retires the writers appended to longest ago
// while the writers' states hold more than Config.CacheBytes, so that a
// board of many big runs uploaded at once stays within memory: their
// states move to the cache, which evicts. One trim runs at a time; the
// caller holds no run lock.
func (s *Engine) trimWriters() {
	if !s.trimming.CompareAndSwap(false, true) {
		return
	}
	defer s.trimming.Store(false)
	s.wmu.Lock()
	var total int64
	ws := make([]*runWriter, 0, len(s.writers))
	for _, w := range s.writers {
		total += w.size.Load()
		ws = append(ws, w)
	}
	s.wmu.Unlock()
	if total <= s.cfg.CacheBytes {
		return
	}
	slices.SortFunc(ws, func(a, b *runWriter) int { return cmp.Compare(a.used.Load(), b.used.Load()) })
	for _, w := range ws[:len(ws)-1] { // the newest stays: it is being written
		if total <= s.cfg.CacheBytes {
			return
		}
		unlock := s.runs.tryLock(w.key)
		if unlock == nil {
			continue // busy (maybe on a slow store write): others go first
		}
		if !w.closed.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := s.flush(ctx, w)
			cancel()
			if err != nil {
				s.log.Warn("checkpoint failed; retrying later", "run", w.run, "err", err)
			} else {
				s.retire(w)
				total -= w.size.Load()
			}
		}
		unlock()
	}
}

// WriterStats reports the runs this server is appending to.
type WriterStats struct {
	Writers int
	Bytes   int64
}

// WriterStats reports the writers' count and the bytes of their states.
func (s *Engine) WriterStats() WriterStats {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	st := WriterStats{Writers: len(s.writers)}
	for _, w := range s.writers {
		st.Bytes += w.size.Load()
	}
	return st
}
