package engine

import (
	"strings"
	"testing"

	"neurons-connector/mapping"
)

// BenchmarkSpill writes and reads back a report held for its manager (a
// report listed before its manager, as many are when a tenant lists its
// users by ID), with a record of the default Okta table's size (3 KB).
// Where most reports come before their managers, a first full run spills
// most of its users, and this is their cost on top of the rest.
func BenchmarkSpill(b *testing.B) {
	var attrs strings.Builder
	attrs.WriteString(`{"Application.Okta.Profile.city":"New York"`)
	for i := 0; attrs.Len() < 3000; i++ {
		attrs.WriteString(`,"User.Attribute` + strings.Repeat("x", i%7) + `":"value of a user ` + strings.Repeat("y", i%13) + `"`)
	}
	attrs.WriteString("}")
	e := spilled{ID: "00u1abcdEFGH2345ijkl", Known: false, Attrs: []byte(attrs.String()),
		Refs: []mapping.ManagerRef{{Target: "User.ManagerEmail", Field: "email", ID: "00u9zyxwVUTS8765rqpo"}}}
	const perSpill = 1000
	b.SetBytes(int64(len(e.Attrs)) * perSpill)
	for b.Loop() {
		s, err := newSpill(b.TempDir(), "c", "r")
		if err != nil {
			b.Fatal(err)
		}
		for range perSpill {
			if err := s.add(e); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		if err := s.each(func(spilled) error { n++; return nil }); err != nil || n != perSpill {
			b.Fatalf("read back %d of %d: %v", n, perSpill, err)
		}
		s.close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perSpill), "µs/user")
}
