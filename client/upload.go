package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"tbhost/tfevents"
)

// DefaultChunkSize is how many bytes one upload request carries at most.
const DefaultChunkSize = 8 << 20

// DefaultInterval is how often Watch looks for new bytes.
const DefaultInterval = 5 * time.Second

// DefaultParallel is how many runs an upload sends at once.
const DefaultParallel = 4

// Uploader sends the event files of a log dir to a board. It asks the
// server once how much of each file it holds and from then on sends only
// the bytes the server is missing, so running it again after an
// interruption resumes, and Watch keeps a growing log dir in sync.
//
// An Uploader is not safe for concurrent use (it sends runs in parallel
// itself).
type Uploader struct {
	Client *Client
	Board  string // board id
	Token  string // the board's write token
	Dir    string // the log dir

	// ChunkSize bounds the bytes of one request (DefaultChunkSize when 0).
	ChunkSize int64
	// Parallel is how many runs are sent at once (DefaultParallel when 0).
	// A run's files go one after another, in order: the board's view of a
	// run depends on the order of its values.
	Parallel int
	// Interval is Watch's poll period (DefaultInterval when 0).
	Interval time.Duration
	// HoldTail, when > 0, keeps back an incomplete record at the end of a
	// file modified less than HoldTail ago: the writer is probably in the
	// middle of it, and it goes out whole on a later pass. (A file that
	// stays incomplete for longer is sent as it is.) Watch mode wants it.
	HoldTail time.Duration
	// Walk lists the log dir's event files (WalkLogDir when nil).
	Walk WalkFunc
	// Progress, if set, is called as bytes go out.
	Progress func(Progress)
	// Logf, if set, receives notes meant for the user (warnings).
	Logf func(format string, args ...any)
	// Now is the clock of Progress's Elapsed and ETA (time.Now when nil).
	Now func() time.Time

	passes    int
	noBatch   bool              // the server has no batch route
	annotated bool              // the log dir's AnnotationsFile was applied (annotations.go)
	mu        sync.Mutex        // guards remote, warned, and a pass's Summary and Progress
	remote    map[fileKey]int64 // bytes the server holds, per file
	warned    map[string]bool
}

type fileKey struct{ run, file string }

// Progress reports an upload pass.
type Progress struct {
	Run, File  string // the file being sent
	FilesDone  int    // files of this pass sent completely
	FilesTotal int    // files with bytes to send in this pass
	BytesDone  int64
	BytesTotal int64 // bytes to send in this pass
	// Wire is the size of the request bodies that carried BytesDone,
	// after compression.
	Wire       int64
	Compressed bool          // some of them went compressed
	Resumed    int64         // bytes the server already held (not sent again)
	Elapsed    time.Duration // since the pass started
	Rate       float64       // bytes per second over the pass
	ETA        time.Duration // -1 when unknown; see Estimator
	Done       bool          // the pass is over
	Pass       int           // 1 for an Uploader's first pass, 2 for its second, …
}

// Summary describes one pass over the log dir.
type Summary struct {
	Runs, Files int   // runs and event files in the log dir
	Bytes       int64 // their total size
	Sent        int64 // bytes sent in this pass
	Wire        int64 // the size of the request bodies that carried them, after compression
	FilesSent   int   // files that had bytes to send
	Resumed     int64 // bytes the server already held at the start of the pass
	Elapsed     time.Duration
	Warnings    []string
}

