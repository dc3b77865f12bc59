package frontend_test

import (
	"os"
	"testing"
	"time"
)

// temporary: serve the bench board for manual probing
func BenchmarkZZServe(b *testing.B) {
	t0 := time.Now()
	page := benchBoard(b, 100, 20, benchSteps())
	os.WriteFile("/tmp/tbhost_bench_url", []byte(page), 0o644)
	b.Logf("ready in %v: %s", time.Since(t0), page)
	time.Sleep(30 * time.Minute)
}
