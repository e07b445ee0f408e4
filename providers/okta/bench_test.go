package okta

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/engine"
	"neurons-connector/internal/heappeak"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/secret"
)

// BenchmarkFullListing100k lists a 100,000-user simulated org over loopback
// (every status, apps and devices included, rate limits off) and reports
// users per second and heap allocations per user. Client and simulator share
// the process, so the allocations are both sides'.
func BenchmarkFullListing100k(b *testing.B) {
	const n = 100_000
	sim := oktatest.New(oktatest.Options{Users: n, Token: "bench-token", NoLimits: true})
	srv := sim.Start()
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("bench-token"))})
	if err != nil {
		b.Fatal(err)
	}
	req := engine.FetchRequest{Mode: engine.Full, Statuses: oktatest.Statuses}
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
	b.ReportMetric(float64(sim.Calls()["users"])/float64(b.N), "user-pages/pass")
}

// BenchmarkHugePage lists an org whose users pages are 60 MB each (every
// user carries 300 KB more than usual) and reports the heap's peak while it
// does: with bodies decoded as they stream in, the peak is the decoded
// page, not the page on the wire several times over.
func BenchmarkHugePage(b *testing.B) {
	const n, pad = 400, 300 << 10
	sim := oktatest.New(oktatest.Options{Users: n, Token: "bench-token", NoLimits: true})
	srv := sim.Start()
	defer srv.Close()
	sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, Pad: pad})
	c, err := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("bench-token"))})
	if err != nil {
		b.Fatal(err)
	}
	req := engine.FetchRequest{Mode: engine.Full, Statuses: oktatest.Statuses}
	peak := heappeak.Of(func() {
		for b.Loop() {
			if _, err := c.Fetch(context.Background(), req, func([]engine.User) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(200*pad)/(1<<20), "MB/page")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkFullRunUnderRealLimits runs a full pass of a 2,000-user org
// under an Enterprise org's real limits (apps 100 a minute, the token's
// share half of it) and reports how long it takes on the org's clock, for
// an org with the simulator's default 12 apps and for one with 300, as
// enterprises have: the apps sweep makes a call per app (and per 500 of its
// users), so many apps cost minutes whatever the org's size. Client and
// simulator share a clock running 30 times faster than real time, so a
// pass of minutes takes seconds; each request's own few milliseconds are
// stretched as much, which overstates the figure a little.
func BenchmarkFullRunUnderRealLimits(b *testing.B) {
	for _, apps := range []int{12, 300} {
		b.Run(fmt.Sprintf("apps=%d", apps), func(b *testing.B) {
			clk := clock.NewScaled(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), 30)
			sim := oktatest.New(oktatest.Options{Users: 2000, Apps: apps, Token: "bench-token", Clock: clk})
			srv := sim.Start()
			defer srv.Close()
			var took time.Duration
			for b.Loop() {
				c, err := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("bench-token")), Clock: clk})
				if err != nil {
					b.Fatal(err)
				}
				start := clk.Now()
				if _, err := c.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}},
					func([]engine.User) error { return nil }); err != nil {
					b.Fatal(err)
				}
				took += clk.Now().Sub(start)
			}
			if n := sim.Statuses()[429]; n != 0 {
				b.Fatalf("%d answers of 429", n)
			}
			b.ReportMetric(took.Seconds()/float64(b.N), "org-s/pass")
			b.ReportMetric(float64(sim.Calls()["apps"])/float64(b.N), "apps-calls/pass")
		})
	}
}

// BenchmarkFullPassDeviceNames runs a full pass of a 100,000-user org (a
// device or two for two users in three, each Windows computer named as
// its own) with and without the mapping reading devices' display names,
// and reports the heap's peak, the cursor's size and the users' states'
// bytes: with names, they are kept in each state and in one slab during
// the pass, not numbered in the cursor (which held every device before,
// and the pages they came in alive).
func BenchmarkFullPassDeviceNames(b *testing.B) {
	const n = 100_000
	for _, names := range []bool{false, true} {
		b.Run(fmt.Sprintf("names=%v", names), func(b *testing.B) {
			sim := oktatest.New(oktatest.Options{Users: n, Token: "bench-token", NoLimits: true})
			srv := sim.Start()
			defer srv.Close()
			sources := []string{"profile.login", "devices.profile.platform", "devices.profile.osVersion"}
			if names {
				sources = append(sources, "devices.profile.displayName")
			}
			req := engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}, Sources: sources,
				Fields: []string{"profile", "devices"}}
			var cursor []byte
			states := 0
			peak := heappeak.Of(func() {
				for b.Loop() {
					c, err := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("bench-token"))})
					if err != nil {
						b.Fatal(err)
					}
					states = 0
					if cursor, err = c.Fetch(context.Background(), req, func(page []engine.User) error {
						for _, u := range page {
							states += len(u.State)
						}
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(len(cursor))/(1<<10), "cursor-KB")
			b.ReportMetric(float64(states)/(1<<20), "states-MB")
		})
	}
}
