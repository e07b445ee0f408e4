package oktatest

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The hand-written timestamp must be the layout's, byte for byte: a client
// parsing Okta's timestamps strictly would notice any difference.
func TestStampsAreTheLayoutsByteForByte(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 3))
	east := time.FixedZone("UTC+5:30", 5*3600+1800)
	times := []time.Time{
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), // a second after the zero time, which renders as null
		time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 9, 5, 7, 1_000_000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999_500_000, time.UTC), // truncated, as the layout does, never rounded up
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // beyond four digits: the layout's own answer
		time.Date(-1, 6, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 3, 0, 0, 0, east), // the previous day in UTC
	}
	for range 20000 {
		times = append(times, time.Unix(r.Int64N(300e9)-62e9, r.Int64N(1e9)).In(east))
	}
	for _, tm := range times {
		want := `"` + tm.UTC().Format(tsFormat) + `"`
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
	if got := string(appendTime([]byte("x"), time.Time{})); got != "xnull" {
		t.Fatalf("the zero time renders as %q, want null", got)
	}
}
