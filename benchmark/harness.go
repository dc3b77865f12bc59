package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
)

// harness is an in-process tbhost server on a loopback port. The
// hosting.Server behind the port can be replaced (fresh) to start again
// with an empty cache on the same store, as a restarted process would.
type harness struct {
	store  store.Store
	srv    atomic.Pointer[hosting.Server]
	hs     *http.Server
	ln     net.Listener
	base   string
	client *http.Client
	served chan error
}

func newHarness(store store.Store) (*harness, error) {
	h := &harness{store: store, served: make(chan error, 1)}
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h.ln = ln
	h.base = "http://" + ln.Addr().String()
	h.hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { h.served <- h.hs.Serve(ln) }()
	h.client = &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
	return h, nil
}

func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.srv.Load().Handler().ServeHTTP(w, r)
}

// fresh puts a new server on the same store behind the port and returns
// it; ttl is its cache TTL (0: hosting's default; < 0: no expiry).
// The server it replaces writes its checkpoints first, as at a graceful
// shutdown.
func (h *harness) fresh(ttl time.Duration) (*hosting.Server, error) {
	if err := h.flush(); err != nil {
		return nil, err
	}
	s, err := hosting.NewServer(hosting.Config{Store: h.store, CacheTTL: ttl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	s.EnableOps()
	h.srv.Store(s)
	return s, nil
}

// flush makes the server write its pending checkpoints.
func (h *harness) flush() error {
	old := h.srv.Load()
	if old == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := old.Flush(ctx); err != nil {
		return fmt.Errorf("flush checkpoints: %w", err)
	}
	return nil
}

func (h *harness) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.hs.Shutdown(ctx)
	h.client.CloseIdleConnections()
	<-h.served
}

// do sends a request and reads the whole answer; a status other than want
// is an error.
// The load rows ask for gzip as browsers do (acceptEncoding "gzip") and
// read the answer without decompressing it, as the browser would on its
// own machine.
func (h *harness) do(ctx context.Context, method, path, token, acceptEncoding string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	var data []byte
	if resp.StatusCode == want && acceptEncoding == "gzip" {
		// A load row: read the answer through, keep nothing (the harness
		// shares the machine with the server: its garbage would be the
		// server's GC work).
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		data, err = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		if len(data) > 300 {
			data = data[:300]
		}
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	return data, nil
}

type board struct{ ID, Token string }

func (h *harness) createBoard(ctx context.Context, name string) (board, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	data, err := h.do(ctx, http.MethodPost, "/api/boards", "", "", body, http.StatusCreated)
	if err != nil {
		return board{}, err
	}
	var b board
	if err := json.Unmarshal(data, &b); err != nil || b.ID == "" || b.Token == "" {
		return board{}, fmt.Errorf("create board: unexpected answer %s", data)
	}
	return b, nil
}

// upload sends the files in order as run runName, in PUT requests of chunk
// bytes, stopping after limit bytes in all (the last file sent may be cut
// short). It returns the bytes sent.
func (h *harness) upload(ctx context.Context, b board, files []genFile, chunk int, limit int64) (int64, error) {
	return eachChunk(files, chunk, limit, func(f genFile, off int64, p []byte) error {
		path := fmt.Sprintf("/api/boards/%s/files?run=%s&file=%s&offset=%d", b.ID, url.QueryEscape(runName), url.QueryEscape(f.Name), off)
		data, err := h.do(ctx, http.MethodPut, path, b.Token, "", p, http.StatusOK)
		if err != nil {
			return err
		}
		var res struct{ Size int64 }
		if err := json.Unmarshal(data, &res); err != nil || res.Size != off+int64(len(p)) {
			return fmt.Errorf("upload %s at %d: the server holds %d bytes, want %d (%s)", f.Name, off, res.Size, off+int64(len(p)), data)
		}
		return nil
	})
}

// eachChunk reads the files in order, in pieces of chunk bytes, until
// limit bytes, and gives each piece to do (which must not keep it). It
// returns the bytes given.
func eachChunk(files []genFile, chunk int, limit int64, do func(f genFile, off int64, p []byte) error) (int64, error) {
	buf := make([]byte, chunk)
	var sent int64
	for _, f := range files {
		if sent >= limit {
			break
		}
		fd, err := os.Open(f.Path)
		if err != nil {
			return sent, err
		}
		for off := int64(0); off < f.Size && sent < limit; {
			n := int(min(int64(chunk), f.Size-off, limit-sent))
			if _, err := fd.ReadAt(buf[:n], off); err != nil {
				fd.Close()
				return sent, fmt.Errorf("read %s: %w", f.Path, err)
			}
			if err := do(f, off, buf[:n]); err != nil {
				fd.Close()
				return sent, err
			}
			off += int64(n)
			sent += int64(n)
		}
		fd.Close()
	}
	return sent, nil
}

func scalarPath(id, tag string) string {
	return fmt.Sprintf("/api/boards/%s/scalars?run=%s&tag=%s&width=1000", id, url.QueryEscape(runName), url.QueryEscape(tag))
}

// scalarCount queries a scalar series and returns its stats.count.
func (h *harness) scalarCount(ctx context.Context, id, tag string) (int64, error) {
	data, err := h.do(ctx, http.MethodGet, scalarPath(id, tag), "", "", nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	var res struct {
		Points [][3]any `json:"points"`
		Stats  struct {
			Count int64 `json:"count"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return 0, fmt.Errorf("scalar answer: %w", err)
	}
	if len(res.Points) == 0 {
		return 0, errors.New("scalar answer has no points")
	}
	return res.Stats.Count, nil
}

// load sends n GET requests from clients concurrent clients (each waits
// for its answer before sending the next) and returns every latency. No
// request starts after limit has passed: the answer may then hold fewer
// than n latencies.
func (h *harness) load(ctx context.Context, clients, n int, limit time.Duration, path func(i int) string) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(limit)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if time.Now().After(deadline) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := h.do(ctx, http.MethodGet, path(i), "", "gzip", nil, http.StatusOK)
				lat[i] = time.Since(t0)
				if err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	// Keep the latencies of the requests that were answered.
	out := lat[:0]
	for _, d := range lat {
		if d > 0 {
			out = append(out, d)
		}
	}
	if int64(len(out)) != done.Load() && first == nil {
		first = fmt.Errorf("load: %d answers, %d latencies", done.Load(), len(out))
	}
	return out, first
}

// coldRound puts a fresh server (empty cache) behind the port and sends
// one request from each of clients clients at once.
func (h *harness) coldRound(ctx context.Context, clients int, path func(i int) string) ([]time.Duration, error) {
	if _, err := h.fresh(serveTTL); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, clients)
	errs := make([]error, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			_, errs[i] = h.do(ctx, http.MethodGet, path(i), "", "gzip", nil, http.StatusOK)
			lat[i] = time.Since(t0)
		}()
	}
	close(start)
	wg.Wait()
	return lat, errors.Join(errs...)
}

// percentile returns the p-th percentile (0 < p ≤ 100) of d, by the
// nearest-rank method; d is sorted in place.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	rank := int(float64(len(d))*p/100+0.999999) - 1
	return d[min(max(rank, 0), len(d)-1)]
}
