package mapping

import (
	"math/rand/v2"
	"testing"
	"time"
)

// canonicalByParse is what canonical must agree with: s is a time that
// time.Parse reads in the contract's form and writes back unchanged.
func canonicalByParse(s string) bool {
	t, err := time.Parse(timestampOut, s)
	return err == nil && t.Format(timestampOut) == s
}

// TestCanonicalAgreesWithTimeParse holds the hand-written check to
// time.Parse over every edge a provider's time can sit on (months' ends,
// leap years, each field's range) and random mutations of valid times.
func TestCanonicalAgreesWithTimeParse(t *testing.T) {
	cases := []string{
		"2024-05-04T19:50:52.000Z", "2024-02-29T00:00:00.000Z", "2023-02-29T00:00:00.000Z",
		"1900-02-29T00:00:00.000Z", "2000-02-29T23:59:59.999Z", "2024-04-31T00:00:00.000Z",
		"2024-12-31T23:59:59.999Z", "2024-13-01T00:00:00.000Z", "2024-00-10T00:00:00.000Z",
		"2024-01-00T00:00:00.000Z", "2024-01-32T00:00:00.000Z", "2024-01-01T24:00:00.000Z",
		"2024-01-01T00:60:00.000Z", "2024-01-01T00:00:60.000Z", "0000-01-01T00:00:00.000Z",
		"2024-05-04T19:50:52.000z", "2024-05-04 19:50:52.000Z", "2024-05-04T19:50:52,000Z",
		"2024-05-04T19:50:52.00Z", "2024-05-04T19:50:52.0000Z", "+024-05-04T19:50:52.000Z",
		"2024-05-04T19:50:52.00aZ", "2024-5-04T19:50:52.000ZZ", "", "2024-05-04T19:50:52.000Z\x00",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := time.Date(r.IntN(10000), time.January, 1, 0, 0, 0, 0, time.UTC).
			Add(time.Duration(r.Int64N(int64(366 * 24 * time.Hour)))).Truncate(time.Millisecond).Format(timestampOut)
		cases = append(cases, s)
		b := []byte(s)
		b[r.IntN(len(b))] = "0123456789-:.TZ/ a"[r.IntN(18)]
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := canonical(s), canonicalByParse(s); got != want {
			t.Errorf("canonical(%q) = %v, time.Parse says %v", s, got, want)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	for b.Loop() {
		if !canonical("2024-05-04T19:50:52.000Z") {
			b.Fatal("not canonical")
		}
	}
}
