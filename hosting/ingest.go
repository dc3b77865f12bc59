package hosting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/sampler"
	"tbhost/tfevents"
)

// maxConflictRetries bounds how often an append is retried when another
// server wrote the same digest at the same time.
const maxConflictRetries = 8

// errDigestRace: the digest changed in the store since it was read.
var errDigestRace = errors.New("digest written concurrently")

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

func (s *Server) appendFile(c *gin.Context) error {
	b, err := s.writableBoard(c)
	if err != nil {
		return err
	}
	run, err := CleanRun(c.Query("run"))
	if err != nil {
		return err
	}
	file, err := CleanFile(c.Query("file"))
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0)
	if err != nil {
		return err
	}
	if offset < 0 {
		return Errorf(Invalid, "offset %d is negative", offset)
	}
	if c.Request.ContentLength > s.cfg.MaxRequestBytes {
		return Errorf(TooLarge, "the request body is %d bytes; this server takes at most %d per request: send the file in pieces", c.Request.ContentLength, s.cfg.MaxRequestBytes)
	}
	var body bytes.Buffer
	if n := c.Request.ContentLength; n > 0 {
		body.Grow(int(n) + bytes.MinRead)
	}
	if _, err := body.ReadFrom(io.LimitReader(c.Request.Body, s.cfg.MaxRequestBytes+1)); err != nil {
		return Errorf(Invalid, "read request body: %w", err)
	}
	data := body.Bytes()
	if int64(len(data)) > s.cfg.MaxRequestBytes {
		return Errorf(TooLarge, "the request body is over %d bytes, the most this server takes per request: send the file in pieces", s.cfg.MaxRequestBytes)
	}
	res, err := s.Append(c.Request.Context(), b.ID, run, file, offset, data)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) runLock(id, run string) *sync.Mutex {
	h := fnv.New32a()
	io.WriteString(h, id)
	io.WriteString(h, run)
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// Append stores data as the bytes of (run, file) from offset on, parses
// them into the run's digest and writes the digest. Bytes the server
// already holds are skipped; a gap is a Conflict carrying the offset the
// server expects.
func (s *Server) Append(ctx context.Context, id, run, file string, offset int64, data []byte) (*AppendResult, error) {
	mu := s.runLock(id, run)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		st, err := s.loadRun(ctx, id, digestKey(id, run), attempt > 0)
		if err != nil {
			return nil, err
		}
		res, err := s.appendOnce(ctx, id, run, file, offset, data, st)
		if err == errDigestRace && attempt < maxConflictRetries {
			continue // another server wrote the digest: reload and redo
		}
		if KindOf(err) == Conflict && attempt == 0 {
			continue // a gap by a cached digest: make sure with the stored one
		}
		if err == errDigestRace {
			return nil, Errorf(Unavailable, "run %q is being written by another server at the same time; retry", run)
		}
		if err == nil && !s.cache.listed(id, st.key) {
			// Another server may have created the run since this one
			// listed the board: the list would lack it.
			s.cache.dropRunList(id)
		}
		return res, err
	}
}

