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

// BenchmarkManagersChange measures an incremental run of a 20,000-user
// simulated Okta org after 20 managers' e-mails changed: the run reads
// their reports again by ID (reread.go). It reports the reports read
// again, the run's API calls and its wall time.
//
//	go test -run '^$' -bench ManagersChange -benchtime 1x ./engine
func BenchmarkManagersChange(b *testing.B) {
	const n, managers = 20_000, 20
	pageSize, countOnly = 200, true
	defer func() { pageSize, countOnly = 50, false }()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, n, "ACTIVE")
		e.mustRun(engine.Options{})
		// The simulator's first users are managers, eight reports each.
		for _, id := range e.sim.IDs("ACTIVE")[:managers] {
			_ = e.sim.EditProfile(id, map[string]any{"email": "renamed." + id + "@example.com"})
		}
		e.clock.Advance(time.Hour)
		b.StartTimer()
		start := time.Now()
		r := e.mustRun(engine.Options{})
		b.ReportMetric(float64(r.Reread), "reports")
		b.ReportMetric(float64(r.APICalls), "calls")
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms")
	}
}