// Sync makes one pass: it sends every byte of the log dir the server does
// not hold yet.
func (u *Uploader) Sync(ctx context.Context) (*Summary, error) {
	now := u.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	walk := u.Walk
	if walk == nil {
		walk = WalkLogDir
	}
	files, err := walk(u.Dir)
	if err != nil {
		return nil, err
	}
	if u.remote == nil {
		remote, err := u.Client.Files(ctx, u.Board, u.Token)
		if err != nil {
			return nil, err
		}
		u.remote = make(map[fileKey]int64, len(remote))
		for _, f := range remote {
			u.remote[fileKey{f.Run, f.File}] = f.Size
		}
	}
	if u.warned == nil {
		u.warned = map[string]bool{}
	}

	type job = uploadJob
	s := &Summary{Files: len(files)}
	var jobs []job
	runs := map[string]bool{}
	for _, f := range files {
		runs[f.Run] = true
		st, err := os.Stat(f.Path)
		if err != nil {
			continue // gone since the walk
		}
		size := st.Size()
		s.Bytes += size
		k := fileKey{f.Run, f.File}
		have, known := u.remote[k]
		switch {
		case size == 0 && !known:
			// An empty event file is still part of the log dir.
			jobs = append(jobs, job{f, 0, 0, false})
		case size > have:
			hold := u.HoldTail > 0 && now().Sub(st.ModTime()) < u.HoldTail
			jobs = append(jobs, job{f, have, size, hold})
			s.Resumed += have
		case have > size:
			u.warn(s, k, "shrunk", "%s/%s: the server holds %d bytes but the local file has %d: was it replaced? its new bytes are not sent (upload to a new board with --new)", f.Run, f.File, have, size)
			s.Resumed += size
		default:
			s.Resumed += have
		}
	}
	s.Runs = len(runs)

	u.passes++
	p := Progress{FilesTotal: len(jobs), Resumed: s.Resumed, ETA: -1, Pass: u.passes}
	for _, j := range jobs {
		p.BytesTotal += j.to - j.from
	}
	s.FilesSent = len(jobs)
	est := NewEstimator(p.FilesTotal, p.BytesTotal, u.ChunkSize, now)
	report := func(done bool) {
		est.Progress(p.FilesDone, p.BytesDone)
		if u.Progress == nil {
			return
		}
		p.Elapsed = now().Sub(start)
		p.Done = done
		if sec := p.Elapsed.Seconds(); sec > 0 {
			p.Rate = float64(p.BytesDone) / sec
		}
		p.ETA = est.Remaining()
		if done {
			p.ETA = 0
		}
		u.Progress(p)
	}
	queued := len(jobs) > 0 // before batches take some of the jobs
	if queued {
		report(false)
	}
	par := u.Parallel
	if par <= 0 {
		par = DefaultParallel
	}
	var first error
	if !u.noBatch && len(jobs) > 1 {
		// Small runs go in batches (batch.go); the rest file by file below.
		chunk := u.ChunkSize
		if chunk <= 0 {
			chunk = DefaultChunkSize
		}
		jobs, first = u.sendBatches(ctx, s, jobs, chunk, par, func(r requestStat, done []batchDone) {
			u.mu.Lock()
			defer u.mu.Unlock()
			est.Request(r.took, r.raw)
			p.Wire += r.wire
			p.Compressed = p.Compressed || r.compressed
			for _, d := range done {
				p.BytesDone += d.reached - d.job.from
				if d.reached == d.job.to {
					p.FilesDone++
				}
				p.Run, p.File = d.job.Run, d.job.File
			}
			report(false)
		})
	}
	// One job at a time per run, in order; runs in parallel.
	var runOrder []string
	byRun := map[string][]job{}
	for _, j := range jobs {
		if _, ok := byRun[j.Run]; !ok {
			runOrder = append(runOrder, j.Run)
		}
		byRun[j.Run] = append(byRun[j.Run], j)
	}
	sendJob := func(ctx context.Context, j job, buf *[]byte) error {
		reached, complete := j.from, false
		err := u.send(ctx, s, j.LocalFile, j.from, j.to, j.hold, buf, func(off int64, r requestStat) {
			u.mu.Lock()
			defer u.mu.Unlock()
			est.Request(r.took, r.raw)
			p.Wire += r.wire
			p.Compressed = p.Compressed || r.compressed
			off = min(max(off, j.from), j.to)
			p.BytesDone += off - reached
			reached = off
			if reached == j.to && !complete {
				complete = true
				p.FilesDone++
			}
			p.Run, p.File = j.Run, j.File
			report(false)
		})
		if err == nil && reached == j.to && !complete {
			u.mu.Lock()
			p.FilesDone++
			u.mu.Unlock()
		}
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan []job)
	var wg sync.WaitGroup
	for range min(par, len(runOrder)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for js := range queue {
				for _, j := range js {
					if err := sendJob(wctx, j, &buf); err != nil {
						u.mu.Lock()
						if first == nil {
							first = err
						}
						u.mu.Unlock()
						cancel() // the pass fails: stop the others
						break
					}
				}
			}
		}()
	}
	fed := 0
