package benchmark

import (
	"context"
	"testing"
)

// TestSweep measures a small sweep: every run uploaded and listed, in
// batches (far fewer requests than runs), and every figure measured.
func TestSweep(t *testing.T) {
	const runs = 300
	sw, err := measureSweep(context.Background(), t.TempDir(), runs, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Listed != runs {
		t.Errorf("the board lists %d runs of %d", sw.Listed, runs)
	}
	if sw.Requests <= 0 || sw.Requests > runs/10 {
		t.Errorf("%d upload requests for %d small runs: not batched", sw.Requests, runs)
	}
	if sw.Bytes <= 0 || sw.Upload <= 0 || sw.Checkpointed < sw.Upload || sw.Inspect <= 0 || sw.RunsP50 <= 0 || sw.TagsP50 <= 0 || sw.HealthzP50 <= 0 {
		t.Errorf("sweep figures %+v", sw)
	}
}

// BenchmarkSweepUpload uploads a sweep of DefaultSweepRuns runs with one
// small file each to a fresh server over a directory store and reports
// the upload's time over inspecting the same dir (target ≤ 5), and the
// run index and tags queries over /healthz.
func BenchmarkSweepUpload(b *testing.B) {
	for b.Loop() {
		sw, err := measureSweep(context.Background(), b.TempDir(), DefaultSweepRuns, b.Logf)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sw.Ratio(), "upload/inspect")
		b.ReportMetric(ratio(float64(sw.Checkpointed), float64(sw.Inspect)), "checkpointed/inspect")
		b.ReportMetric(float64(sw.Requests), "requests")
		b.ReportMetric(ratio(float64(sw.RunsP50), float64(sw.HealthzP50)), "runs/healthz")
		b.ReportMetric(ratio(float64(sw.TagsP50), float64(sw.HealthzP50)), "tags/healthz")
	}
}
