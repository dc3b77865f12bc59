// Package web is what tbhost's HTTP APIs share: the one adapter that
// renders a handler's error with the status of its kind, the credentials
// a request presents, revalidation by ETag from the versions of the runs
// an answer reads, a cache of encoded answers, and JSON numbers in
// TensorBoard's spelling. The native API (package hosting) and the
// TensorBoard-compatible one (package tensorboard) are built on it.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/golang-lru/v2/simplelru"

	"tbhost/frontend"
	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
)

// HandlerFunc is a handler that returns its error for the adapter.
type HandlerFunc func(c *gin.Context) error

// Handlers holds what every handler needs: the engine and the encoded
// answers cache, and the one error adapter.
type Handlers struct {
	Engine  *engine.Engine
	Answers *Answers
	Log     *slog.Logger
}

// Handle adapts h: it renders the returned error as JSON {"error": ...}
// (plus "offset" on an upload gap) with the status of its kind. Internal
// errors are logged and shown as a generic sentence.
func (hs *Handlers) Handle(h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		status := kind.Status(err)
		body := gin.H{"error": err.Error()}
		var e *kind.Error
		if errors.As(err, &e) && e.Offset != nil {
			body["offset"] = *e.Offset
		}
		if status == http.StatusInternalServerError {
			hs.Log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
			body["error"] = "internal error: the server could not complete the request; try again, and report it if it persists"
		}
		if c.Writer.Written() {
			return
		}
		c.AbortWithStatusJSON(status, body)
	}
}

// Bearer returns the request's bearer token.
func Bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// ViewKey returns the view key a request presents (?key= or X-Tbhost-Key).
func ViewKey(c *gin.Context) string {
	if k := c.Query("key"); k != "" {
		return k
	}
	return c.GetHeader("X-Tbhost-Key")
}

// QueryInt reads an integer query parameter.
func QueryInt(c *gin.Context, name string, def int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, kind.Errorf(kind.Invalid, "query parameter %s=%q is not an integer", name, v)
	}
	return n, nil
}

// ReadableBoard loads the board named by the :id parameter and checks the
// request may read it.
func (hs *Handlers) ReadableBoard(c *gin.Context) (*engine.Board, error) {
	b, err := hs.Engine.Board(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if err := b.CanRead(ViewKey(c), Bearer(c)); err != nil {
		return nil, err
	}
	return b, nil
}

// WritableBoard loads the board named by :id and checks the write token.
func (hs *Handlers) WritableBoard(c *gin.Context) (*engine.Board, error) {
	b, err := hs.Engine.Board(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if err := b.CanWrite(Bearer(c)); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadableRuns loads the board and its runs, and answers 304 when the
// client has this version (see Revalidated). done reports that the answer
// is sent.
func (hs *Handlers) ReadableRuns(c *gin.Context) (b *engine.Board, runs []*engine.Run, done bool, err error) {
	b, err = hs.ReadableBoard(c)
	if err != nil {
		return nil, nil, false, err
	}
	runs, err = hs.Engine.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return nil, nil, false, err
	}
	return b, runs, Revalidated(c, b, runs...), nil
}

// ETag names the version of an answer: the request and the versions of
// the board and runs it reads.
func ETag(c *gin.Context, b *engine.Board, runs ...*engine.Run) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%t|", b.ID, c.Request.URL.RequestURI(), b.Updated, b.Private)
	for _, r := range runs {
		fmt.Fprintf(h, "%s:%d:%d|", r.Key(), r.Gen(), r.Size())
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// NotModified sets ETag and Cache-Control from the runs' versions and
// the request, and answers 304 when the client has that version.
func NotModified(c *gin.Context, b *engine.Board, runs ...*engine.Run) bool {
	return NotModifiedETag(c, b, ETag(c, b, runs...))
}

// NotModifiedETag is NotModified for an answer whose version etag names
// more than its runs (ETag extended, as the runs answer does with the
// board's annotations).
func NotModifiedETag(c *gin.Context, b *engine.Board, etag string) bool {
	c.Header("ETag", etag)
	if b.Private {
		c.Header("Cache-Control", "private, no-cache")
	} else {
		c.Header("Cache-Control", "public, no-cache")
	}
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return true
	}
	return false
}

// Revalidated is NotModified for a GET. A POST's answer depends on its
// body, which the ETag does not name: it is not revalidated.
func Revalidated(c *gin.Context, b *engine.Board, runs ...*engine.Run) bool {
	return c.Request.Method == http.MethodGet && NotModified(c, b, runs...)
}

// ServeBlob answers with image or audio bytes, cacheable forever: their
// name is their hash.
func ServeBlob(c *gin.Context, b *engine.Board, contentType string, data []byte) {
	if b.Private {
		c.Header("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	}
	c.Data(http.StatusOK, contentType, data)
}

// Answers keeps encoded answers by ETag, bounded in bytes: many viewers of
// one board ask the same.
type Answers struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, []byte]
	bytes    int64
	maxBytes int64
}

// NewAnswers returns a cache of at most maxBytes of answers.
func NewAnswers(maxBytes int64) *Answers {
	a := &Answers{maxBytes: maxBytes}
	a.lru, _ = simplelru.NewLRU[string, []byte](1<<20, func(_ string, b []byte) { a.bytes -= int64(len(b)) })
	return a
}

func (a *Answers) get(key string) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Get(key)
}

func (a *Answers) put(key string, b []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if int64(len(b)) > a.maxBytes/4 || a.lru.Contains(key) {
		return
	}
	a.lru.Add(key, b)
	a.bytes += int64(len(b))
	for a.bytes > a.maxBytes && a.lru.Len() > 0 {
		a.lru.RemoveOldest()
	}
}

// JSON answers with the encoding of what build returns, cached under the
// answer's ETag: board-wide answers (tags, runs) and scalar series are
// asked for by every viewer of a board. A client that takes gzip (every
// browser) gets it gzipped, also cached: a chart's series is hundreds of
// kilobytes of JSON numbers.
func (a *Answers) JSON(c *gin.Context, etag string, build func() ([]byte, error)) error {
	c.Header("Vary", "Accept-Encoding")
	gz := frontend.AcceptsGzip(c.Request)
	key := etag
	if gz {
		key += ";gzip"
	}
	body, ok := a.get(key)
	if !ok {
		raw, ok := a.get(etag)
		if !ok {
			var err error
			if raw, err = build(); err != nil {
				return err
			}
			a.put(etag, raw)
		}
		body = raw
		if gz {
			body = gzipAnswer(raw)
			a.put(key, body)
		}
	}
	if isGzip(body) {
		c.Header("Content-Encoding", "gzip")
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// minGzip is the smallest answer worth compressing.
const minGzip = 1 << 10

// gzipAnswer compresses a JSON answer, or returns a small one as it is.
func gzipAnswer(raw []byte) []byte {
	if len(raw) < minGzip {
		return raw
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) / 3)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// isGzip tells a gzipped answer from JSON, which never starts with 0x1f.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// BoardURL is the permanent URL of a board, absolute when the request
// tells the host (X-Forwarded-Proto is honoured behind a proxy).
func BoardURL(c *gin.Context, id string) string {
	path := "/experiment/" + id + "/"
	if c == nil || c.Request.Host == "" {
		return path
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	if p := c.GetHeader("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + c.Request.Host + path
}
