package connector

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ParseTimeZone checks an IANA zone name such as Europe/Berlin and returns
// it as the time zone database spells it. A name typed in another case
// (utc, europe/berlin) is the zone it names. A Windows zone name, which
// Windows admins know from tzutil, and the fixed offsets EST and MST,
// which are easily taken for their regions' time, are refused with the
// IANA name meant.
func ParseTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "Local" {
		return "", fmt.Errorf("give an IANA zone such as Europe/Berlin or UTC; leave the option out for the server's local time")
	}
	if hint, ok := fixedMistaken[strings.ToUpper(s)]; ok {
		return "", fmt.Errorf("%s is a fixed offset with no daylight saving (%s); give the zone of a place, such as %s", s, hint[0], hint[1])
	}
	if iana, ok := windowsZone(s); ok {
		return "", fmt.Errorf("%q is a Windows time zone name; give its IANA name, %s", s, iana)
	}
	for _, name := range []string{s, strings.ToUpper(s), titleCase(s)} {
		if _, err := time.LoadLocation(name); err == nil {
			return name, nil
		}
	}
	if strings.HasSuffix(strings.ToLower(strings.ReplaceAll(s, "_", " ")), "standard time") {
		return "", fmt.Errorf("%q looks like a Windows time zone name; give the IANA name of the zone, such as America/New_York or Europe/Berlin", s)
	}
	return "", fmt.Errorf("unknown time zone %q; give an IANA zone such as Europe/Berlin or America/New_York", s)
}

// fixedMistaken are the zone names that are fixed offsets in the time zone
// database, although the abbreviations name a region's time, daylight
// saving included, in everyday use: a connector "at 02:00 EST" would run
// at 03:00 New York time all summer.
var fixedMistaken = map[string][2]string{
	"EST": {"UTC-05:00 all year", "America/New_York"},
	"MST": {"UTC-07:00 all year", "America/Denver, or America/Phoenix where the clocks never change"},
}

// titleCase spells a zone name the way the time zone database does: each
// word capitalised (america/new_york is America/New_York).
func titleCase(s string) string {
	out := []rune(strings.ToLower(s))
	start := true
	for i, r := range out {
		if start {
			out[i] = unicode.ToUpper(r)
		}
		start = r == '/' || r == '_' || r == '-'
	}
	return string(out)
}

// windowsZone is the IANA zone of a common Windows time zone name (the
// Unicode CLDR's windowsZones table, its default territory), matched in
// any case and with _ for spaces.
func windowsZone(s string) (string, bool) {
	iana, ok := windowsZones[strings.ToLower(strings.ReplaceAll(s, "_", " "))]
	return iana, ok
}

var windowsZones = map[string]string{
	"dateline standard time":         "Etc/GMT+12",
	"hawaiian standard time":         "Pacific/Honolulu",
	"alaskan standard time":          "America/Anchorage",
	"pacific standard time":          "America/Los_Angeles",
	"us mountain standard time":      "America/Phoenix",
	"mountain standard time":         "America/Denver",
	"central standard time":          "America/Chicago",
	"central standard time (mexico)": "America/Mexico_City",
	"central america standard time":  "America/Guatemala",
	"eastern standard time":          "America/New_York",
	"us eastern standard time":       "America/Indiana/Indianapolis",
	"sa pacific standard time":       "America/Bogota",
	"atlantic standard time":         "America/Halifax",
	"newfoundland standard time":     "America/St_Johns",
	"e. south america standard time": "America/Sao_Paulo",
	"argentina standard time":        "America/Argentina/Buenos_Aires",
	"pacific sa standard time":       "America/Santiago",
	"gmt standard time":              "Europe/London",
	"greenwich standard time":        "Atlantic/Reykjavik",
	"w. europe standard time":        "Europe/Berlin",
	"central europe standard time":   "Europe/Budapest",
	"romance standard time":          "Europe/Paris",
	"central european standard time": "Europe/Warsaw",
	"e. europe standard time":        "Europe/Chisinau",
	"fle standard time":              "Europe/Kyiv",
	"gtb standard time":              "Europe/Bucharest",
	"russian standard time":          "Europe/Moscow",
	"israel standard time":           "Asia/Jerusalem",
	"south africa standard time":     "Africa/Johannesburg",
	"arabian standard time":          "Asia/Dubai",
	"india standard time":            "Asia/Kolkata",
	"singapore standard time":        "Asia/Singapore",
	"china standard time":            "Asia/Shanghai",
	"tokyo standard time":            "Asia/Tokyo",
	"korea standard time":            "Asia/Seoul",
	"aus eastern standard time":      "Australia/Sydney",
	"e. australia standard time":     "Australia/Brisbane",
	"w. australia standard time":     "Australia/Perth",
	"new zealand standard time":      "Pacific/Auckland",
}
