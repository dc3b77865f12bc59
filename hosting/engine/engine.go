// Package engine is tbhost's run engine: boards and their tokens, the
// ingest of uploaded bytes into per-run sampled state, checkpoints of that
// state in the store, replay of what a checkpoint lacks, and a byte-bounded
// cache of decoded runs. It knows nothing of HTTP: the hosting packages
// serve what it holds.
//
// # Store layout
//
// Keys are relative to the store root:
//
//	boards/<id>/board.json                      name, description, times, visibility, token hashes
//	boards/<id>/raw/<run>/<file>/<offset:020d>  raw event bytes, one object per accepted append
//	boards/<id>/digest/<runkey>.pb              hostingpb.Digest: a checkpoint of sampler state + per-file offsets
//
// <run> and <file> are escaped to one path segment each (escapeSegment);
// <runkey> is a hash of the run name. The concatenation of a file's parts
// in offset order is the file exactly as uploaded. A raw part is stored
// before any checkpoint counts it; whoever loads a checkpoint replays the
// parts stored past it, so a server that dies between an append and its
// next checkpoint loses nothing. Board metadata and checkpoints are
// written with a generation precondition (Store.PutIf) and merged on
// conflict, so servers sharing one store never lose each other's writes.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"tbhost/hosting/store"
	"tbhost/sampler"
)

// Config configures an Engine. The zero value of every field but Store is
// a sane default.
type Config struct {
	Store store.Store
	// CacheBytes bounds the decoded digests kept in memory (default 256 MiB).
	CacheBytes int64
	// CacheTTL is how long a cached digest is trusted before it is read
	// again from the store, so that servers sharing a store converge
	// (default 2 s; negative: forever, for a store only this server writes).
	CacheTTL time.Duration
	// UploadToken, when set, is required to create boards.
	UploadToken string
	// MaxBoardBytes bounds a board's raw bytes (default 50 GiB; <0: none).
	MaxBoardBytes int64
	// FlushInterval bounds how long a run's checkpoint (its digest in the
	// store) lags its appends (default 5 s); FlushBytes bounds the raw
	// bytes it lags by (default 256 MiB). Readers replay the lag from the
	// raw parts, so these trade checkpoint writes against replay work.
	FlushInterval time.Duration
	FlushBytes    int64
	// DeleteGrace is how long after deleting a board on a shared store its
	// objects are deleted once more, for appends other servers had under
	// way (default 2×CacheTTL + 30 s; a store only this server writes needs
	// none).
	DeleteGrace time.Duration
	// Samples sets reservoir sizes per plugin (sampler.Config).
	Samples map[string]int
	// Logger receives warnings (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now). Every time the engine records
	// or compares (board times, checkpoint lag, idle writers, cache
	// freshness) comes from it.
	Now func() time.Time
	// Metrics observes ingest and store errors (nil: none).
	Metrics Metrics
	// CompactParts: once about this many raw parts of a file lie below
	// its checkpoint, they are merged into segments of up to SegmentBytes
	// (compact.go), in the background (defaults 32 and 64 MiB; <0: never).
	CompactParts int
	SegmentBytes int64
}

// Metrics receives what the engine counts; cmd/tbhost wires Prometheus.
type Metrics interface {
	Ingested(bytes, values int64)
	StoreError(op string)
	Checkpointed(bytes int64) // a run digest written
	Replayed(bytes int64)     // raw bytes parsed again on load
}

// Engine holds the boards of one store. Create it with New; it is safe for
// concurrent use, and several engines (servers) may share one store.
type Engine struct {
	cfg   Config
	store store.Store
	cache *cache
	log   *slog.Logger
	now   func() time.Time
	runs  runLocks // one lock per run being written (runLock)
	loads singleflight.Group
	// writers holds the runs this engine appends to (writer.go).
	wmu      sync.Mutex
	writers  map[string]*runWriter
	trimming atomic.Bool
	// sizes counts each board's raw bytes (boardSize).
	sizes boardSizes
	// gates counts appends under way per board, for deletes.
	gates boardGates
	// compact tracks the compactions of raw parts (compact.go).
	compact compactor
	// batches tracks pending batch markers and their settling (batch.go).
	batches batchState
	// Metrics observes ingest and store errors (nil: none).
	Metrics Metrics
}

// New returns an engine over cfg.Store.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: Config.Store is nil")
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
	if cfg.MaxBoardBytes == 0 {
		cfg.MaxBoardBytes = 50 << 30
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = 256 << 20
	}
	if cfg.DeleteGrace <= 0 {
		cfg.DeleteGrace = 2*cfg.CacheTTL + 30*time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{
		cfg:     cfg,
		store:   cfg.Store,
		cache:   newCache(cfg.CacheBytes, cfg.CacheTTL),
		log:     cfg.Logger,
		now:     cfg.Now,
		writers: map[string]*runWriter{},
		Metrics: cfg.Metrics,
	}
	return e, nil
}

// Now returns the engine's clock reading.
func (s *Engine) Now() time.Time { return s.now() }

// CacheStats reports the digest cache's counters.
func (s *Engine) CacheStats() CacheStats { return s.cache.Stats() }

// Ready checks that the store is reachable.
func (s *Engine) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// CacheBytes is the memory budget the engine was given.
func (s *Engine) CacheBytes() int64 { return s.cfg.CacheBytes }

// Shared reports whether other servers may write the store (the cache
// trusts what it holds for a bounded time only).
func (s *Engine) Shared() bool { return s.cfg.CacheTTL <= time.Hour }

func (s *Engine) samplerConfig() sampler.Config { return sampler.Config{Samples: s.cfg.Samples} }

func (s *Engine) storeError(op string) {
	if s.Metrics != nil {
		s.Metrics.StoreError(op)
	}
}
