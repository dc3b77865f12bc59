package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Batched uploads. A sweep of thousands of runs holds thousands of small
// files: one request per file costs far more than the bytes. The Uploader
// packs small runs (every file left to send, together, at most a quarter
// of ChunkSize) into batches of up to ChunkSize bytes and batchPieces
// files, sent to POST /api/boards/:id/batch in parallel; larger runs go
// file by file in chunks as before. A server without the route (404 or
// 405) gets everything file by file. A run any of whose pieces failed is
// sent again file by file from the offsets the server gave, which handles
// gaps, retries and errors as for any file.

// BatchPiece is one append of a batch: Data are the bytes of Run/File
// from Offset on.
type BatchPiece struct {
	Run, File string
	Offset    int64
	Data      []byte
}

// BatchResult is the server's answer for one piece: the file's state
// (AppendResult), or Status and Error when it was not applied (Offset set
// on a gap: the bytes the server holds).
type BatchResult struct {
	AppendResult
	Status int    `json:"status"`
	Error  string `json:"error"`
	Offset *int64 `json:"offset"`
}

// Batch is the answer to a batch.
type Batch struct {
	Pieces   []BatchResult `json:"pieces"`
	Wire     int64         `json:"-"` // the body's size, after compression
	Encoding string        `json:"-"` // its Content-Encoding ("" for none)
}

// batchContentType is the media type of a batch body.
const batchContentType = "application/vnd.tbhost.batch"

// encodeBatch appends pieces to dst in the batch wire format: "TBB1", then
// per piece the uvarint-prefixed run and file names, the uvarint offset,
// and the uvarint-prefixed bytes.
func encodeBatch(dst []byte, pieces []BatchPiece) []byte {
	dst = append(dst, "TBB1"...)
	for _, p := range pieces {
		dst = binary.AppendUvarint(dst, uint64(len(p.Run)))
		dst = append(dst, p.Run...)
		dst = binary.AppendUvarint(dst, uint64(len(p.File)))
		dst = append(dst, p.File...)
		dst = binary.AppendUvarint(dst, uint64(p.Offset))
		dst = binary.AppendUvarint(dst, uint64(len(p.Data)))
		dst = append(dst, p.Data...)
	}
	return dst
}

// AppendBatch sends pieces to many files of many runs in one request
// (retried per the client's policy, compressed when the server takes it,
// like AppendBytes). A run's pieces apply in order. The answer has one
// result per piece; an error is for the request as a whole (a server
// without batches answers 404 or 405: send the pieces with AppendBytes).
func (c *Client) AppendBatch(ctx context.Context, board, token string, pieces []BatchPiece) (*Batch, error) {
	var out Batch
	wire, coding, err := c.doCompressed(ctx, request{method: http.MethodPost, path: boardPath(board) + "/batch",
		token: token, contentType: batchContentType}, encodeBatch(nil, pieces), &out)
	if err != nil {
		return nil, err
	}
	if len(out.Pieces) != len(pieces) {
		return nil, fmt.Errorf("tbhost server %s answered %d pieces of a batch of %d", c.base, len(out.Pieces), len(pieces))
	}
	out.Wire, out.Encoding = wire, coding
	return &out, nil
}

// batchPieces bounds the files of one batch, so that a sweep goes out in
// several requests at once, and its progress moves.
const batchPieces = 1000

// noBatches reports whether err says the server has no batch route.
func noBatches(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed)
}

// uploadJob is the bytes [from, to) of a file to send in a pass; hold
// keeps back a record still being written at its end.
type uploadJob struct {
	LocalFile
	from, to int64
	hold     bool
}

// batchStep reports a batch's progress: the request, and per piece the
// job, the offset reached and whether the piece was applied.
type batchStep func(r requestStat, done []batchDone)

type batchDone struct {
	job     uploadJob
	reached int64
}

