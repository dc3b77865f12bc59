package hosting

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"tbhost/sampler"
)

// Config configures a Server. The zero value of every field but Store is a
// sane default.
type Config struct {
	Store Store
	// CacheBytes bounds the decoded digests kept in memory (default 256 MiB).
	CacheBytes int64
	// CacheTTL is how long a cached digest is trusted before it is read
	// again from the store, so that servers sharing a store converge
	// (default 2 s; negative: forever, for a store only this server writes).
	CacheTTL time.Duration
	// UploadToken, when set, is required (as a Bearer token) to create boards.
	UploadToken string
	// MaxRequestBytes bounds one upload request's body (default 64 MiB).
	MaxRequestBytes int64
	// MaxBoardBytes bounds a board's raw bytes (default 50 GiB; <0: none).
	MaxBoardBytes int64
	// FlushInterval bounds how long a run's checkpoint (its digest in the
	// store) lags its appends (default 5 s); FlushBytes bounds the raw
	// bytes it lags by (default 256 MiB). Readers replay the lag from the
	// raw parts, so these trade checkpoint writes against replay work.
	FlushInterval time.Duration
	FlushBytes    int64
	// Samples sets reservoir sizes per plugin (sampler.Config).
	Samples map[string]int
	// Logger receives request and error logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the tbhost HTTP server. Create it with NewServer.
type Server struct {
	cfg   Config
	store Store
	cache *cache
	log   *slog.Logger
	now   func() time.Time
	locks [256]sync.Mutex // striped by run (runLock)
	loads singleflight.Group
	// writers holds the runs this server appends to (writer.go).
	wmu      sync.Mutex
	writers  map[string]*runWriter
	trimming atomic.Bool
	router   *gin.Engine
	// Metrics observes ingest and store errors (nil: none).
	Metrics Metrics
	// observe, when set (EnableOps), wraps every request.
	observe gin.HandlerFunc
}

// Metrics receives what the server counts; cmd/tbhost wires Prometheus.
type Metrics interface {
	Ingested(bytes, values int64)
	StoreError(op string)
	Checkpointed(bytes int64) // a run digest written
	Replayed(bytes int64)     // raw bytes parsed again on load
}

// NewServer returns a server over cfg.Store.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("hosting: Config.Store is nil")
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 256 << 20
	}
	switch {
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = 2 * time.Second
	case cfg.CacheTTL < 0:
		cfg.CacheTTL = time.Duration(math.MaxInt64)
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 64 << 20
	}
	if cfg.MaxBoardBytes == 0 {
		cfg.MaxBoardBytes = 50 << 30
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = 256 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		cache:   newCache(cfg.CacheBytes, cfg.CacheTTL),
		log:     cfg.Logger,
		now:     cfg.Now,
		writers: map[string]*runWriter{},
	}
	s.router = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Router returns the gin engine, for adding routes (metrics, health).
func (s *Server) Router() *gin.Engine { return s.router }

// CacheStats reports the digest cache's counters.
func (s *Server) CacheStats() CacheStats { return s.cache.Stats() }

// Ready checks that the store is reachable.
func (s *Server) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

func (s *Server) samplerConfig() sampler.Config { return sampler.Config{Samples: s.cfg.Samples} }

// handlerFunc is a handler that returns its error for errorHandler.
type handlerFunc func(c *gin.Context) error

// errorHandler adapts a handlerFunc: it renders the returned error as JSON
// with the status of its kind. Internal errors are logged, not shown.
func (s *Server) errorHandler(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		status := StatusOf(err)
		body := gin.H{"error": err.Error()}
		var e *Error
		if errors.As(err, &e) && e.Offset != nil {
			body["offset"] = *e.Offset
		}
		if status == http.StatusInternalServerError {
			s.log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
			body["error"] = "internal error: the server could not complete the request; try again, and report it if it persists"
		}
		if c.Writer.Written() {
			return
		}
		c.AbortWithStatusJSON(status, body)
	}
}

// bearer returns the request's bearer token.
func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// viewKey returns the view key a request presents.
func viewKey(c *gin.Context) string {
	if k := c.Query("key"); k != "" {
		return k
	}
	return c.GetHeader("X-Tbhost-Key")
}

// readableBoard loads the board named by the :id parameter and checks the
// request may read it.
func (s *Server) readableBoard(c *gin.Context) (*boardMeta, error) {
	b, err := s.loadBoard(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if err := authorizeRead(b, viewKey(c), bearer(c)); err != nil {
		return nil, err
	}
	return b, nil
}

// writableBoard loads the board named by :id and checks the write token.
func (s *Server) writableBoard(c *gin.Context) (*boardMeta, error) {
	b, err := s.loadBoard(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if err := authorizeWrite(b, bearer(c)); err != nil {
		return nil, err
	}
	return b, nil
}

func queryInt(c *gin.Context, name string, def int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, Errorf(Invalid, "query parameter %s=%q is not an integer", name, v)
	}
	return n, nil
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), func(c *gin.Context) {
		if s.observe != nil {
			s.observe(c)
		}
	})
	r.HandleMethodNotAllowed = true

	api := r.Group("/api")
	api.POST("/boards", s.errorHandler(s.createBoard))
	api.GET("/boards/:id", s.errorHandler(s.getBoard))
	api.PATCH("/boards/:id", s.errorHandler(s.updateBoard))
	api.DELETE("/boards/:id", s.errorHandler(s.deleteBoard))
	api.GET("/boards/:id/files", s.errorHandler(s.listFiles))
	api.PUT("/boards/:id/files", s.errorHandler(s.appendFile))
	api.GET("/boards/:id/runs", s.errorHandler(s.getRuns))
	api.GET("/boards/:id/tags", s.errorHandler(s.getTags))
	api.GET("/boards/:id/scalars", s.errorHandler(s.getScalars))
	api.GET("/boards/:id/scalars_multi", s.errorHandler(s.getScalarsMulti))
	api.GET("/boards/:id/histograms", s.errorHandler(s.getHistograms))
	api.GET("/boards/:id/images", s.errorHandler(s.getImages))
	api.GET("/boards/:id/audio", s.errorHandler(s.getAudio))
	api.GET("/boards/:id/text", s.errorHandler(s.getText))
	api.GET("/boards/:id/pr_curves", s.errorHandler(s.getPRCurves))
	api.GET("/boards/:id/hparams", s.errorHandler(s.getHParams))
	api.GET("/boards/:id/blobs/:sha", s.errorHandler(s.getBlob))
	api.GET("/boards/:id/export/scalars", s.errorHandler(s.exportScalars))
	api.GET("/boards/:id/export/raw.tar.gz", s.errorHandler(s.exportRaw))

	s.tensorboardRoutes(r)
	s.pageRoutes(r)
	r.NoRoute(s.errorHandler(func(c *gin.Context) error {
		return Errorf(NotFound, "no such page: %s", c.Request.URL.Path)
	}))
	return r
}
