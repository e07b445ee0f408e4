package engine_test

import (
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// BenchmarkFullRun100k runs a full sync of a 100,000-user simulated Okta org
// (every status selected, apps and devices included, rate limits off) into
// the fake sink over loopback, with a real bbolt store: fetch, map, diff,
// outbox and push. It reports users per second.
func BenchmarkFullRun100k(b *testing.B) {
	const n = 100_000
	pageSize, countOnly = 200, true // Okta's page size; the tests' 50 makes pages, not speed
	defer func() { pageSize, countOnly = 50, false }()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, n, oktatest.Statuses...)
		b.StartTimer()
		start := time.Now()
		r := e.mustRun(engine.Options{})
		b.ReportMetric(float64(r.Fetched)/time.Since(start).Seconds(), "users/s")
	}
}