// sendBatches sends the runs of jobs whose files are all small in
// batches, par at a time, and returns the jobs left to send file by file:
// larger runs, runs a piece of which failed (from where the server
// stands), and every run when the server has no batches.
func (u *Uploader) sendBatches(ctx context.Context, s *Summary, jobs []uploadJob, chunk int64, par int, step batchStep) ([]uploadJob, error) {
	var order []string
	byRun := map[string][]uploadJob{}
	for _, j := range jobs {
		if _, ok := byRun[j.Run]; !ok {
			order = append(order, j.Run)
		}
		byRun[j.Run] = append(byRun[j.Run], j)
	}
	// Pack the small runs, whole, into batches.
	var left []uploadJob
	var batches [][]uploadJob
	var cur []uploadJob
	var curBytes int64
	for _, run := range order {
		js := byRun[run]
		var n int64
		for _, j := range js {
			n += j.to - j.from
		}
		if n > chunk/4 {
			left = append(left, js...)
			continue
		}
		if len(cur) > 0 && (curBytes+n > chunk || len(cur)+len(js) > batchPieces) {
			batches = append(batches, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, js...)
		curBytes += n
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	if len(batches) == 0 {
		return jobs, nil
	}

	var mu sync.Mutex
	var first error
	var retry []uploadJob // runs to send again file by file
	unsupported := false
	work := make(chan []uploadJob)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(par, len(batches)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				again, err := u.sendBatch(wctx, s, b, step)
				mu.Lock()
				switch {
				case err != nil && noBatches(err):
					unsupported = true
					retry = append(retry, b...)
					cancel()
				case err != nil:
					if first == nil {
						first = err
					}
					cancel()
				default:
					retry = append(retry, again...)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-wctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if unsupported {
		u.noBatch = true
		return jobs, nil // (offsets the batches reached are in u.remote: send continues from them)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append(retry, left...), nil
}

// sendBatch sends one batch of jobs and returns the jobs of the runs that
// must go again file by file, from where the server stands.
func (u *Uploader) sendBatch(ctx context.Context, s *Summary, jobs []uploadJob, step batchStep) ([]uploadJob, error) {
	now := u.Now
	if now == nil {
		now = time.Now
	}
	pieces := make([]BatchPiece, 0, len(jobs))
	sent := make([]uploadJob, 0, len(jobs))
	var raw int64
	for _, j := range jobs {
		data, ok := u.readJob(s, j)
		if !ok {
			continue
		}
		pieces = append(pieces, BatchPiece{Run: j.Run, File: j.File, Offset: j.from, Data: data})
		sent = append(sent, j)
		raw += int64(len(data))
	}
	if len(pieces) == 0 {
		return nil, nil
	}
	t0 := now()
	res, err := u.Client.AppendBatch(ctx, u.Board, u.Token, pieces)
	took := now().Sub(t0)
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	done := make([]batchDone, 0, len(sent))
	for i, r := range res.Pieces {
		j := sent[i]
		k := fileKey{j.Run, j.File}
		if r.Status != 0 {
			failed[j.Run] = true
			if r.Status == http.StatusConflict && r.Offset != nil {
				u.setRemote(k, *r.Offset)
			}
			continue
		}
		u.setRemote(k, r.Size)
		u.serverNotes(s, k, r.Warnings)
		done = append(done, batchDone{job: j, reached: min(r.Size, j.to)})
	}
	var again []uploadJob
	for _, j := range jobs {
		if !failed[j.Run] {
			continue
		}
		u.mu.Lock()
		have, known := u.remote[fileKey{j.Run, j.File}]
		u.mu.Unlock()
		if known {
			if have >= j.to && j.to > 0 {
				continue // its piece was applied
			}
			from := min(have, j.to) // where the server stands
			if from > j.from {
				done = append(done, batchDone{job: j, reached: from}) // it holds more
			}
			j.from = from
		}
		again = append(again, j)
	}
	step(requestStat{took: took, raw: raw, wire: res.Wire, compressed: res.Encoding != ""}, done)
	return again, nil
}

// readJob reads the bytes of a small job, holding back a record still
// being written at its end when the job says so; false when there is
// nothing to send now.
func (u *Uploader) readJob(s *Summary, j uploadJob) ([]byte, bool) {
	k := fileKey{j.Run, j.File}
	f, err := os.Open(j.Path)
	if err != nil {
		u.warn(s, k, "open", "%s/%s: %v: skipped", j.Run, j.File, err)
		return nil, false
	}
	defer f.Close()
	data := make([]byte, j.to-j.from)
	n, err := f.ReadAt(data, j.from)
	if err != nil && !errors.Is(err, io.EOF) {
		u.warn(s, k, "read", "%s/%s: %v: skipped", j.Run, j.File, err)
		return nil, false
	}
	data = data[:n]
	if n == 0 && j.to > 0 {
		return nil, false // shrunk since the walk
	}
	if m, partial := wholeRecords(data); j.hold && partial {
		if m == 0 {
			return nil, false
		}
		data = data[:m]
	}
	return data, true
}