func (s *Server) appendOnce(ctx context.Context, id, run, file string, offset int64, data []byte, st *runState) (*AppendResult, error) {
	d := proto.CloneOf(st.d) // the cached one is shared with readers
	if d.Files == nil {
		d.Files = map[string]*hostingpb.FileState{}
	}
	d.Run = run
	fs := d.Files[file]
	if fs == nil {
		fs = &hostingpb.FileState{}
		d.Files[file] = fs
	}
	if offset > fs.Size {
		off := fs.Size
		return nil, &Error{Kind: Conflict, Offset: &off,
			Message: fmt.Sprintf("upload gap: the server holds %d bytes of %s/%s, the request starts at %d; resend from offset %d", off, run, file, offset, off)}
	}
	skip := fs.Size - offset
	if skip >= int64(len(data)) && (skip > 0 || st.d.Files[file] != nil) {
		return resultOf(run, file, fs, 0), nil // nothing new: a re-sent range
	}
	fresh := data[skip:]
	if s.cfg.MaxBoardBytes > 0 {
		size, err := s.boardSize(ctx, id)
		if err != nil {
			return nil, err
		}
		if size+int64(len(fresh)) > s.cfg.MaxBoardBytes {
			return nil, Errorf(TooLarge, "board %s would hold %d bytes; this server keeps at most %d per board", id, size+int64(len(fresh)), s.cfg.MaxBoardBytes)
		}
	}
	// The raw bytes are stored while they are parsed, and are durable
	// before the digest that counts them is written.
	stored := make(chan error, 1)
	key := rawPartKey(id, run, file, fs.Size)
	go func() { stored <- s.store.Put(ctx, key, fresh) }()

	sr := st.s.Clone() // the cached Run is shared with readers
	warned := len(fs.Warnings)
	values := ingest(d, fs, sr, fresh)
	if err := <-stored; err != nil {
		s.storeError("put")
		return nil, fmt.Errorf("store %d bytes of %s/%s: %w", len(fresh), run, file, err)
	}
	fs.Size += int64(len(fresh))
	d.UpdatedUnixNano = s.now().UnixNano()
	state, err := sr.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode sampler state of run %q: %w", run, err)
	}
	d.Sampler = state
	raw, err := proto.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode digest of run %q: %w", run, err)
	}
	gen, err := s.store.PutIf(ctx, st.key, raw, st.gen)
	if st.gen == 0 {
		// A new run, or maybe one (the write may have landed although it
		// reported an error): the board's run list is stale either way.
		s.cache.dropRunList(id)
	}
	if err != nil {
		if KindOf(err) == Conflict {
			return nil, errDigestRace
		}
		s.storeError("put")
		return nil, fmt.Errorf("write digest of run %q: %w", run, err)
	}
	s.cache.putRun(newRunState(st.key, gen, d, sr, s.now()))
	if s.Metrics != nil {
		s.Metrics.Ingested(int64(len(fresh)), values)
	}
	res := resultOf(run, file, fs, values)
	res.Warnings = append(res.Warnings, fs.Warnings[warned:]...)
	return res, nil
}

// resultOf reports a file's state; Warnings is left for the caller to
// fill with what this request found.
func resultOf(run, file string, fs *hostingpb.FileState, values int64) *AppendResult {
	return &AppendResult{Run: run, File: file, Size: fs.Size, Records: fs.Records, BadRecords: fs.BadRecords,
		Values: values, Truncated: fs.Truncated, Corrupt: fs.Corrupt, Warnings: []string{}}
}

// newRunState makes the cached form of digest d, taking d: its sampler
// bytes are dropped, as sr holds them decoded.
func newRunState(key string, gen int64, d *hostingpb.Digest, sr *sampler.Run, now time.Time) *runState {
	d.Sampler = nil
	return &runState{key: key, gen: gen, d: d, s: sr, loaded: now}
}

