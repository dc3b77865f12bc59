package hosting

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promMetrics implements Metrics with Prometheus collectors, and measures
// every request.
type promMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    prometheus.Counter
	values   prometheus.Counter
	storeErr *prometheus.CounterVec
	// checkpoints counts digests written; replayed, raw bytes parsed
	// again on load because no checkpoint counted them yet.
	checkpoints, checkpointBytes, replayed prometheus.Counter
}

func (m *promMetrics) Ingested(bytes, values int64) {
	m.bytes.Add(float64(bytes))
	m.values.Add(float64(values))
}

func (m *promMetrics) StoreError(op string) { m.storeErr.WithLabelValues(op).Inc() }

func (m *promMetrics) Checkpointed(bytes int64) {
	m.checkpoints.Inc()
	m.checkpointBytes.Add(float64(bytes))
}

func (m *promMetrics) Replayed(bytes int64) { m.replayed.Add(float64(bytes)) }

// cacheCollector reports the digest cache's counters at scrape time.
type cacheCollector struct {
	s                             *Server
	hits, misses, evictions, size *prometheus.Desc
	writers, writerBytes          *prometheus.Desc
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
	ch <- c.evictions
	ch <- c.size
	ch <- c.writers
	ch <- c.writerBytes
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.eng.CacheStats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.Bytes))
	ws := c.s.WriterStats()
	ch <- prometheus.MustNewConstMetric(c.writers, prometheus.GaugeValue, float64(ws.Writers))
	ch <- prometheus.MustNewConstMetric(c.writerBytes, prometheus.GaugeValue, float64(ws.Bytes))
}

// EnableOps adds what an operator needs: /metrics (Prometheus), /healthz
// (the process is up), /readyz (the store answers), and a request log with
// request ids. Call it once, before serving.
func (s *Server) EnableOps() {
	reg := prometheus.NewRegistry()
	m := &promMetrics{
		requests:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tbhost_http_requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"}),
		latency:         prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tbhost_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method", "route"}),
		bytes:           prometheus.NewCounter(prometheus.CounterOpts{Name: "tbhost_ingested_bytes_total", Help: "Event file bytes stored and parsed."}),
		values:          prometheus.NewCounter(prometheus.CounterOpts{Name: "tbhost_ingested_values_total", Help: "Summary values parsed."}),
		storeErr:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tbhost_store_errors_total", Help: "Store operations that failed."}, []string{"op"}),
		checkpoints:     prometheus.NewCounter(prometheus.CounterOpts{Name: "tbhost_checkpoints_total", Help: "Run digests written."}),
		checkpointBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "tbhost_checkpoint_bytes_total", Help: "Bytes of run digests written."}),
		replayed:        prometheus.NewCounter(prometheus.CounterOpts{Name: "tbhost_replayed_bytes_total", Help: "Raw bytes parsed again on loading a run, past its last checkpoint."}),
	}
	cc := &cacheCollector{s: s,
		hits:        prometheus.NewDesc("tbhost_cache_hits_total", "Run states found in memory (the cache, or the writer of a run being uploaded).", nil, nil),
		misses:      prometheus.NewDesc("tbhost_cache_misses_total", "Digest cache misses.", nil, nil),
		evictions:   prometheus.NewDesc("tbhost_cache_evictions_total", "Digests evicted from the cache.", nil, nil),
		size:        prometheus.NewDesc("tbhost_cache_bytes", "Bytes of decoded digests in the cache.", nil, nil),
		writers:     prometheus.NewDesc("tbhost_writers", "Runs this server is appending to (their states are held in memory).", nil, nil),
		writerBytes: prometheus.NewDesc("tbhost_writer_bytes", "Bytes of the states of the runs being appended to.", nil, nil),
	}
	reg.MustRegister(m.requests, m.latency, m.bytes, m.values, m.storeErr, m.checkpoints, m.checkpointBytes, m.replayed, cc,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	s.eng.Metrics = m

	s.observe = func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-Id", id)
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		status := c.Writer.Status()
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request.Context(), level, "request", "id", id, "method", c.Request.Method, "path", c.Request.URL.Path,
			"route", route, "status", status, "bytes_in", c.Request.ContentLength, "bytes_out", c.Writer.Size(), "duration_ms", float64(d.Microseconds())/1000)
	}
	r := s.router
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	r.GET("/readyz", func(c *gin.Context) {
		if err := s.Ready(c.Request.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			c.String(http.StatusServiceUnavailable, "store unreachable: %v\n", err)
			return
		}
		c.String(http.StatusOK, "ok\n")
	})
}
