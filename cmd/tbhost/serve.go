package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/sampler"
)

// serveFlags are the settings of `tbhost serve`; each flag has an
// environment variable.
type serveFlags struct {
	addr, data, storage, uploadToken, samples, logFormat string
	cacheMB, maxRequestMB, maxBoardMB                    int64
	shutdown, flushInterval                              time.Duration
	shared                                               bool
}

func (m *Main) parseServe(args []string) (*serveFlags, error) {
	f := &serveFlags{}
	env := &envReader{m: m}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&f.addr, "addr", m.env("TBHOST_ADDR", ":6006"), "address to listen on (TBHOST_ADDR)")
	fs.StringVar(&f.data, "data", m.env("TBHOST_DATA", "./tbhost-data"), "local directory that stores boards, the default store (TBHOST_DATA)")
	fs.StringVar(&f.storage, "storage", m.env("TBHOST_STORAGE", ""), "gs://bucket/prefix to store boards in Google Cloud Storage instead of --data (TBHOST_STORAGE)")
	fs.Int64Var(&f.cacheMB, "cache-mb", env.int("TBHOST_CACHE_MB", 256), "memory for decoded run digests, in MiB (TBHOST_CACHE_MB)")
	fs.StringVar(&f.uploadToken, "upload-token", m.env("TBHOST_UPLOAD_TOKEN", ""), "if set, creating a board needs this token (TBHOST_UPLOAD_TOKEN)")
	fs.Int64Var(&f.maxRequestMB, "max-request-mb", env.int("TBHOST_MAX_REQUEST_MB", 64), "largest upload request body, in MiB (TBHOST_MAX_REQUEST_MB)")
	fs.Int64Var(&f.maxBoardMB, "max-board-mb", env.int("TBHOST_MAX_BOARD_MB", 50<<10), "most raw bytes per board, in MiB; -1 for no limit (TBHOST_MAX_BOARD_MB)")
	fs.StringVar(&f.samples, "samples-per-plugin", m.env("TBHOST_SAMPLES_PER_PLUGIN", ""), "reservoir sizes, e.g. scalars=500,images=20; 0 keeps all (TBHOST_SAMPLES_PER_PLUGIN)")
	fs.StringVar(&f.logFormat, "log-format", m.env("TBHOST_LOG_FORMAT", ""), "text or json (default: text on a terminal, json otherwise) (TBHOST_LOG_FORMAT)")
	fs.DurationVar(&f.flushInterval, "flush-interval", env.duration("TBHOST_FLUSH_INTERVAL", 5*time.Second), "how long a run's stored digest may lag its uploads; the lag is replayed from the raw bytes on load (TBHOST_FLUSH_INTERVAL)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", env.duration("TBHOST_SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may take to finish on SIGTERM (TBHOST_SHUTDOWN_TIMEOUT)")
	fs.BoolVar(&f.shared, "shared", env.bool("TBHOST_SHARED", false), "other servers serve the same --data directory (replicas on one volume): trust cached boards and runs for 2 s, not forever (TBHOST_SHARED)")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if err := env.err(fs); err != nil {
		return nil, err
	}
	switch f.logFormat {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("--log-format %q: give text or json (TBHOST_LOG_FORMAT)", f.logFormat)
	}
	return f, nil
}

// envReader reads flag defaults from the environment and remembers the
// values it could not read, so that a malformed setting is an error that
// says what is expected rather than a silent default.
type envReader struct {
	m    *Main
	bad  map[string]string // flag name's variable → the sentence
	vars []string          // in order
}

func (e *envReader) fail(name, msg string) {
	if e.bad == nil {
		e.bad = map[string]string{}
	}
	e.bad[name] = msg
	e.vars = append(e.vars, name)
}

func (e *envReader) int(name string, def int64) int64 {
	v := e.m.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		e.fail(name, fmt.Sprintf("%s=%q is not a whole number (e.g. %s=%d)", name, v, name, def))
		return def
	}
	return n
}

func (e *envReader) bool(name string, def bool) bool {
	v := e.m.Getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		e.fail(name, fmt.Sprintf("%s=%q is not true or false", name, v))
		return def
	}
	return b
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.m.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		e.fail(name, fmt.Sprintf("%s=%q is not a duration (e.g. %s=%v)", name, v, name, def))
		return def
	}
	return d
}

// err reports the malformed variables whose flags the command line did
// not set (a flag given overrides its variable).
func (e *envReader) err(fs *flag.FlagSet) error {
	var msgs []string
	for _, name := range e.vars {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || strings.Contains(f.Usage, "("+name+")") })
		if !given {
			msgs = append(msgs, e.bad[name])
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// logger returns a slog.Logger: JSON in production, text on a terminal.
func (m *Main) logger(format string) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := m.Stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(m.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(m.Stderr, nil))
}

// openStore opens the store the flags name.
func openStore(ctx context.Context, f *serveFlags) (st store.Store, where string, release func() error, err error) {
	if f.storage != "" {
		if !strings.HasPrefix(f.storage, "gs://") {
			return nil, "", nil, fmt.Errorf("--storage %q: give gs://bucket/prefix (or use --data DIR for a local directory)", f.storage)
		}
		gs, err := store.NewGCS(ctx, f.storage)
		if err != nil {
			return nil, "", nil, fmt.Errorf("open %s: %w", f.storage, err)
		}
		return gs, f.storage, gs.Close, nil
	}
	ds, err := store.NewDir(f.data)
	if err != nil {
		return nil, "", nil, fmt.Errorf("open data directory %s: %w", f.data, err)
	}
	release, err = ds.Claim(f.shared)
	if err != nil {
		return nil, "", nil, err
	}
	return ds, f.data, release, nil
}

func (m *Main) serve(ctx context.Context, args []string) error {
	f, err := m.parseServe(args)
	if err != nil {
		return err
	}
	log := m.logger(f.logFormat)
	samples, err := sampler.ParseSamples(f.samples)
	if err != nil {
		return fmt.Errorf("--samples-per-plugin: %w", err)
	}
	store, where, release, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer release()
	// A local directory has one server unless --shared; a bucket may have
	// several, whose caches converge by re-reading what is older than the
	// default TTL.
	ttl := time.Duration(0)
	if f.storage == "" && !f.shared {
		ttl = -1
	}
	srv, err := hosting.NewServer(hosting.Config{
		Store:           store,
		CacheTTL:        ttl,
		CacheBytes:      f.cacheMB << 20,
		UploadToken:     f.uploadToken,
		MaxRequestBytes: f.maxRequestMB << 20,
		MaxBoardBytes:   mbLimit(f.maxBoardMB),
		Samples:         samples,
		FlushInterval:   f.flushInterval,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	srv.EnableOps()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using the port? pick one with --addr)", f.addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("tbhost serving", "addr", ln.Addr().String(), "store", where)
	fmt.Fprintf(m.Stderr, "tbhost: serving on http://%s (boards in %s)\n", displayAddr(ln.Addr()), where)
	if m.Listening != nil {
		m.Listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "deadline", f.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Write the digests of runs uploaded since their last checkpoint, so
	// that the next start does not replay them.
	fctx, fcancel := context.WithTimeout(context.Background(), f.shutdown)
	defer fcancel()
	if err := srv.Flush(fctx); err != nil {
		return fmt.Errorf("shutdown: write pending digests: %w", err)
	}
	return nil
}

func mbLimit(mb int64) int64 {
	if mb < 0 {
		return -1
	}
	return mb << 20
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost" + strings.TrimPrefix(s, "[::]")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost" + strings.TrimPrefix(s, "0.0.0.0")
	}
	return s
}
