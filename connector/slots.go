package connector

import (
	"time"
)

// This file computes a schedule's slots: the instants it runs at. Slots are
// worked out on the wall clock of the schedule's zone, so "daily at 02:00"
// stays at 02:00 across daylight-saving changes, with product.md §1's two
// rules for the days the wall clock jumps:
//   - a start time that does not exist that day (spring forward) runs at the
//     next minute that does, the moment the clock jumped;
//   - a start time that exists twice (fall back) runs once, at the first.

// Next returns the schedule's first slot strictly after t. local is the
// server's zone, used when the schedule names none.
func (s Schedule) Next(t time.Time, local *time.Location) time.Time {
	loc := s.Location(local)
	h, m := s.clock()
	if s.Repeats == Hourly {
		return nextHourly(t, loc, m)
	}
	lt := t.In(loc)
	// Walk the calendar day by day from t's date; a monthly schedule needs at
	// most two months, a weekly one a week, so the bound is never reached by
	// a valid schedule.
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 12, 0, 0, 0, loc)
	for i := 0; i < 70; i++ {
		d := day.AddDate(0, 0, i)
		if !s.runsOn(d, loc) {
			continue
		}
		if slot := wallTime(d.Year(), d.Month(), d.Day(), h, m, loc); slot.After(t) {
			return slot
		}
	}
	return t.Add(24 * time.Hour) // unreachable for a checked schedule; never busy-loop
}

// Prev returns the schedule's last slot at or before t, and false if there
// is none in the period before t (which a checked schedule always has).
func (s Schedule) Prev(t time.Time, local *time.Location) (time.Time, bool) {
	back := map[Repeats]time.Duration{Hourly: 2 * time.Hour, Daily: 49 * time.Hour, Weekly: 8 * 24 * time.Hour}[s.Repeats]
	if back == 0 {
		back = 63 * 24 * time.Hour // monthly: two months cover a clamped day
	}
	var prev time.Time
	for slot := s.Next(t.Add(-back), local); !slot.After(t); slot = s.Next(slot, local) {
		prev = slot
	}
	return prev, !prev.IsZero()
}

// clock returns the start time's hour and minute.
func (s Schedule) clock() (int, int) {
	st, err := ParseStartTime(s.StartTime)
	if err != nil {
		st = DefaultStartTime
	}
	return int(st[0]-'0')*10 + int(st[1]-'0'), int(st[3]-'0')*10 + int(st[4]-'0')
}

// runsOn reports whether a daily, weekly or monthly schedule has a slot on
// the date of d.
func (s Schedule) runsOn(d time.Time, loc *time.Location) bool {
	anchor, err := time.ParseInLocation(time.DateOnly, s.Anchor, loc)
	switch {
	case s.Repeats == Weekly && err == nil:
		return d.Weekday() == anchor.Weekday()
	case s.Repeats == Monthly && err == nil:
		last := time.Date(d.Year(), d.Month()+1, 0, 12, 0, 0, 0, loc).Day()
		return d.Day() == min(anchor.Day(), last)
	}
	return true
}

// wallTime is the instant the zone's clock shows h:m on the given date,
// following the two daylight-saving rules above.
func wallTime(y int, mo time.Month, d, h, m int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, m, 0, 0, loc)
	if t.Hour() != h || t.Minute() != m {
		// h:m does not exist that day. Go picked an instant around the
		// jump; the next valid minute is the jump itself, where the zone
		// that follows it begins.
		start, _ := t.ZoneBounds()
		if sh, sm := start.Hour(), start.Minute(); start.Day() == d && sh*60+sm > h*60+m {
			return start
		}
		for t.Hour()*60+t.Minute() < h*60+m && t.Day() == d {
			t = t.Add(time.Minute)
		}
		return t
	}
	// h:m may exist twice; take the earlier one.
	start, _ := t.ZoneBounds()
	_, offNow := t.Zone()
	_, offBefore := start.Add(-time.Second).Zone()
	if offBefore > offNow {
		if early := t.Add(-time.Duration(offBefore-offNow) * time.Second); early.Before(start) &&
			early.Hour() == h && early.Minute() == m {
			return early
		}
	}
	return t
}

// nextHourly is the first instant after t whose minute on the zone's clock
// is m. It steps in real hours, so the repeated hour of a fall-back night
// runs twice (it is two hours) and the skipped one of spring forward not at
// all.
func nextHourly(t time.Time, loc *time.Location, m int) time.Time {
	lt := t.In(loc)
	c := lt.Truncate(time.Minute).Add(time.Duration(m-lt.Minute()) * time.Minute)
	for i := 0; i < 4 && !c.After(t); i++ {
		c = c.Add(time.Hour)
	}
	// Zones whose offset changes by a half hour shift the minute; bring it back.
	if got := c.In(loc).Minute(); got != m {
		c = c.Add(time.Duration((m-got+60)%60) * time.Minute)
	}
	return c
}
