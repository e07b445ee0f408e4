package connector

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	utc := time.UTC
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		s     Schedule
		local *time.Location
		after string
		want  []string // the next slots in order, as UTC instants
	}{
		{"daily, later today and the days after", Schedule{Repeats: Daily, StartTime: "02:00", Anchor: "2026-01-01"}, utc,
			"2026-05-01T01:00:00Z", []string{"2026-05-01T02:00:00Z", "2026-05-02T02:00:00Z", "2026-05-03T02:00:00Z"}},
		{"daily, exactly at the slot means the next day", Schedule{Repeats: Daily, StartTime: "02:00", Anchor: "2026-01-01"}, utc,
			"2026-05-01T02:00:00Z", []string{"2026-05-02T02:00:00Z"}},
		{"New York spring forward: 02:30 does not exist, runs at 03:00 EDT", Schedule{Repeats: Daily, StartTime: "02:30", Anchor: "2026-01-01"}, ny,
			"2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"New York spring forward: 02:00 itself does not exist either", Schedule{Repeats: Daily, StartTime: "02:00", Anchor: "2026-01-01"}, ny,
			"2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"}},
		{"New York fall back: 01:30 happens twice, runs once at the first", Schedule{Repeats: Daily, StartTime: "01:30", Anchor: "2026-01-01"}, ny,
			"2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"Berlin spring forward: 02:15 runs at 03:00 CEST", Schedule{Repeats: Daily, StartTime: "02:15", TimeZone: "Europe/Berlin", Anchor: "2026-01-01"}, utc,
			"2026-03-28T12:00:00Z", []string{"2026-03-29T01:00:00Z", "2026-03-30T00:15:00Z"}},
		{"Berlin fall back: 02:30 runs once, CEST", Schedule{Repeats: Daily, StartTime: "02:30", Anchor: "2026-01-01"}, berlin,
			"2026-10-24T12:00:00Z", []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"Berlin fall back: the schedule's own zone wins over the server's", Schedule{Repeats: Daily, StartTime: "02:30", TimeZone: "Europe/Berlin", Anchor: "2026-01-01"}, ny,
			"2026-10-24T12:00:00Z", []string{"2026-10-25T00:30:00Z"}},
		{"hourly at the start time's minute", Schedule{Repeats: Hourly, StartTime: "09:40", Anchor: "2026-01-01"}, utc,
			"2026-05-01T10:41:00Z", []string{"2026-05-01T11:40:00Z", "2026-05-01T12:40:00Z"}},
		{"hourly through New York's fall back: the repeated hour runs twice", Schedule{Repeats: Hourly, StartTime: "00:15", Anchor: "2026-01-01"}, ny,
			"2026-11-01T04:20:00Z", []string{"2026-11-01T05:15:00Z", "2026-11-01T06:15:00Z", "2026-11-01T07:15:00Z"}},
		{"hourly through Berlin's spring forward: the missing hour is skipped", Schedule{Repeats: Hourly, StartTime: "00:15", Anchor: "2026-01-01"}, berlin,
			"2026-03-29T00:20:00Z", []string{"2026-03-29T01:15:00Z", "2026-03-29T02:15:00Z"}},
		{"weekly on the anchor's weekday (a Monday)", Schedule{Repeats: Weekly, StartTime: "06:00", Anchor: "2026-06-01"}, utc,
			"2026-06-03T00:00:00Z", []string{"2026-06-08T06:00:00Z", "2026-06-15T06:00:00Z"}},
		{"monthly on the 31st clamps to each month's last day", Schedule{Repeats: Monthly, StartTime: "23:30", Anchor: "2026-01-31"}, utc,
			"2026-01-31T23:30:00Z", []string{"2026-02-28T23:30:00Z", "2026-03-31T23:30:00Z", "2026-04-30T23:30:00Z"}},
		{"monthly on the 30th in a leap February", Schedule{Repeats: Monthly, StartTime: "00:00", Anchor: "2027-12-30"}, utc,
			"2028-01-30T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2028-03-30T00:00:00Z"}},
		{"monthly across a year end in New York", Schedule{Repeats: Monthly, StartTime: "02:00", Anchor: "2026-05-31"}, ny,
			"2026-12-01T00:00:00Z", []string{"2026-12-31T07:00:00Z", "2027-01-31T07:00:00Z", "2027-02-28T07:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := at(tc.after)
			for i, w := range tc.want {
				got := tc.s.Next(cur, tc.local)
				if !got.Equal(at(w)) {
					t.Fatalf("slot %d after %s: got %s, want %s", i+1, cur.UTC().Format(time.RFC3339), got.UTC().Format(time.RFC3339), w)
				}
				cur = got
			}
		})
	}
}

func TestSchedulePrev(t *testing.T) {
	s := Schedule{Repeats: Monthly, StartTime: "02:00", Anchor: "2026-01-31"}
	got, ok := s.Prev(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), time.UTC)
	if want := time.Date(2026, 2, 28, 2, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("monthly Prev = %s, %v; want %s", got, ok, want)
	}
	d := Schedule{Repeats: Daily, StartTime: "02:00", Anchor: "2026-01-01"}
	at := time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC)
	if got, ok := d.Prev(at, time.UTC); !ok || !got.Equal(at) {
		t.Errorf("daily Prev at the slot = %s, %v; want the slot itself", got, ok)
	}
	h := Schedule{Repeats: Hourly, StartTime: "00:05", Anchor: "2026-01-01"}
	if got, ok := h.Prev(at, time.UTC); !ok || !got.Equal(at.Add(-55*time.Minute)) {
		t.Errorf("hourly Prev = %s, %v", got, ok)
	}
}
