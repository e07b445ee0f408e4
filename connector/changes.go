package connector

import (
	"fmt"
	"maps"
	"slices"
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
	Name   *string `json:"name,omitempty"`
	Server *string `json:"server,omitempty"`
	// Auth chooses the way the connector signs in (Spec.Auth), by name.
	Auth *string `json:"auth,omitempty"`
	// Options are the kind's own options (Spec.Options) and those of its
	// ways of signing in (Auth.Options), by flag.
	Options    map[string]string `json:"options,omitempty"`
	Statuses   *string           `json:"userStatus,omitempty"`
	Repeats    *string           `json:"repeats,omitempty"`
	StartTime  *string           `json:"startTime,omitempty"`
	TimeZone   *string           `json:"timeZone,omitempty"`
	Active     *bool             `json:"active,omitempty"`
	RateShare  *string           `json:"rateShare,omitempty"`
	FullEvery  *string           `json:"fullEvery,omitempty"`
	MaxDeletes *string           `json:"maxDeletes,omitempty"`
}

// OptionError is a change Apply refused; its message names the option.
type OptionError struct{ msg string }

func (e *OptionError) Error() string { return e.msg }

func optionErr(format string, args ...any) error {
	return &OptionError{fmt.Sprintf(format, args...)}
}

// Given names the options set, as flags, in the order Apply checks them
// (the kind's own options in alphabetical order).
func (ch Changes) Given() []string {
	out := make([]string, 0, len(ch.Options)+4)
	if ch.Name != nil {
		out = append(out, "name")
	}
	if ch.Server != nil {
		out = append(out, "server")
	}
	if ch.Auth != nil {
		out = append(out, "auth")
	}
	out = append(out, slices.Sorted(maps.Keys(ch.Options))...)
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"user-status", ch.Statuses != nil}, {"repeats", ch.Repeats != nil},
		{"start-time", ch.StartTime != nil}, {"time-zone", ch.TimeZone != nil}, {"active", ch.Active != nil},
		{"rate-share", ch.RateShare != nil}, {"full-every", ch.FullEvery != nil}, {"max-deletes", ch.MaxDeletes != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// Apply validates every option given and sets it on c, a connector of
// spec's kind; options not given leave c as it is, which is what makes an
// edit change only what is named. A change of period, start time or time
// zone re-anchors the schedule on now's date. An error (an *OptionError)
// leaves c unchanged.
func (ch Changes) Apply(spec *Spec, c *Config, now time.Time, local *time.Location) error {
	if spec.Kind != c.Kind {
		return fmt.Errorf("connector %q is of type %s, not %s", c.Name, c.Kind, spec.Kind)
	}
	next := *c
	next.Statuses = append([]string(nil), c.Statuses...)
	if err := ch.apply(spec, &next); err != nil {
		return err
	}
	if ch.Repeats != nil || ch.StartTime != nil || ch.TimeZone != nil {
		next.Schedule.Reanchor(now, local)
	}
	*c = next
	return nil
}

func (ch Changes) apply(spec *Spec, c *Config) error {
	// An option of another kind: an edit must not store a OneLogin domain
	// as an Okta URL.
	for _, flag := range slices.Sorted(maps.Keys(ch.Options)) {
		if _, o := spec.authOption(flag); spec.Option(flag) == nil && o == nil {
			return optionErr("--%s is not an option of %s connectors; %q takes %s", flag, spec.Kind, c.Name, spec.flagList())
		}
	}
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
	if err := setOptions(spec.Options, ch.Options, c); err != nil {
		return err
	}
	if err := ch.applyAuth(spec, c); err != nil {
		return err
	}
	if ch.Statuses != nil {
		st, err := spec.ParseStatuses(*ch.Statuses)
		if err != nil {
			return optionErr("--user-status: %v", err)
		}
		c.Statuses = st
	}
	if err := ch.applySchedule(c); err != nil {
		return err
	}
	return ch.applyLimits(c)
}

// setOptions sets on c those of opts that given names.
func setOptions(opts []Option, given map[string]string, c *Config) error {
	for _, o := range opts {
		if v, ok := given[o.Flag]; ok {
			if err := o.Set(c, v); err != nil {
				return optionErr("--%s: %v", o.Flag, err)
			}
		}
	}
	return nil
}

// applyAuth switches the way c signs in when --auth is given, forgetting
// the options of the way it leaves, and sets the options of the way it
// signs in now. An option of another way is refused rather than stored
// unused, and the way's needed options must be set when it is done.
func (ch Changes) applyAuth(spec *Spec, c *Config) error {
	was := spec.AuthOf(*c)
	now := was
	if ch.Auth != nil {
		a, err := spec.ParseAuth(*ch.Auth)
		if err != nil {
			return optionErr("--auth: %v", err)
		}
		now = a
		if was != nil && was != now && was.Clear != nil {
			was.Clear(c)
		}
		c.Auth = now.Name
		if now == &spec.Auth[0] {
			c.Auth = "" // the default, as older versions wrote it
		}
	}
	if now == nil {
		return optionErr("connector %q signs in as %q, which this version does not know; give --auth %s", c.Name, c.Auth, spec.AuthNames())
	}
	for _, flag := range slices.Sorted(maps.Keys(ch.Options)) {
		if a, _ := spec.authOption(flag); a != nil && a != now {
			return optionErr("--%s is an option of %s, and %q would sign in with %s; to switch, add %s",
				flag, a.authFlag(), c.Name, now.authFlag(), a.authFlag())
		}
	}
	if err := setOptions(now.Options, ch.Options, c); err != nil {
		return err
	}
	for _, o := range now.Options {
		if !o.Optional && o.Get != nil && o.Get(*c) == "" {
			return optionErr("%s needs --%s; e.g. --%s %s", now.authFlag(), o.Flag, o.Flag, o.Example)
		}
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

// Required names the first option a new connector of spec's kind needs
// and lacks, with an example; "" when none is missing.
func (ch Changes) Required(spec *Spec) string {
	if ch.Name == nil {
		return fmt.Sprintf(`--name is required; e.g. --name "%s prod"`, spec.Title)
	}
	for _, o := range spec.Options {
		if _, ok := ch.Options[o.Flag]; !ok && !o.Optional {
			return fmt.Sprintf("--%s is required; e.g. --%s %s", o.Flag, o.Flag, o.Example)
		}
	}
	return ""
}
