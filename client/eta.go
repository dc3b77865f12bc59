package client

import (
	"math"
	"time"
)

// Estimator estimates how long the rest of an upload takes from what its
// requests have cost so far. It models a request's time as
//
//	a + b·bytes
//
// where a is the cost of a request (a round trip, the server opening the
// file and storing a part) and b the cost of a byte (bandwidth, the
// server's parsing), fitted by least squares over the requests made; and
// the upload's pace as that time spread over the requests running at once
// (the time the requests took, over the time they took it in). What is
// left is then a·(requests left) + b·(bytes left) at that pace, where the
// requests left are one per file left plus one per chunk of the bytes
// left. So a sweep of thousands of small files, whose bytes are a fraction
// of its cost, gets an honest estimate from its first seconds, where a
// bytes-only estimate (bytes left at the byte rate so far) is off by as
// much as the requests' share of the cost; and a mix of big and small
// files is estimated from what each kind costs, not from the mix sent
// first.
//
// Both costs are kept non-negative. While every request carried as many
// bytes as the others, the fit cannot tell a from b: full chunks count as
// bytes, smaller requests as requests, until requests of another size
// come.
//
// An Estimator is not safe for concurrent use.
type Estimator struct {
	now          func() time.Time
	start, last  time.Time
	files, bytes float64 // the totals
	chunk        float64
	doneFiles    float64 // progress so far
	doneBytes    float64
	// Sums over requests: count, bytes, bytes², time, bytes·time.
	sn, sx, sxx, sy, sxy float64
	busy                 float64 // seconds the requests took, together
}

// NewEstimator returns an estimator of an upload of files files holding
// bytes bytes in all, sent in requests of at most chunk bytes
// (DefaultChunkSize when ≤ 0), starting now. now is the clock (time.Now
// when nil).
func NewEstimator(files int, bytes, chunk int64, now func() time.Time) *Estimator {
	if now == nil {
		now = time.Now
	}
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	t := now()
	return &Estimator{now: now, start: t, last: t, files: float64(files), bytes: float64(bytes), chunk: float64(chunk)}
}

// Request records one request: it took d and carried n bytes.
func (e *Estimator) Request(d time.Duration, n int64) {
	y, x := max(d.Seconds(), 0), float64(max(n, 0))
	e.sn++
	e.sx += x
	e.sxx += x * x
	e.sy += y
	e.sxy += x * y
	e.busy += y
}

// Progress records the upload's progress: files complete and bytes sent
// so far (both since the start).
func (e *Estimator) Progress(files int, bytes int64) {
	e.doneFiles = min(max(float64(files), 0), e.files)
	e.doneBytes = min(max(float64(bytes), 0), e.bytes)
	if t := e.now(); t.After(e.last) {
		e.last = t
	}
}

// fit returns a and b: the seconds of a request and of a byte.
func (e *Estimator) fit() (perRequest, perByte float64) {
	if e.sn == 0 {
		return 0, 0
	}
	mx, my := e.sx/e.sn, e.sy/e.sn
	varx := e.sxx/e.sn - mx*mx
	switch {
	case varx <= 1e-9*mx*mx:
		// Requests of one size: full chunks are bandwidth, smaller ones
		// round trips.
		if mx >= e.chunk {
			return 0, my / mx
		}
		return my, 0
	default:
		perByte = (e.sxy/e.sn - mx*my) / varx
	}
	perRequest = my - perByte*mx
	switch {
	case perByte < 0:
		return my, 0
	case perRequest < 0:
		return 0, e.sxy / e.sxx
	}
	return perRequest, perByte
}

// Remaining returns the estimated time the upload still needs, or -1
// while no request has been seen to take time. The time since the last
// progress counts as spent on what comes next.
func (e *Estimator) Remaining() time.Duration {
	wall := e.last.Sub(e.start).Seconds()
	if e.busy <= 0 || wall <= 0 {
		return -1
	}
	a, b := e.fit()
	filesLeft, bytesLeft := e.files-e.doneFiles, e.bytes-e.doneBytes
	work := a*(filesLeft+bytesLeft/e.chunk) + b*bytesLeft
	left := work/(e.busy/wall) - max(e.now().Sub(e.last).Seconds(), 0)
	return seconds(max(left, 0))
}

// Costs returns the fitted costs: the time a request takes beyond its
// bytes, the time a MiB takes, and how many requests ran at once on
// average.
func (e *Estimator) Costs() (perRequest, perMiB time.Duration, parallel float64) {
	a, b := e.fit()
	if wall := e.last.Sub(e.start).Seconds(); wall > 0 {
		parallel = e.busy / wall
	}
	return seconds(a), seconds(b * (1 << 20)), parallel
}

// seconds converts s seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}