feed:
	for _, run := range runOrder {
		select {
		case queue <- byRun[run]:
			fed++
		case <-wctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if first == nil && fed < len(runOrder) {
		first = ctx.Err() // canceled before every run went out
	}
	s.Sent, s.Wire = p.BytesDone, p.Wire
	s.Elapsed = now().Sub(start)
	if first != nil {
		return s, first
	}
	// An exported board's notes and baselines, now that its runs are up.
	if err := u.applyAnnotations(ctx, s); err != nil {
		return s, err
	}
	if queued && (p.BytesDone > 0 || p.Pass == 1) {
		p.Run, p.File = "", ""
		report(true)
	}
	return s, nil
}

// recordBoundary returns the length of the longest prefix of b made of
// whole TFRecords (8-byte length, its masked CRC-32C, data, data CRC),
// assuming b starts at a record; len(b) when that prefix is empty (one
// record larger than b, or bytes that are not TFRecords).
func recordBoundary(b []byte) int {
	if n, _ := wholeRecords(b); n > 0 {
		return n
	}
	return len(b)
}

// wholeRecords returns the length of the longest prefix of b made of whole
// TFRecords, and whether what follows is the start of a record cut short
// (rather than bytes that do not frame as a record).
func wholeRecords(b []byte) (n int, partial bool) {
	// A record longer than b cannot be whole: cap lengths at len(b), so
	// that nothing is allocated for a length b cannot hold.
	r := tfevents.NewReader(bytes.NewReader(b), tfevents.Options{MaxRecord: uint64(len(b)) + 1})
	for {
		_, err := r.Next()
		switch {
		case err == nil, errors.Is(err, tfevents.ErrBadRecord):
			continue // a whole record, even if its payload is bad
		case errors.Is(err, tfevents.ErrTooLarge):
			return int(r.Offset()), true // its length frames, its bytes are still to come
		}
		return int(r.Offset()), r.Truncated()
	}
}

// maxGaps bounds the 409 answers one file may get in a pass.
const maxGaps = 8

// requestStat describes one request of an upload.
type requestStat struct {
	took       time.Duration
	raw, wire  int64 // the bytes it carried, and its body's size
	compressed bool
}

// send sends the bytes [from, to) of f, calling step with the new offset
// after each request.
func (u *Uploader) send(ctx context.Context, s *Summary, f LocalFile, from, to int64, hold bool, bufp *[]byte, step func(off int64, r requestStat)) error {
	now := u.Now
	if now == nil {
		now = time.Now
	}
	k := fileKey{f.Run, f.File}
	fh, err := os.Open(f.Path)
	if err != nil {
		u.warn(s, k, "open", "%s/%s: %v: skipped", f.Run, f.File, err)
		return nil
	}
	defer fh.Close()
	chunk := u.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	gaps := 0
	off := from
	var notes []string // the server's warnings on the file, as of the last answer
	defer func() { u.serverNotes(s, k, notes) }()
	if to == 0 {
		if _, err := u.Client.Append(ctx, u.Board, u.Token, f.Run, f.File, 0, bytes.NewReader(nil), 0); err != nil {
			return err
		}
		u.setRemote(k, 0)
		return nil
	}
	for off < to {
		n := min(chunk, to-off)
		if int64(cap(*bufp)) < n {
			*bufp = make([]byte, n)
		}
		buf := (*bufp)[:n]
		got, err := fh.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", f.Path, err)
		}
		if got == 0 {
			return nil // the file shrank since the walk
		}
		buf = buf[:got]
		if off+int64(got) < to {
			// Not the last piece: end it at a record boundary, so that no
			// request leaves the server holding half a record.
			buf = buf[:recordBoundary(buf)]
		} else if n, partial := wholeRecords(buf); hold && partial {
			// The last piece ends inside a record being written.
			if n == 0 {
				return nil
			}
			buf = buf[:n]
		}
		t0 := now()
		res, err := u.Client.AppendBytes(ctx, u.Board, u.Token, f.Run, f.File, off, buf)
		took := now().Sub(t0)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Offset != nil {
				// The server holds a different number of bytes than we
				// thought: continue from what it holds.
				gaps++
				if gaps > maxGaps {
					return fmt.Errorf("%s/%s: the server keeps asking for a different offset (last %d): %w", f.Run, f.File, *ae.Offset, err)
				}
				u.setRemote(k, *ae.Offset)
				if *ae.Offset > to {
					u.warn(s, k, "shrunk", "%s/%s: the server holds %d bytes but the local file has %d: was it replaced? its new bytes are not sent (upload to a new board with --new)", f.Run, f.File, *ae.Offset, to)
					return nil
				}
				off = *ae.Offset
				step(off, requestStat{took: took})
				continue
			}
			if errors.As(err, &ae) && ae.Status == http.StatusConflict && gaps < maxGaps {
				// Another writer of the same run got there first: retry.
				gaps++
				if err := sleep(ctx, time.Duration(gaps)*100*time.Millisecond); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("uploading %s/%s at offset %d: %w", f.Run, f.File, off, err)
		}
		notes = res.Warnings
		u.setRemote(k, res.Size)
		r := requestStat{took: took, raw: int64(len(buf)), wire: res.Wire, compressed: res.Encoding != ""}
		if res.Size <= off || res.Size > to {
			// No progress (the server keeps an incomplete record at the
			// end for later), or the server is ahead: done for this pass.
			step(max(off, min(res.Size, to)), r)
			return nil
		}
		off = res.Size
		step(off, r)
	}
	return nil
}

