package hosting_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents/tfeventstest"
)

// metricValues reads a Prometheus text exposition into "name{labels}" → value.
func metricValues(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestOps covers /healthz, /readyz, request ids and the Prometheus
// metrics after an upload and some queries.
func TestOps(t *testing.T) {
	forEachCorpus(t, func(t *testing.T, c *tfeventstest.Corpus) {
		srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		srv.EnableOps()
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		a := api{t: t, base: ts.URL}
		b := a.create("ops")
		sent := a.upload(b, runsDir(c), 4000)
		tags := a.tags(b.ID)
		runs := map[string]bool{}
		for p := range sent {
			runs[path.Dir(p)] = true
		}
		for range 3 {
			a.tags(b.ID)
		}
		a.do("GET", "/api/boards/nope", "", nil)

		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		req.Header.Set("X-Request-Id", "trace-me")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != "trace-me" {
			t.Errorf("/healthz: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
		if status, _ := a.do("GET", "/readyz", "", nil); status != 200 {
			t.Errorf("/readyz with a reachable store: %d", status)
		}

		m := metricValues(t, ts.URL)
		var bytes float64
		for _, data := range sent {
			bytes += float64(len(data))
		}
		puts := 0
		for _, data := range sent {
			puts += max(1, (len(data)+3999)/4000) // an empty file takes one PUT
		}
		checks := []struct {
			name string
			ok   func(v float64) bool
			want string
		}{
			{"tbhost_ingested_bytes_total", func(v float64) bool { return v == bytes }, strconv.FormatFloat(bytes, 'f', 0, 64)},
			{"tbhost_ingested_values_total", func(v float64) bool { return v > 0 }, "> 0"},
			{`tbhost_http_requests_total{method="PUT",route="/api/boards/:id/files",status="200"}`, func(v float64) bool { return int(v) == puts }, strconv.Itoa(puts)},
			{`tbhost_http_requests_total{method="GET",route="/api/boards/:id",status="404"}`, func(v float64) bool { return v == 1 }, "1"},
			{`tbhost_http_request_duration_seconds_count{method="GET",route="/api/boards/:id/tags"}`, func(v float64) bool { return v == 4 }, "4"},
			{"tbhost_cache_hits_total", func(v float64) bool { return v > 0 }, "> 0"},
			{"tbhost_cache_misses_total", func(v float64) bool { return v > 0 }, "> 0"},
			{"tbhost_cache_evictions_total", func(v float64) bool { return v >= 0 }, "present"},
			{"tbhost_writers", func(v float64) bool { return v >= 1 && int(v) <= len(runs) }, "1 to the runs uploaded"},
			{"tbhost_writer_bytes", func(v float64) bool { return v > 0 }, "> 0"},
			{"tbhost_checkpoints_total", func(v float64) bool { return v >= float64(len(tags)) }, "one per run at least"},
			{"tbhost_checkpoint_bytes_total", func(v float64) bool { return v > 0 }, "> 0"},
			{"tbhost_replayed_bytes_total", func(v float64) bool { return v == 0 }, "0 (one server, no crash)"},
			{`tbhost_store_errors_total{op="put"}`, func(v float64) bool { return true }, "absent until an error"},
		}
		for _, c := range checks {
			v, ok := m[c.name]
			if !ok && c.want == "absent until an error" {
				continue
			}
			if !ok || !c.ok(v) {
				t.Errorf("%s = %v (present %v), want %s", c.name, v, ok, c.want)
			}
		}

		down, err := hosting.NewServer(hosting.Config{Store: storetest.Unreachable{Store: store.NewMem()}})
		if err != nil {
			t.Fatal(err)
		}
		down.EnableOps()
		dts := httptest.NewServer(down.Handler())
		defer dts.Close()
		if status, body := (api{t: t, base: dts.URL}).do("GET", "/readyz", "", nil); status != http.StatusServiceUnavailable || !strings.Contains(string(body), "bucket unreachable") {
			t.Errorf("/readyz with an unreachable store: %d %s", status, body)
		}
	})
}
