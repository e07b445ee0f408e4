package connector

import (
	"testing"
	"time"
)

// fuzzZones are zones whose clocks do unusual things: a half-hour DST shift
// (Lord Howe), a spring forward at midnight (Santiago), a quarter-hour
// offset (Kathmandu), and the two of the table tests.
var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu"}

// FuzzSchedule feeds arbitrary schedule options and instants to the
// parsers and the slot computation: never a panic; a schedule that parses
// has a next slot strictly after the instant, no further than its period
// allows, which is also its own previous slot. Seeds: the corpus under
// testdata/fuzz/FuzzSchedule and the cases below.
func FuzzSchedule(f *testing.F) {
	f.Add("daily", "02:30", "2026-01-31", uint8(1), int64(1772953200))  // New York, the night of 8 March 2026
	f.Add("hourly", "00:15", "2026-01-01", uint8(3), int64(1775318400)) // Lord Howe, April 2026
	f.Add("monthly", "00:00", "2027-12-31", uint8(4), int64(1757217600))
	f.Add("weekly", "23:59", "2026-06-01", uint8(5), int64(0))
	f.Add("yearly", "24:00", "2026-02-30", uint8(0), int64(-1))
	f.Fuzz(func(t *testing.T, repeats, start, anchor string, zone uint8, unix int64) {
		r, err := ParseRepeats(repeats)
		if err != nil {
			return
		}
		st, err := ParseStartTime(start)
		if err != nil {
			return
		}
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := time.ParseInLocation(time.DateOnly, anchor, loc); err != nil {
			return
		}
		s := Schedule{Repeats: r, StartTime: st, Anchor: anchor}
		at := time.Unix(unix%(4_000_000_000), 0) // 1843 to 2096
		next := s.Next(at, loc)
		limit := map[Repeats]time.Duration{Hourly: 2 * time.Hour, Daily: 49 * time.Hour, Weekly: 8 * 24 * time.Hour, Monthly: 63 * 24 * time.Hour}[r]
		if !next.After(at) || next.Sub(at) > limit {
			t.Fatalf("%+v in %s after %s: next slot %s", s, loc, at.In(loc), next.In(loc))
		}
		if prev, ok := s.Prev(next, loc); !ok || !prev.Equal(next) {
			t.Fatalf("%+v in %s: the slot %s is not its own previous slot (%s)", s, loc, next.In(loc), prev.In(loc))
		}
	})
}
