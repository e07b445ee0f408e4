package connector

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Repeats is how often a connector runs on schedule.
type Repeats string

// The schedule periods of product.md §1.
const (
	Hourly  Repeats = "hourly"
	Daily   Repeats = "daily"
	Weekly  Repeats = "weekly"
	Monthly Repeats = "monthly"
)

// ParseRepeats accepts a period name in any case.
func ParseRepeats(s string) (Repeats, error) {
	r := Repeats(strings.ToLower(strings.TrimSpace(s)))
	switch r {
	case Hourly, Daily, Weekly, Monthly:
		return r, nil
	}
	return "", fmt.Errorf("unknown period %q; valid: hourly, daily, weekly, monthly", s)
}

// Schedule says when a connector runs.
type Schedule struct {
	Repeats   Repeats `json:"repeats"`
	StartTime string  `json:"startTime"`          // HH:MM, 24 h
	TimeZone  string  `json:"timeZone,omitempty"` // IANA name; empty means the server's local zone
	// Anchor is the date (YYYY-MM-DD, in the schedule's zone) the schedule was
	// set: weekly runs keep its weekday, monthly runs its day of the month.
	Anchor string `json:"anchor"`
}

// ParseStartTime reads HH:MM (24 h; a one-digit hour is accepted) and returns
// it as HH:MM.
func ParseStartTime(s string) (string, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || herr != nil || merr != nil || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 ||
		h < 0 || h > 23 || m < 0 || m > 59 {
		return "", fmt.Errorf("%q is not a time of day; use HH:MM on the 24-hour clock, e.g. 02:00 or 18:30", s)
	}
	return fmt.Sprintf("%02d:%02d", h, m), nil
}

// Location returns the schedule's zone; local is the server's zone.
func (s Schedule) Location(local *time.Location) *time.Location {
	if s.TimeZone == "" {
		return local
	}
	if loc, err := time.LoadLocation(s.TimeZone); err == nil {
		return loc
	}
	return local // validated on input; a zone later removed from tzdata falls back
}

// Reanchor sets the anchor to now's date in the schedule's zone; call it
// whenever the period, time or zone changes.
func (s *Schedule) Reanchor(now time.Time, local *time.Location) {
	s.Anchor = now.In(s.Location(local)).Format(time.DateOnly)
}

// String describes the schedule for people: "weekly on Monday at 02:00 (Europe/Berlin)".
func (s Schedule) String() string {
	zone := s.TimeZone
	if zone == "" {
		zone = "server time"
	}
	anchor, err := time.Parse(time.DateOnly, s.Anchor)
	switch {
	case s.Repeats == Hourly:
		return fmt.Sprintf("hourly at minute %s (from %s, %s)", s.StartTime[3:], s.StartTime, zone)
	case s.Repeats == Weekly && err == nil:
		return fmt.Sprintf("weekly on %s at %s (%s)", anchor.Weekday(), s.StartTime, zone)
	case s.Repeats == Monthly && err == nil:
		return fmt.Sprintf("monthly on day %d at %s (%s)", anchor.Day(), s.StartTime, zone)
	}
	return fmt.Sprintf("%s at %s (%s)", s.Repeats, s.StartTime, zone)
}
