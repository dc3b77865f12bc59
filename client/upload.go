package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultChunkSize is how many bytes one upload request carries at most.
const DefaultChunkSize = 8 << 20

// DefaultInterval is how often Watch looks for new bytes.
const DefaultInterval = 5 * time.Second

// Uploader sends the event files of a log dir to a board. It asks the
// server once how much of each file it holds and from then on sends only
// the bytes the server is missing, so running it again after an
// interruption resumes, and Watch keeps a growing log dir in sync.
//
// An Uploader is not safe for concurrent use.
type Uploader struct {
	Client *Client
	Board  string // board id
	Token  string // the board's write token
	Dir    string // the log dir

	// ChunkSize bounds the bytes of one request (DefaultChunkSize when 0).
	ChunkSize int64
	// Interval is Watch's poll period (DefaultInterval when 0).
	Interval time.Duration
	// Walk lists the log dir's event files (WalkLogDir when nil).
	Walk WalkFunc
	// Progress, if set, is called as bytes go out.
	Progress func(Progress)
	// Logf, if set, receives notes meant for the user (warnings).
	Logf func(format string, args ...any)

	remote map[fileKey]int64 // bytes the server holds, per file
	warned map[string]bool
	buf    []byte
}

type fileKey struct{ run, file string }

// Progress reports an upload pass.
type Progress struct {
	Run, File  string // the file being sent
	FilesDone  int    // files of this pass sent completely
	FilesTotal int    // files with bytes to send in this pass
	BytesDone  int64
	BytesTotal int64         // bytes to send in this pass
	Resumed    int64         // bytes the server already held (not sent again)
	Elapsed    time.Duration // since the pass started
	Rate       float64       // bytes per second over the pass
	ETA        time.Duration // -1 when unknown
	Done       bool          // the pass is over
}

// Summary describes one pass over the log dir.
type Summary struct {
	Runs, Files int   // runs and event files in the log dir
	Bytes       int64 // their total size
	Sent        int64 // bytes sent in this pass
	FilesSent   int   // files that had bytes to send
	Resumed     int64 // bytes the server already held at the start of the pass
	Elapsed     time.Duration
	Warnings    []string
}

// Sync makes one pass: it sends every byte of the log dir the server does
// not hold yet.
func (u *Uploader) Sync(ctx context.Context) (*Summary, error) {
	start := time.Now()
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

	type job struct {
		LocalFile
		from, to int64
	}
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
		have := u.remote[k]
		switch {
		case size > have:
			jobs = append(jobs, job{f, have, size})
			s.Resumed += have
		case have > size:
			u.warn(s, k, "shrunk", "%s/%s: the server holds %d bytes but the local file has %d: was it replaced? its new bytes are not sent (upload to a new board with --new)", f.Run, f.File, have, size)
			s.Resumed += size
		default:
			s.Resumed += have
		}
	}
	s.Runs = len(runs)

	p := Progress{FilesTotal: len(jobs), Resumed: s.Resumed, ETA: -1}
	for _, j := range jobs {
		p.BytesTotal += j.to - j.from
	}
	s.FilesSent = len(jobs)
	report := func(done bool) {
		if u.Progress == nil {
			return
		}
		p.Elapsed = time.Since(start)
		p.Done = done
		if sec := p.Elapsed.Seconds(); sec > 0 {
			p.Rate = float64(p.BytesDone) / sec
		}
		p.ETA = -1
		if p.Rate > 0 {
			p.ETA = time.Duration(float64(p.BytesTotal-p.BytesDone) / p.Rate * float64(time.Second))
		}
		u.Progress(p)
	}
	if len(jobs) > 0 {
		report(false)
	}
	for _, j := range jobs {
		p.Run, p.File = j.Run, j.File
		base := p.BytesDone
		err := u.send(ctx, s, j.LocalFile, j.from, j.to, func(off int64) {
			p.BytesDone = base + min(max(off-j.from, 0), j.to-j.from)
			report(false)
		})
		if err != nil {
			s.Sent = p.BytesDone
			s.Elapsed = time.Since(start)
			return s, err
		}
		p.BytesDone = base + (j.to - j.from)
		p.FilesDone++
	}
	s.Sent = p.BytesDone
	s.Elapsed = time.Since(start)
	if len(jobs) > 0 {
		p.Run, p.File = "", ""
		report(true)
	}
	return s, nil
}

// maxGaps bounds the 409 answers one file may get in a pass.
const maxGaps = 8

// send sends the bytes [from, to) of f, calling step with the new offset
// after each request.
func (u *Uploader) send(ctx context.Context, s *Summary, f LocalFile, from, to int64, step func(off int64)) error {
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
	for off < to {
		n := min(chunk, to-off)
		if int64(cap(u.buf)) < n {
			u.buf = make([]byte, n)
		}
		buf := u.buf[:n]
		got, err := fh.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", f.Path, err)
		}
		if got == 0 {
			return nil // the file shrank since the walk
		}
		buf = buf[:got]
		res, err := u.Client.Append(ctx, u.Board, u.Token, f.Run, f.File, off, bytes.NewReader(buf), int64(got))
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Offset != nil {
				// The server holds a different number of bytes than we
				// thought: continue from what it holds.
				gaps++
				if gaps > maxGaps {
					return fmt.Errorf("%s/%s: the server keeps asking for a different offset (last %d): %w", f.Run, f.File, *ae.Offset, err)
				}
				u.remote[k] = *ae.Offset
				if *ae.Offset > to {
					u.warn(s, k, "shrunk", "%s/%s: the server holds %d bytes but the local file has %d: was it replaced? its new bytes are not sent (upload to a new board with --new)", f.Run, f.File, *ae.Offset, to)
					return nil
				}
				off = *ae.Offset
				step(off)
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
		for _, w := range res.Warnings {
			u.warn(s, k, "server:"+w, "%s/%s: %s", f.Run, f.File, w)
		}
		u.remote[k] = res.Size
		if res.Size <= off || res.Size > to {
			// No progress (the server keeps an incomplete record at the
			// end for later), or the server is ahead: done for this pass.
			step(to)
			return nil
		}
		off = res.Size
		step(off)
	}
	return nil
}

func (u *Uploader) warn(s *Summary, k fileKey, kind, format string, args ...any) {
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