// maxWarnings bounds the warnings kept per file.
const maxWarnings = 20

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
	sc := tfevents.NewScanner(in, tfevents.Options{Plugins: fs.Plugins})
	defer sc.Close()
	var values int64
	for sc.Scan() {
		addValue(d, sr, sc.Value())
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

// addValue puts one decoded value into the run's sampler state.
func addValue(d *hostingpb.Digest, sr *sampler.Run, v *tfevents.Value) {
	if v.Kind == tfevents.KindSessionStart {
		sr.Start(v.Step)
		return
	}
	if v.Plugin != "" {
		sr.SetPlugin(v.Tag, v.Plugin)
	}
	if (v.DisplayName != "" || v.Description != "") && d.Tags[v.Tag] == nil {
		if d.Tags == nil {
			d.Tags = map[string]*hostingpb.TagMeta{}
		}
		d.Tags[v.Tag] = &hostingpb.TagMeta{DisplayName: v.DisplayName, Description: v.Description}
	}
	if v.Plugin == "hparams" && v.Metadata != nil {
		if d.Hparams == nil {
			d.Hparams = map[string][]byte{}
		}
		d.Hparams[v.Tag] = append([]byte(nil), v.Metadata...)
	}
	if v.Kind == tfevents.KindScalar {
		sr.AddScalar(v.Tag, v.Step, v.WallTime, v.Scalar)
		return
	}
	it := &hostingpb.Item{Shape: v.Shape, Dtype: v.DType, ContentType: v.ContentType, Strings: v.Strings, Floats: v.Floats}
	switch v.Kind {
	case tfevents.KindHistogram:
		it.Floats = make([]float64, 0, 3*len(v.Buckets))
		for _, b := range v.Buckets {
			it.Floats = append(it.Floats, b[0], b[1], b[2])
		}
	case tfevents.KindGraph, tfevents.KindRunMetadata:
		it.Strings = [][]byte{v.Blob}
	}
	payload, err := proto.Marshal(it)
	if err != nil {
		return // cannot happen for this message; nothing to keep
	}
	sr.AddItem(v.Tag, v.Plugin, v.Step, v.WallTime, payload)
}

func (s *Server) storeError(op string) {
	if s.Metrics != nil {
		s.Metrics.StoreError(op)
	}
}

// loadRun returns the run state at key, from the cache unless fresh is
// set; a run with no digest yet is an empty state with generation 0.
func (s *Server) loadRun(ctx context.Context, id, key string, fresh bool) (*runState, error) {
	if !fresh {
		if r, ok := s.cache.run(key, s.now()); ok {
			return r, nil
		}
	}
	if fresh {
		return s.readRun(ctx, key)
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
	return v.(*runState), nil
}

// readRun reads and decodes the digest at key and caches it.
func (s *Server) readRun(ctx context.Context, key string) (*runState, error) {
	raw, gen, err := s.store.Get(ctx, key)
	if KindOf(err) == NotFound {
		return &runState{key: key, d: &hostingpb.Digest{}, s: sampler.NewRun(s.samplerConfig()), loaded: s.now()}, nil
	}
	if err != nil {
		s.storeError("get")
		return nil, fmt.Errorf("read digest %s: %w", key, err)
	}
	d := &hostingpb.Digest{}
	if err := proto.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("decode digest %s: %w", key, err)
	}
	sr := sampler.NewRun(s.samplerConfig())
	if err := sr.UnmarshalBinary(d.Sampler); err != nil {
		return nil, fmt.Errorf("decode sampler state in %s: %w", key, err)
	}
	r := newRunState(key, gen, d, sr, s.now())
	s.cache.putRun(r)
	return r, nil
}

// boardRuns returns every run of a board that has a digest, sorted by name.
func (s *Server) boardRuns(ctx context.Context, id string) ([]*runState, error) {
	keys, epoch, ok := s.cache.runList(id, s.now())
	if !ok {
		objs, err := s.store.List(ctx, digestPrefix(id))
		if err != nil {
			s.storeError("list")
			return nil, fmt.Errorf("list runs of board %s: %w", id, err)
		}
		keys = keys[:0]
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".pb") {
				keys = append(keys, o.Key)
			}
		}
		s.cache.putRunList(id, keys, epoch, s.now())
	}
	runs := make([]*runState, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runs[i], errs[i] = s.loadRun(ctx, id, k, false)
		}()
	}
	wg.Wait()
	out := runs[:0]
	for i, r := range runs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if r.gen != 0 {
			out = append(out, r)
		}
	}
	sortRuns(out)
	return out, nil
}

// findRun returns the named run of a board.
func (s *Server) findRun(ctx context.Context, id, run string) (*runState, error) {
	run, err := CleanRun(run)
	if err != nil {
		return nil, err
	}
	r, err := s.loadRun(ctx, id, digestKey(id, run), false)
	if err != nil {
		return nil, err
	}
	if r.gen == 0 {
		return nil, Errorf(NotFound, "board %s has no run %q", id, run)
	}
	return r, nil
}

func blobSHA(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:])
}

// PutRun writes a run's digest straight from a sampler state, with no raw
// bytes behind it. It is for generated boards in benchmarks and tests
// (generating 10⁸ events to upload would take longer than the measurement);
// such a run has no files to export.
func (s *Server) PutRun(ctx context.Context, id, run string, sr *sampler.Run) error {
	run, err := CleanRun(run)
	if err != nil {
		return err
	}
	mu := s.runLock(id, run)
	mu.Lock()
	defer mu.Unlock()
	st, err := s.loadRun(ctx, id, digestKey(id, run), true)
	if err != nil {
		return err
	}
	state, err := sr.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode sampler state of run %q: %w", run, err)
	}
	d := &hostingpb.Digest{Run: run, Sampler: state, UpdatedUnixNano: s.now().UnixNano()}
	raw, err := proto.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode digest of run %q: %w", run, err)
	}
	gen, err := s.store.PutIf(ctx, st.key, raw, st.gen)
	if err != nil {
		return fmt.Errorf("write digest of run %q: %w", run, err)
	}
	s.cache.dropRunList(id)
	s.cache.putRun(newRunState(st.key, gen, d, sr, s.now()))
	return nil
}
