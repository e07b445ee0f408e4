package connector

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // as main: the zones the binary knows, whatever this host has
)

func TestParseBaseURL(t *testing.T) {
	cases := []struct{ in, want, wantErr string }{
		{"acme.okta.com", "https://acme.okta.com", ""},
		{"https://ACME.okta.com/", "https://acme.okta.com", ""},
		{"https://acme.okta.com:8443", "https://acme.okta.com:8443", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://localhost:9", "http://localhost:9", ""},
		{"http://[::1]:8080", "http://[::1]:8080", ""},
		{"api.eu.onelogin.com", "https://api.eu.onelogin.com", ""},
		// The scheme's own port and a fully qualified name's dot name the
		// same URL as without them.
		{"https://acme.okta.com:443", "https://acme.okta.com", ""},
		{"http://localhost:80", "http://localhost", ""},
		{"http://127.0.0.1:443", "http://127.0.0.1:443", ""},
		{"https://ACME.OKTA.COM.", "https://acme.okta.com", ""},
		{"https://[::1]:443", "https://[::1]", ""},
		{"http://acme.okta.com", "", "plain http is allowed only for loopback"},
		{"ftp://acme.okta.com", "", `scheme "ftp"`},
		{"https://acme.okta.com/admin/dashboard", "", "without a path"},
		{"https://user:pw@acme.okta.com", "", "credentials"},
		{"https://acme.okta.com?x=1", "", "query"},
		{"https://acme_okta.com", "", "not a valid host name"},
		{"https://acme.okta.com:99999", "", "not a number from 1 to 65535"},
		{"https://acme.okta.com:abc", "", "not a valid URL"},
		{"", "", "is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBaseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	good := []string{"Okta prod", "Zürich Okta", strings.Repeat("ü", MaxNameLen), strings.Repeat("東", MaxNameBytes/3),
		"Console", "CONTOSO", "NUL users", "COM10", "LPT", ".NUL"}
	bad := map[string]string{
		"":                                    "is empty",
		strings.Repeat("a", MaxNameLen+1):     "101 characters",
		" lead":                               "white space",
		"tab\there":                           "non-printable",
		"a/b":                                 "file names",
		`a:b`:                                 "file names",
		"\xff":                                "UTF-8",
		strings.Repeat("東", MaxNameBytes/3+1): "246 bytes long in UTF-8",
		strings.Repeat("🙂", MaxNameLen):       "400 bytes long",
		"CON":                                 "Windows keeps for a device",
		"nul":                                 "Windows keeps for a device",
		"Aux.okta":                            "Windows keeps for a device",
		"COM1 .prod":                          "Windows keeps for a device",
		"lpt9":                                "Windows keeps for a device",
		"COM²":                                "Windows keeps for a device",
	}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v", n, err)
		}
	}
	for n, want := range bad {
		if err := CheckName(n); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckName(%q) = %v, want %q", n, err, want)
		}
	}
	// The name a device's refusal suggests is one.
	for _, n := range []string{"nul.prod", "CON"} {
		err := CheckName(n)
		_, suggested, _ := strings.Cut(err.Error(), "such as ")
		if s, qerr := strconv.Unquote(suggested); qerr != nil || CheckName(s) != nil {
			t.Errorf("CheckName(%q) suggests %s: %v", n, suggested, CheckName(s))
		}
	}
}

func TestScheduleOptions(t *testing.T) {
	for in, want := range map[string]string{"2:05": "02:05", "00:00": "00:00", "23:59": "23:59"} {
		if got, err := ParseStartTime(in); err != nil || got != want {
			t.Errorf("ParseStartTime(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"24:00", "12:60", "2pm", "1200", "12:5", "-1:00", "123:00", ""} {
		if _, err := ParseStartTime(in); err == nil {
			t.Errorf("ParseStartTime(%q) accepted", in)
		}
	}
	for _, in := range []string{"Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"} {
		if _, err := ParseTimeZone(in); err != nil {
			t.Errorf("ParseTimeZone(%q) = %v", in, err)
		}
	}
	for _, in := range []string{"Mars/Olympus", "", "Local", "CEST+1"} {
		if _, err := ParseTimeZone(in); err == nil {
			t.Errorf("ParseTimeZone(%q) accepted", in)
		}
	}
	// Typed in another case: the zone it names, spelt as the database does.
	for in, want := range map[string]string{"utc": "UTC", "europe/berlin": "Europe/Berlin", "america/new_york": "America/New_York",
		"est5edt": "EST5EDT", " Asia/Tokyo ": "Asia/Tokyo"} {
		if got, err := ParseTimeZone(in); err != nil || got != want {
			t.Errorf("ParseTimeZone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// A Windows admin's names, and fixed offsets taken for a region's time.
	for in, want := range map[string]string{
		"Eastern Standard Time":   "its IANA name, America/New_York",
		"w. europe standard time": "its IANA name, Europe/Berlin",
		"Eastern_Standard_Time":   "America/New_York",
		"Fiji Standard Time":      "looks like a Windows time zone name",
		"EST":                     "fixed offset with no daylight saving (UTC-05:00 all year); give the zone of a place, such as America/New_York",
		"mst":                     "America/Phoenix where the clocks never change",
	} {
		if _, err := ParseTimeZone(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTimeZone(%q) = %v, want %q", in, err, want)
		}
	}
	// Every Windows name's IANA zone is in the database.
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s: %s: %v", win, iana, err)
		}
	}
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseFullEvery(in); err != nil || got != want {
			t.Errorf("ParseFullEvery(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"10m", "32d", "x", "1.5d", ""} {
		if _, err := ParseFullEvery(in); err == nil {
			t.Errorf("ParseFullEvery(%q) accepted", in)
		}
	}
	if _, err := ParseRepeats("yearly"); err == nil {
		t.Error("yearly accepted")
	}
	if r, err := ParseRepeats("Weekly"); err != nil || r != Weekly {
		t.Errorf("ParseRepeats(Weekly) = %v %v", r, err)
	}
}

func TestScheduleDescribesAnchor(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s := Schedule{Repeats: Weekly, StartTime: "02:00", TimeZone: "Europe/Berlin"}
	// 23:30 UTC on Sunday is already Monday in Berlin: the anchor follows the zone.
	s.Reanchor(time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), time.UTC)
	if got := s.String(); got != "weekly on Monday at 02:00 (Europe/Berlin)" {
		t.Errorf("String = %q", got)
	}
	s.Repeats = Monthly
	if got := s.String(); got != "monthly on day 23 at 02:00 (Europe/Berlin)" {
		t.Errorf("String = %q", got)
	}
	s = Schedule{Repeats: Hourly, StartTime: "02:30"}
	if got := s.String(); !strings.HasPrefix(got, "hourly at minute 30") {
		t.Errorf("String = %q", got)
	}
	if s.Location(berlin) != berlin {
		t.Error("an empty zone must mean the server's zone")
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	c := New(codeKind, time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	c.Name, c.URL, c.ClientID, c.FullEvery = "OL", "https://acme.onelogin.com", "cid", Duration(36*time.Hour)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"fullEvery":"36h"`) {
		t.Errorf("fullEvery encoded as %s", data)
	}
	var back Config
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if !strings.HasPrefix(c.ID, "c_") || len(c.ID) != 28 || c.Statuses[0] != "active" || !c.Active || c.RateShare != 50 {
		t.Errorf("defaults: %+v", c)
	}
}