// maxNotes bounds the server warnings shown per file.
const maxNotes = 3

// serverNotes reports the server's warnings on a file once it was sent
// (not after every request: a request that ends inside a record may be
// noted, and the next one completes it).
func (u *Uploader) serverNotes(s *Summary, k fileKey, notes []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var fresh []string
	for _, n := range notes {
		if !u.warned[k.run+"\x00"+k.file+"\x00server:"+n] {
			fresh = append(fresh, n)
		}
	}
	name := k.run + "/" + k.file
	if k.run == "." {
		name = k.file
	}
	for i, n := range fresh {
		if i == maxNotes {
			u.warnLocked(s, k, "server-more:"+strconv.Itoa(len(notes)), "%s: %d more notes from the server", name, len(fresh)-maxNotes)
		}
		if i >= maxNotes {
			u.warned[k.run+"\x00"+k.file+"\x00server:"+n] = true
			continue
		}
		u.warnLocked(s, k, "server:"+n, "%s: %s", name, n)
	}
}

// setRemote records the bytes the server holds of a file.
func (u *Uploader) setRemote(k fileKey, n int64) {
	u.mu.Lock()
	u.remote[k] = n
	u.mu.Unlock()
}

// warn tells the user something once per file and kind.
func (u *Uploader) warn(s *Summary, k fileKey, kind, format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.warnLocked(s, k, kind, format, args...)
}

func (u *Uploader) warnLocked(s *Summary, k fileKey, kind, format string, args ...any) {
	id := k.run + "\x00" + k.file + "\x00" + kind
	if u.warned[id] {
		return
	}
	u.warned[id] = true
	msg := fmt.Sprintf(format, args...)
	s.Warnings = append(s.Warnings, msg)
	if u.Logf != nil {
		u.Logf("%s", msg)
	}
}

// Watch syncs the log dir every Interval until ctx ends (then it returns
// nil): growing files, new files and new runs reach the board as they
// appear. pass, if set, is called after every pass. A server that is down
// or failing (after the client's retries) does not stop the watch; an
// answer that will not change by retrying (a 4xx) does.
func (u *Uploader) Watch(ctx context.Context, pass func(*Summary, error)) error {
	every := u.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := u.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if pass != nil {
			pass(s, err)
		}
		if err != nil {
			if !Transient(err) {
				return err
			}
			u.remote = nil // ask the server again after it comes back
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Transient reports whether err may go away by trying again later: the
// server could not be reached, or answered 5xx or 429.
func Transient(err error) bool {
	if IsUnreachable(err) {
		return true
	}
	s := StatusOf(err)
	return s >= 500 || s == http.StatusTooManyRequests
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
