package benchmark

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"tbhost/client"
	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// Wire is the upload of the run by the client as `tbhost upload` sends
// it (compressed when the server says it takes compressed bodies, zstd
// first): the request body bytes on the wire against the raw bytes.
type Wire struct {
	Raw, Wire int64 // file bytes, request body bytes sent
	Requests  int   // upload requests (file parts)
	Encoding  string
	Duration  time.Duration
}

// Ratio is the bytes on the wire over the raw bytes.
func (w Wire) Ratio() float64 { return ratio(float64(w.Wire), float64(w.Raw)) }

// TargetWireRatio is the most the upload's bytes on the wire may be, as
// a fraction of the raw bytes.
const TargetWireRatio = 0.25

// measureWire uploads the log dir with client.Uploader (its defaults:
// compression on) to a fresh in-process server whose store drops raw
// bytes, counting the request body bytes that leave the client.
func measureWire(ctx context.Context, dir string, raw int64) (*Wire, error) {
	srv, err := hosting.NewServer(hosting.Config{Store: dropRaw{store.NewMem()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	ct := &bodyCounter{rt: ts.Client().Transport}
	c := client.New(ts.URL, client.WithHTTPClient(&http.Client{Transport: ct}))
	b, err := c.CreateBoard(ctx, client.NewBoard{Name: "wire"})
	if err != nil {
		return nil, err
	}
	ct.reset()
	u := &client.Uploader{Client: c, Board: b.ID, Token: b.Token, Dir: dir}
	t0 := time.Now()
	if _, err := u.Sync(ctx); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	w := &Wire{Raw: raw, Wire: ct.bytes.Load(), Requests: int(ct.uploads.Load()), Duration: time.Since(t0)}
	if e, ok := ct.encoding.Load().(string); ok {
		w.Encoding = e
	}
	if w.Encoding == "" {
		w.Encoding = "none"
	}
	return w, nil
}

// bodyCounter counts the request body bytes of uploads (requests with a
// body) that go through it.
type bodyCounter struct {
	rt       http.RoundTripper
	bytes    atomic.Int64
	uploads  atomic.Int64
	encoding atomic.Value // the last Content-Encoding of an upload
}

func (c *bodyCounter) reset() {
	c.bytes.Store(0)
	c.uploads.Store(0)
}

func (c *bodyCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody && r.Method != http.MethodGet {
		c.uploads.Add(1)
		if e := r.Header.Get("Content-Encoding"); e != "" {
			c.encoding.Store(e)
		}
		r2 := r.Clone(r.Context())
		r2.Body = &countingBody{ReadCloser: r.Body, n: &c.bytes}
		return c.rt.RoundTrip(r2)
	}
	return c.rt.RoundTrip(r)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// inspectRounds is how many times inspect and in-process ingest are
// measured, each beside a read + CRC of the same files: the rows report
// the medians.
const inspectRounds = 3

// measureInspect runs tfevents.Inspect (what `tbhost inspect` computes)
// on the run's log dir inspectRounds times, each after a read + CRC of
// the same files, and returns the medians of both.
func measureInspect(dir string, files []genFile) (inspect, base Throughput, err error) {
	var ins, rd []Throughput
	for range inspectRounds {
		r, err := readCRC(files)
		if err != nil {
			return inspect, base, err
		}
		t0 := time.Now()
		rep, err := tfevents.Inspect(dir)
		if err != nil {
			return inspect, base, fmt.Errorf("inspect: %w", err)
		}
		t := Throughput{Duration: time.Since(t0)}
		for _, f := range rep.Files {
			t.Bytes += f.Size
			t.Records += int64(f.Records)
		}
		if t.Bytes != r.Bytes {
			return inspect, base, fmt.Errorf("inspect read %d bytes of %d", t.Bytes, r.Bytes)
		}
		ins, rd = append(ins, t), append(rd, r)
	}
	return medianThroughput(ins), medianThroughput(rd), nil
}

// measureInProcess measures ingestInProcess inspectRounds times, each
// after a read + CRC of the same files, and returns the medians of both.
func measureInProcess(ctx context.Context, files []genFile, chunk int) (in, base Throughput, err error) {
	var ins, rd []Throughput
	for range inspectRounds {
		r, err := readCRC(files)
		if err != nil {
			return in, base, err
		}
		t, err := ingestInProcess(ctx, files, chunk)
		if err != nil {
			return in, base, err
		}
		ins, rd = append(ins, t), append(rd, r)
	}
	return medianThroughput(ins), medianThroughput(rd), nil
}

// medianThroughput returns the measurement of median duration.
func medianThroughput(ts []Throughput) Throughput {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b Throughput) int { return cmp.Compare(a.Duration, b.Duration) })
	return s[len(s)/2]
}
