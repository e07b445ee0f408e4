package onelogin

import (
	"context"
	"runtime"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/secret"
)

// BenchmarkFullListing20k lists a 20,000-user simulated account over
// loopback (every status, all fields, throttle and pacing out of the way)
// and reports users per second and heap allocations per user, both sides'.
// Against OneLogin itself the hourly budget, not this, sets the pace: 400
// pages at the default 2,500 calls an hour take under ten minutes.
func BenchmarkFullListing20k(b *testing.B) {
	const n = 20_000
	sim := onelogintest.New(onelogintest.Options{Users: n, ClientID: "c", ClientSecret: "s", HourlyLimit: -1})
	srv := sim.Start()
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, ClientID: "c", ClientSecret: secret.New([]byte("s")), HourlyLimit: 10_000_000, RateShare: 100})
	if err != nil {
		b.Fatal(err)
	}
	req := engine.FetchRequest{Mode: engine.Full, Statuses: allStatuses()}
	var users int
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		_, err := c.Fetch(context.Background(), req, func(page []engine.User) error {
			users += len(page)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if users != b.N*n {
		b.Fatalf("listed %d users in %d passes of %d", users, b.N, n)
	}
	b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(users), "allocs/user")
}
