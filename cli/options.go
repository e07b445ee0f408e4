package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"neurons-connector/connector"
	"neurons-connector/secret"
)

// options are the connector flags of product.md §1: the common ones, and
// those each kind's spec declares. Values stay strings until the backend
// applies them, so that every message names its flag and says how to fix
// it.
type options struct {
	name, server                           string
	statuses, repeats, startTime, timeZone string
	rateShare, fullEvery, maxDeletes       string
	active, inactive                       bool
	kind                                   map[string]*string       // the kinds' own options, by flag
	secrets                                map[string]*secretSource // by the secret's flag stem
	flags                                  []string                 // every flag bound, in order
}

// secretSource is where a secret's flags say to read it.
type secretSource struct {
	env, file string
	stdin     bool
}

// bind registers on fs the common flags and those of specs (one spec for
// add, every one for edit). A flag two kinds share is bound once.
func (o *options) bind(fs *pflag.FlagSet, specs ...*connector.Spec) {
	o.kind, o.secrets = map[string]*string{}, map[string]*secretSource{}
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, "", usage)
		o.flags = append(o.flags, name)
	}
	str(&o.name, "name", "connector name: unique, 1-100 printable characters")
	str(&o.server, "server", `connector server name; a daemon runs only its own NC_SERVER_NAME's connectors (default "Cloud")`)
	for _, sp := range specs {
		for _, opt := range sp.Options {
			if fs.Lookup(opt.Flag) == nil {
				o.kind[opt.Flag] = new(string)
				str(o.kind[opt.Flag], opt.Flag, opt.Usage)
			}
		}
		sec := sp.Secret
		if fs.Lookup(sec.Flags()[0]) != nil {
			continue
		}
		src := &secretSource{}
		o.secrets[sec.Flag] = src
		str(&src.env, sec.Flags()[0], "read the "+sec.What+" from environment variable `VAR`")
		str(&src.file, sec.Flags()[1], "read the "+sec.What+" from `FILE`")
		fs.BoolVar(&src.stdin, sec.Flags()[2], false, "read the "+sec.What+" from standard input (no echo on a terminal)")
		o.flags = append(o.flags, sec.Flags()[2])
	}
	status := "comma-separated user statuses to sync, any case"
	if len(specs) == 1 {
		status += ", from: " + statusList(specs[0]) + " (default " + specs[0].DefaultStatus + ")"
	} else {
		var each []string
		for _, sp := range specs {
			each = append(each, sp.Title+": "+statusList(sp)+" (default "+sp.DefaultStatus+")")
		}
		status += "; " + strings.Join(each, "; ")
	}
	str(&o.statuses, "user-status", status)
	str(&o.repeats, "repeats", "how often it runs: hourly, daily, weekly or monthly (default daily)")
	str(&o.startTime, "start-time", "first run of the day, `HH:MM` on the 24-hour clock (default 02:00)")
	str(&o.timeZone, "time-zone", "time zone of the start time, `Area/City` (default: the server's)")
	fs.BoolVar(&o.active, "active", false, "run on schedule (the default for a new connector)")
	fs.BoolVar(&o.inactive, "inactive", false, "never run on schedule; an explicit run still works")
	o.flags = append(o.flags, "active", "inactive")
	str(&o.rateShare, "rate-share", "percent (1-100) of the provider's rate limit this connector may use (default 50)")
	str(&o.fullEvery, "full-every", "longest time between full runs, e.g. 24h, 36h, 7d (default 24h)")
	str(&o.maxDeletes, "max-deletes", "the deletion guard, `N|P%|none`: the most users one run may delete, as a number (500), "+
		"a percentage of the users the connector has delivered (10%), or none; a run that would delete more holds its "+
		"deletes until an admin runs: run NAME --confirm-deletes (default 10%)")
}

func statusList(sp *connector.Spec) string {
	names := make([]string, len(sp.Statuses))
	for i, s := range sp.Statuses {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// given lists which of names were set on the command line.
func given(fs *pflag.FlagSet, names ...string) []string {
	var out []string
	for _, n := range names {
		if fs.Lookup(n) != nil && fs.Changed(n) {
			out = append(out, n)
		}
	}
	return out
}

// changes turns the flags given into the Changes of an add or an edit.
// Values are checked where they are applied (connector.Changes.Apply), in
// this process or the daemon's; only what the flags themselves can get
// wrong is checked here.
func (o *options) changes(fs *pflag.FlagSet) (connector.Changes, error) {
	var ch connector.Changes
	str := func(flag string, v string, field **string) {
		if fs.Lookup(flag) != nil && fs.Changed(flag) {
			*field = &v
		}
	}
	str("name", o.name, &ch.Name)
	str("server", o.server, &ch.Server)
	for flag, v := range o.kind {
		if fs.Changed(flag) {
			if ch.Options == nil {
				ch.Options = map[string]string{}
			}
			ch.Options[flag] = *v
		}
	}
	str("user-status", o.statuses, &ch.Statuses)
	str("repeats", o.repeats, &ch.Repeats)
	str("start-time", o.startTime, &ch.StartTime)
	str("time-zone", o.timeZone, &ch.TimeZone)
	str("rate-share", o.rateShare, &ch.RateShare)
	str("full-every", o.fullEvery, &ch.FullEvery)
	str("max-deletes", o.maxDeletes, &ch.MaxDeletes)
	active, inactive := fs.Changed("active"), fs.Changed("inactive")
	switch {
	case active && inactive:
		return ch, usagef("--active and --inactive contradict each other; give one")
	case active:
		ch.Active = &o.active
	case inactive:
		v := !o.inactive
		ch.Active = &v
	}
	return ch, nil
}

// readSecret reads the secret given by one of sp's secret flags, before
// the database is opened, so a bad source changes nothing. ok is false when
// none was given.
func (t *tree) readSecret(fs *pflag.FlagSet, o *options, sp *connector.Spec) (v secret.Value, ok bool, err error) {
	names := sp.Secret.Flags()
	g := given(fs, names[:]...)
	switch len(g) {
	case 0:
		return v, false, nil
	case 1:
	default:
		return v, false, usagef("--%s and --%s both give the secret; give only one", g[0], g[1])
	}
	src := o.secrets[sp.Secret.Flag]
	switch g[0] {
	case names[0]:
		v, err = secret.FromEnv(t.s.lookup, src.env)
	case names[1]:
		v, err = secret.FromFile(src.file)
	default:
		v, err = t.readStdin(sp.Secret.What)
	}
	if err != nil {
		return v, false, usagef("--%s: %v", g[0], err)
	}
	return v, true, nil
}

// needSecret reports a new connector's missing secret.
func needSecret(sp *connector.Spec) error {
	n := sp.Secret.Flags()
	return usagef("the %s is required: give --%s VAR, --%s FILE or --%s (never as a plain value)", sp.Secret.What, n[0], n[1], n[2])
}

// describeChanges names the options an edit was given.
func (o *options) describeChanges(fs *pflag.FlagSet) string {
	return "--" + strings.Join(given(fs, o.flags...), ", --")
}

// readStdin reads a secret from standard input, without echo on a terminal.
func (t *tree) readStdin(prompt string) (secret.Value, error) {
	if fd, ok := t.env.StdinTerminal(); ok {
		fmt.Fprint(t.env.Stderr, prompt+": ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(t.env.Stderr)
		if err != nil {
			return secret.Value{}, fmt.Errorf("read %s: %w", prompt, err)
		}
		return secret.FromReader(strings.NewReader(string(b)))
	}
	return secret.FromReader(t.env.Stdin)
}
