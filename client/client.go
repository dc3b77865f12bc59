// Package client is the Go client of the tbhost HTTP API: one method per
// API call, an Uploader that sends a log dir to a board (with resume, watch
// and progress), the local token file (Config), and exports.
//
// Network errors and 5xx answers are retried with a bounded exponential
// backoff that honours the context; other answers come back as *APIError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultServer is the server used when none is configured.
const DefaultServer = "http://localhost:6006"

// Client talks to one tbhost server. It is safe for concurrent use.
type Client struct {
	base        string
	hc          *http.Client
	viewKey     string
	uploadToken string
	readToken   string
	retry       RetryPolicy
	onRetry     func(err error, attempt int, wait time.Duration)
	userAgent   string
	noCompress  bool        // send upload bodies as they are
	codings     codingState // the codings the server takes in requests
}

// RetryPolicy bounds the retries of a request that failed with a network
// error, a 5xx answer or 429. The wait before retry k (1-based) is
// Base·2^(k-1), capped at Max, or the server's Retry-After when it is
// shorter than Max.
type RetryPolicy struct {
	// Attempts is the total number of tries (at least 1).
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// DefaultRetry is the policy of a new Client: 6 tries over about 8 s.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 250 * time.Millisecond, Max: 8 * time.Second}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithViewKey sends key with every read, for private boards.
func WithViewKey(key string) Option { return func(c *Client) { c.viewKey = key } }

// WithReadToken sends a board's write token with reads too, which the
// server accepts instead of the view key of a private board.
func WithReadToken(token string) Option { return func(c *Client) { c.readToken = token } }

// WithUploadToken sends token as the bearer of CreateBoard, for servers
// that only let holders of their upload token create boards.
func WithUploadToken(token string) Option { return func(c *Client) { c.uploadToken = token } }

// WithRetry replaces the retry policy.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) {
		if p.Attempts < 1 {
			p.Attempts = 1
		}
		c.retry = p
	}
}

// WithRetryNotify calls f before each retry with the error that caused it.
func WithRetryNotify(f func(err error, attempt int, wait time.Duration)) Option {
	return func(c *Client) { c.onRetry = f }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (e.g. "http://localhost:6006";
// a path prefix is kept). An empty baseURL means DefaultServer.
func New(baseURL string, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultServer
	}
	c := &Client{
		base:      NormalizeServer(baseURL),
		hc:        http.DefaultClient,
		retry:     DefaultRetry,
		userAgent: "tbhost-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NormalizeServer returns the server URL in the form the client and the
// token file use: with a scheme (http:// when missing), without a trailing
// slash.
func NormalizeServer(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && !strings.Contains(s, "://") {
		s = "http://" + s
	}
	return strings.TrimRight(s, "/")
}

// Server returns the server's base URL.
func (c *Client) Server() string { return c.base }

// request describes one API call.
type request struct {
	method string
	path   string // below the base URL, starting with "/"
	query  url.Values
	token  string // bearer token, if any
	// body returns the body for one attempt; nil for none. A body that
	// cannot be replayed returns errNoReplay on the second call.
	body        func() (io.Reader, error)
	length      int64 // body length, -1 when unknown
	contentType string
	// contentEncoding is the body's Content-Encoding ("" for none).
	contentEncoding string
	read            bool // a read: send the view key
}

var errNoReplay = errors.New("request body cannot be replayed")

func (c *Client) url(r *request) string {
	u := c.base + r.path
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends r, retrying per the policy, and returns a 2xx response whose
// body the caller closes. Any other answer is returned as *APIError; a
// network error that outlasts the retries as *UnreachableError.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, r)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errNoReplay) {
			return nil, lastErr
		}
		lastErr = err
		wait, retryable := c.backoff(err, attempt)
		if !retryable || attempt >= c.retry.Attempts {
			return nil, err
		}
		if c.onRetry != nil {
			c.onRetry(err, attempt, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// once sends r one time.
func (c *Client) once(ctx context.Context, r *request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := r.body()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.url(r), body)
	if err != nil {
		return nil, fmt.Errorf("bad request to tbhost server %s: %w", c.base, err)
	}
	if body != nil {
		req.ContentLength = r.length
		if r.length == 0 {
			req.Body = http.NoBody
		}
		// The transport must not retry on its own with a consumed body.
		req.GetBody = nil
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.contentEncoding != "" {
		req.Header.Set("Content-Encoding", r.contentEncoding)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	} else if r.read && c.readToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.readToken)
	}
	if r.read && c.viewKey != "" {
		req.Header.Set("X-Tbhost-Key", c.viewKey)
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Server: c.base, Err: err}
	}
	c.codings.learn(resp.Header)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(req, resp)
}

// backoff returns how long to wait before retrying after err, and whether
// err is worth retrying at all.
func (c *Client) backoff(err error, attempt int) (time.Duration, bool) {
	wait := c.retry.Base << (attempt - 1)
	if wait > c.retry.Max || wait <= 0 {
		wait = c.retry.Max
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return wait, true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests, ae.Status >= 500 && ae.Status != http.StatusNotImplemented:
			if ae.RetryAfter > 0 && ae.RetryAfter < c.retry.Max {
				wait = ae.RetryAfter
			}
			return wait, true
		}
	}
	return 0, false
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

func decodeError(req *http.Request, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, Method: req.Method, Path: req.URL.Path}
	var body struct {
		Error  string `json:"error"`
		Offset *int64 `json:"offset"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message = body.Error
		e.Offset = body.Offset
	} else {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 || strings.HasPrefix(msg, "<") {
			msg = ""
		}
		e.Message = msg
		if json.Unmarshal(data, &body) == nil {
			e.Offset = body.Offset
		}
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}

// doJSON sends r and decodes a JSON answer into out (unless out is nil).
// The whole answer is read inside the retry loop's attempt, so a broken
// connection while reading is retried too.
func (c *Client) doJSON(ctx context.Context, r *request, out any) error {
	var lastErr error
	for attempt := 1; ; attempt++ {
		err := c.doJSONOnce(ctx, r, out)
		if err == nil {
			return nil
		}
		var ue *UnreachableError
		if !errors.As(err, &ue) || !ue.afterHeader || ctx.Err() != nil {
			// Only failures while reading the answer come back here; the
			// rest were retried by do.
			return err
		}
		lastErr = err
		if attempt >= c.retry.Attempts {
			return lastErr
		}
		wait, _ := c.backoff(err, attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) doJSONOnce(ctx context.Context, r *request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Server: c.base, Err: err, afterHeader: true}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unexpected answer from tbhost server %s to %s %s: %v", c.base, r.method, r.path, err)
	}
	return nil
}

// jsonBody returns a replayable JSON request body.
func jsonBody(v any) (func() (io.Reader, error), int64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	return func() (io.Reader, error) { return bytes.NewReader(data), nil }, int64(len(data)), nil
}
