package connector

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Changes are the options an add or an edit sets, as the admin typed them
// (product.md §1); a nil field leaves its option as it is. The values stay
// strings until Apply validates them, so that each message names its
// option and how to fix it, wherever the change was made: the command
// line's process or the daemon, which never trusts its client's checks.
type Changes struct {
	Name       *string `json:"name,omitempty"`
	Server     *string `json:"server,omitempty"`
	URL        *string `json:"url,omitempty"`    // Okta
	Domain     *string `json:"domain,omitempty"` // OneLogin
	ClientID   *string `json:"clientId,omitempty"`
	Statuses   *string `json:"userStatus,omitempty"`
	Repeats    *string `json:"repeats,omitempty"`
	StartTime  *string `json:"startTime,omitempty"`
	TimeZone   *string `json:"timeZone,omitempty"`
	Active     *bool   `json:"active,omitempty"`
	RateShare  *string `json:"rateShare,omitempty"`
	FullEvery  *string `json:"fullEvery,omitempty"`
	MaxDeletes *string `json:"maxDeletes,omitempty"`
}

// OptionError is a change Apply refused; its message names the option.
type OptionError struct{ msg string }

func (e *OptionError) Error() string { return e.msg }

func optionErr(format string, args ...any) error {
	return &OptionError{fmt.Sprintf(format, args...)}
}

// Given names the options set, as flags, in the order Apply checks them.
func (ch Changes) Given() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"name", ch.Name != nil}, {"server", ch.Server != nil}, {"url", ch.URL != nil}, {"domain", ch.Domain != nil},
		{"client-id", ch.ClientID != nil}, {"user-status", ch.Statuses != nil}, {"repeats", ch.Repeats != nil},
		{"start-time", ch.StartTime != nil}, {"time-zone", ch.TimeZone != nil}, {"active", ch.Active != nil},
		{"rate-share", ch.RateShare != nil}, {"full-every", ch.FullEvery != nil}, {"max-deletes", ch.MaxDeletes != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// Apply validates every option given and sets it on c; options not given
// leave c as it is, which is what makes an edit change only what is named.
// A change of period, start time or time zone re-anchors the schedule on
// now's date. An error (an *OptionError) leaves c unchanged.
func (ch Changes) Apply(c *Config, now time.Time, local *time.Location) error {
	next := *c
	next.Statuses = append([]string(nil), c.Statuses...)
	if err := ch.apply(&next); err != nil {
		return err
	}
	if ch.Repeats != nil || ch.StartTime != nil || ch.TimeZone != nil {
		next.Schedule.Reanchor(now, local)
	}
	*c = next
	return nil
}

func (ch Changes) apply(c *Config) error {
	// Options of the other kind: an edit must not store a OneLogin
	// domain as an Okta URL.
	other, given := OneLogin, ""
	switch {
	case c.Kind == Okta && ch.Domain != nil:
		given = "domain"
	case c.Kind == Okta && ch.ClientID != nil:
		given = "client-id"
	case c.Kind == OneLogin && ch.URL != nil:
		other, given = Okta, "url"
	}
	if given != "" {
		return optionErr("--%s applies to %s connectors; %q is of type %s", given, other, c.Name, c.Kind)
	}
	if err := ch.applyIdentity(c); err != nil {
		return err
	}
	if err := ch.applySchedule(c); err != nil {
		return err
	}
	return ch.applyLimits(c)
}

func (ch Changes) applyIdentity(c *Config) error {
	if ch.Name != nil {
		if err := CheckName(*ch.Name); err != nil {
			return optionErr("--name %v", err)
		}
		c.Name = *ch.Name
	}
	if ch.Server != nil {
		if err := CheckServer(*ch.Server); err != nil {
			return optionErr("--server %v", err)
		}
		c.Server = *ch.Server
	}
	if ch.URL != nil {
		u, err := CheckOktaURL(*ch.URL)
		if err != nil {
			return optionErr("--url: %v", err)
		}
		c.URL = u
	}
	if ch.Domain != nil {
		u, err := ParseBaseURL(*ch.Domain)
		if err != nil {
			return optionErr("--domain: %v", err)
		}
		c.URL = u
	}
	if ch.ClientID != nil {
		id := strings.TrimSpace(*ch.ClientID)
		if id == "" || strings.ContainsAny(id, " \t\r\n") {
			return optionErr("--client-id must be the API client ID shown in OneLogin (no spaces)")
		}
		c.ClientID = id
	}
	if ch.Statuses != nil {
		st, err := ParseStatuses(c.Kind, *ch.Statuses)
		if err != nil {
			return optionErr("--user-status: %v", err)
		}
		c.Statuses = st
	}
	return nil
}

func (ch Changes) applySchedule(c *Config) error {
	if ch.Repeats != nil {
		r, err := ParseRepeats(*ch.Repeats)
		if err != nil {
			return optionErr("--repeats: %v", err)
		}
		c.Schedule.Repeats = r
	}
	if ch.StartTime != nil {
		t, err := ParseStartTime(*ch.StartTime)
		if err != nil {
			return optionErr("--start-time: %v", err)
		}
		c.Schedule.StartTime = t
	}
	if ch.TimeZone != nil {
		z, err := ParseTimeZone(*ch.TimeZone)
		if err != nil {
			return optionErr("--time-zone: %v", err)
		}
		c.Schedule.TimeZone = z
	}
	if ch.Active != nil {
		c.Active = *ch.Active
	}
	return nil
}

func (ch Changes) applyLimits(c *Config) error {
	if ch.RateShare != nil {
		n, err := strconv.Atoi(strings.TrimSpace(*ch.RateShare))
		if err != nil {
			return optionErr("--rate-share: %q is not a whole number; give a percentage from 1 to 100", *ch.RateShare)
		}
		if c.RateShare, err = ParseRateShare(n); err != nil {
			return optionErr("--rate-share: %v", err)
		}
	}
	if ch.FullEvery != nil {
		d, err := ParseFullEvery(*ch.FullEvery)
		if err != nil {
			return optionErr("--full-every: %v", err)
		}
		c.FullEvery = Duration(d)
	}
	if ch.MaxDeletes != nil {
		l, err := ParseDeleteLimit(*ch.MaxDeletes)
		if err != nil {
			return optionErr("--max-deletes: %v", err)
		}
		c.MaxDeletes = l
	}
	return nil
}

// Required names the first option a new connector of kind needs and
// lacks, with an example; "" when none is missing.
func (ch Changes) Required(kind Kind) string {
	switch {
	case ch.Name == nil:
		return fmt.Sprintf(`--name is required; e.g. --name "%s prod"`, Title(kind))
	case kind == Okta && ch.URL == nil:
		return "--url is required; e.g. --url https://acme.okta.com"
	case kind == OneLogin && ch.Domain == nil:
		return "--domain is required; e.g. --domain acme.onelogin.com"
	case kind == OneLogin && ch.ClientID == nil:
		return "--client-id is required; e.g. --client-id 0123abcd"
	}
	return ""
}

// Title is a kind's name as people write it.
func Title(k Kind) string {
	if k == OneLogin {
		return "OneLogin"
	}
	return "Okta"
}
