package sink

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"neurons-connector/internal/heappeak"
)

// BenchmarkCSVDrop delivers a first full run of n users (batches of 200
// realistic records, as a run's pages make them, the last one final) into
// the CSV drop and reports the time and garbage per user and the heap's
// peak while it ran, with the collector at 5 % so that the peak is what is
// live. The peak must not grow with n: the state is merged as a stream.
func BenchmarkCSVDrop(b *testing.B) {
	for _, n := range []int{10000, 100000, 300000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			const size = 200
			payloads := make([]Payload, 0, n/size+1)
			for start := 0; start < n; start += size {
				batch := Batch{Connector: Connector{ID: "c_1", Name: "Okta"}, Info: BatchInfo{Final: start+size >= n}}
				for i := start; i < min(n, start+size); i++ {
					batch.Upserts = append(batch.Upserts, Upsert{SourceID: fmt.Sprintf("00u%017d", i*7919%n), Attributes: benchAttributes(i)})
				}
				body, err := batch.Body()
				if err != nil {
					b.Fatal(err)
				}
				payloads = append(payloads, PackLocal(body))
			}
			defer debug.SetGCPercent(debug.SetGCPercent(5))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			peak := heappeak.Of(func() {
				for b.Loop() {
					c := &CSV{Dir: b.TempDir(), State: b.TempDir()}
					for i, p := range payloads {
						if err := c.Push(context.Background(), fmt.Sprint("k", i), p); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
			runtime.ReadMemStats(&after)
			users := float64(n) * float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/users, "ns/user")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/users, "B-alloc/user")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// benchAttributes is a mapped Okta user as the default table makes it.
func benchAttributes(i int) []byte {
	return fmt.Appendf(nil, `{"User.FirstName":"Olga","User.LastName":"Lindqvist %d","User.FullName":"Olga Lindqvist %d",`+
		`"User.Email":"olga.lindqvist.%d@example.com","User.Login":"olga.lindqvist.%d@example.com","User.Department":"Sales",`+
		`"User.JobTitle":"Sales Rep","User.City":"San Francisco","User.State":"CA","User.Country":"US","User.Phone":"+1 555 %04d",`+
		`"User.EmployeeNumber":"%d","User.Status":"Active","User.Created":"2026-09-26T17:46:52Z","User.LastLogin":"2026-11-06T06:45:52Z",`+
		`"User.CostCenter":"CC-100","User.Division":"APAC","User.Organization":"Example Corp","User.Locale":"en_US",`+
		`"User.TimeZone":"America/Los_Angeles","User.Manager":"Kai Berg","User.ManagerEmail":"kai.berg@example.com",`+
		`"User.AssignedApps":["Slack","Zoom","Box, Inc."],"User.Groups":["Everyone","Sales"],"Device.Names":["MacBook Pro %d"],`+
		`"Device.Platforms":["MACOS"],"User.Note":"=SUM(A1)"}`, i, i, i, i, i%10000, 10000+i, i)
}
