package hosting

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
	"tbhost/hosting/store"
	"tbhost/hosting/tensorboard"
	"tbhost/hosting/web"
	"tbhost/sampler"
)

// Config configures a Server. The zero value of every field but Store is a
// sane default.
type Config struct {
	Store store.Store
	// CacheBytes bounds the decoded digests kept in memory (default 256
	// MiB); encoded answers take up to a quarter as much again.
	CacheBytes int64
	// CacheTTL is how long a cached digest is trusted before it is read
	// again from the store, so that servers sharing a store converge
	// (default 2 s; negative: forever, for a store only this server writes).
	CacheTTL time.Duration
	// UploadToken, when set, is required (as a Bearer token) to create boards.
	UploadToken string
	// MaxRequestBytes bounds one upload request's body, decompressed
	// (default 64 MiB).
	MaxRequestBytes int64
	// MaxBoardBytes bounds a board's raw bytes (default 50 GiB; <0: none).
	MaxBoardBytes int64
	// FlushInterval and FlushBytes bound how far a run's checkpoint lags
	// its appends (engine.Config).
	FlushInterval time.Duration
	FlushBytes    int64
	// DeleteGrace is how long after a delete a shared store's board is
	// swept once more (engine.Config).
	DeleteGrace time.Duration
	// Samples sets reservoir sizes per plugin (sampler.Config).
	Samples map[string]int
	// Logger receives request and error logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the tbhost HTTP server: the native JSON API, the board pages
// and, through package tensorboard, TensorBoard's data API, over one
// engine. Create it with NewServer.
type Server struct {
	cfg    Config
	eng    *engine.Engine
	h      *web.Handlers
	log    *slog.Logger
	router *gin.Engine
	// observe, when set (EnableOps), wraps every request.
	observe gin.HandlerFunc
}

// NewServer returns a server over cfg.Store.
func NewServer(cfg Config) (*Server, error) {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	eng, err := engine.New(engine.Config{
		Store: cfg.Store, CacheBytes: cfg.CacheBytes, CacheTTL: cfg.CacheTTL, UploadToken: cfg.UploadToken,
		MaxBoardBytes: cfg.MaxBoardBytes, FlushInterval: cfg.FlushInterval, FlushBytes: cfg.FlushBytes, DeleteGrace: cfg.DeleteGrace,
		Samples: cfg.Samples, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg,
		eng: eng,
		h:   &web.Handlers{Engine: eng, Answers: web.NewAnswers(eng.CacheBytes() / 4), Log: cfg.Logger},
		log: cfg.Logger,
	}
	s.router = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Router returns the gin engine, for adding routes (metrics, health).
func (s *Server) Router() *gin.Engine { return s.router }

// Engine returns the run engine the server serves.
func (s *Server) Engine() *engine.Engine { return s.eng }

// CacheStats reports the digest cache's counters.
func (s *Server) CacheStats() engine.CacheStats { return s.eng.CacheStats() }

// WriterStats reports the runs this server is appending to.
func (s *Server) WriterStats() engine.WriterStats { return s.eng.WriterStats() }

// Ready checks that the store is reachable.
func (s *Server) Ready(ctx context.Context) error { return s.eng.Ready(ctx) }

// Flush writes every pending checkpoint (engine.Engine.Flush); call it at
// shutdown, after the HTTP server has stopped taking requests.
func (s *Server) Flush(ctx context.Context) error { return s.eng.Flush(ctx) }

// Append ingests bytes of a run's file (engine.Engine.Append).
func (s *Server) Append(ctx context.Context, id, run, file string, offset int64, data []byte) (*engine.AppendResult, error) {
	return s.eng.Append(ctx, id, run, file, offset, data)
}

// PutRun writes a run's digest from a sampler state (engine.Engine.PutRun).
func (s *Server) PutRun(ctx context.Context, id, run string, sr *sampler.Run) error {
	return s.eng.PutRun(ctx, id, run, sr)
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
	// Upload bodies may come compressed (RFC 7694): clients compress only
	// for a server that says so.
	api.Use(func(c *gin.Context) { c.Header("Accept-Encoding", "zstd, gzip") })
	api.POST("/boards", s.h.Handle(s.createBoard))
	api.GET("/boards/:id", s.h.Handle(s.getBoard))
	api.PATCH("/boards/:id", s.h.Handle(s.updateBoard))
	api.DELETE("/boards/:id", s.h.Handle(s.deleteBoard))
	api.GET("/boards/:id/files", s.h.Handle(s.listFiles))
	api.PUT("/boards/:id/files", s.h.Handle(s.appendFile))
	api.POST("/boards/:id/batch", s.h.Handle(s.appendBatch))
	api.GET("/boards/:id/runs", s.h.Handle(s.getRuns))
	api.GET("/boards/:id/annotations", s.h.Handle(s.getAnnotations))
	api.PATCH("/boards/:id/annotations", s.h.Handle(s.annotateRun))
	api.GET("/boards/:id/tags", s.h.Handle(s.getTags))
	api.GET("/boards/:id/scalars", s.h.Handle(s.getScalars))
	api.GET("/boards/:id/scalars_multi", s.h.Handle(s.getScalarsMulti))
	api.GET("/boards/:id/histograms", s.h.Handle(s.getHistograms))
	api.GET("/boards/:id/images", s.h.Handle(s.getImages))
	api.GET("/boards/:id/audio", s.h.Handle(s.getAudio))
	api.GET("/boards/:id/text", s.h.Handle(s.getText))
	api.GET("/boards/:id/pr_curves", s.h.Handle(s.getPRCurves))
	api.GET("/boards/:id/hparams", s.h.Handle(s.getHParams))
	api.GET("/boards/:id/graph", s.h.Handle(s.getGraph))
	api.GET("/boards/:id/blobs/:sha", s.h.Handle(s.getBlob))
	api.GET("/boards/:id/export/scalars", s.h.Handle(s.exportScalars))
	api.GET("/boards/:id/export/raw.tar.gz", s.h.Handle(s.exportRaw))

	tensorboard.Register(r, s.h)
	s.pageRoutes(r)
	r.NoRoute(s.h.Handle(func(c *gin.Context) error {
		return kind.Errorf(kind.NotFound, "no such page: %s", c.Request.URL.Path)
	}))
	return r
}
