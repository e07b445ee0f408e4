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
	name, server, auth                     string
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
	str(&o.name, "name", `connector name: unique, 1-100 printable characters; it names files (NC_MAPPINGS_DIR/<name>.csv, <name>-users.csv), so no / \ : * ? " < > |, at most 245 bytes, and no Windows device name (CON, NUL, COM1, ...)`)
	str(&o.server, "server", `connector server name; a daemon runs only its own NC_SERVER_NAME's connectors (default "Cloud")`)
	var auths []string
	for _, sp := range specs {
		if len(sp.Auth) > 1 {
			auths = append(auths, authUsage(sp, len(specs) > 1))
		}
	}
	if len(auths) > 0 {
		str(&o.auth, "auth", "how the connector signs in: "+strings.Join(auths, "; "))
	}
	for _, sp := range specs {
		for _, opt := range sp.Options {
			o.bindOption(fs, opt, str)
		}
		for _, a := range sp.Auth {
			for _, opt := range a.Options {
				o.bindOption(fs, opt, str)
			}
			o.bindSecret(fs, a.Secret, str)
		}
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
	str(&o.timeZone, "time-zone", "time zone of the start time, an IANA `Area/City` such as America/New_York, not a Windows name (default: the server's)")
	fs.BoolVar(&o.active, "active", false, "run on schedule (the default for a new connector)")
	fs.BoolVar(&o.inactive, "inactive", false, "never run on schedule; an explicit run still works")
	o.flags = append(o.flags, "active", "inactive")
	str(&o.rateShare, "rate-share", "percent (1-100) of the provider's rate limit this connector may use (default 50)")
	str(&o.fullEvery, "full-every", "longest time between full runs, e.g. 24h, 36h, 7d (default 24h)")
	str(&o.maxDeletes, "max-deletes", "the deletion guard, `N|P%|none`: the most users one run may delete, as a number (500), "+
		"a percentage of the users the connector has delivered (10%), or none; a run that would delete more holds its "+
		"deletes until an admin runs: run NAME --confirm-deletes (default 10%)")
}

// authUsage lists a kind's ways of signing in for --auth's help.
func authUsage(sp *connector.Spec, withKind bool) string {
	var each []string
	for _, a := range sp.Auth {
		each = append(each, a.Name+", "+a.Summary)
	}
	out := strings.Join(each, "; ")
	if withKind {
		out = sp.Title + ": " + out
	}
	return out
}

// bindOption binds a kind's or a way's option; a flag two kinds share is
// bound once, its help saying what it is for each.
func (o *options) bindOption(fs *pflag.FlagSet, opt connector.Option, str func(*string, string, string)) {
	f := fs.Lookup(opt.Flag)
	if f == nil {
		o.kind[opt.Flag] = new(string)
		str(o.kind[opt.Flag], opt.Flag, opt.Usage)
		return
	}
	if !strings.Contains(f.Usage, opt.Usage) {
		f.Usage += "; " + opt.Usage
	}
}

// bindSecret binds the three flags that hand over a secret.
func (o *options) bindSecret(fs *pflag.FlagSet, sec connector.Secret, str func(*string, string, string)) {
	if fs.Lookup(sec.Flags()[0]) != nil {
		return
	}
	src := &secretSource{}
	o.secrets[sec.Flag] = src
	str(&src.env, sec.Flags()[0], "read the "+sec.What+" from environment variable `VAR`")
	str(&src.file, sec.Flags()[1], "read the "+sec.What+" from `FILE`")
	fs.BoolVar(&src.stdin, sec.Flags()[2], false, "read the "+sec.What+" from standard input (no echo on a terminal)")
	o.flags = append(o.flags, sec.Flags()[2])
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
	str("auth", o.auth, &ch.Auth)
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

// readSecret reads the secret given by the flags of one of sp's ways of
// signing in, before the database is opened, so a bad source changes
// nothing. a is nil when none was given, else the way whose secret it is.
func (t *tree) readSecret(fs *pflag.FlagSet, o *options, sp *connector.Spec) (v secret.Value, a *connector.Auth, err error) {
	var g []string
	for i := range sp.Auth {
		names := sp.Auth[i].Secret.Flags()
		if mine := given(fs, names[:]...); len(mine) > 0 {
			g, a = append(g, mine...), &sp.Auth[i]
		}
	}
	switch len(g) {
	case 0:
		return v, nil, nil
	case 1:
	default:
		return v, nil, usagef("--%s and --%s both give a secret; give only one", g[0], g[1])
	}
	names := a.Secret.Flags()
	src := o.secrets[a.Secret.Flag]
	switch g[0] {
	case names[0]:
		v, err = a.Secret.Form().FromEnv(t.s.lookup, src.env)
	case names[1]:
		v, err = a.Secret.Form().FromFile(src.file)
	default:
		v, err = t.readStdin(a.Secret)
	}
	if err != nil {
		return v, nil, usagef("--%s: %v", g[0], err)
	}
	return v, a, nil
}

// needSecret reports a new connector's missing secret: that of the way
// --auth chose, else of the default way.
func needSecret(sp *connector.Spec, auth string) error {
	a := &sp.Auth[0]
	if auth != "" {
		if b, err := sp.ParseAuth(auth); err == nil {
			a = b
		}
	}
	n := a.Secret.Flags()
	return usagef("the %s is required: give --%s VAR, --%s FILE or --%s (never as a plain value)", a.Secret.What, n[0], n[1], n[2])
}

// describeChanges names the options an edit was given.
func (o *options) describeChanges(fs *pflag.FlagSet) string {
	return "--" + strings.Join(given(fs, o.flags...), ", --")
}

// readStdin reads a secret from standard input, without echo on a
// terminal: one line, or for a PEM key the lines up to its END line.
func (t *tree) readStdin(sec connector.Secret) (secret.Value, error) {
	fd, ok := t.env.StdinTerminal()
	if !ok {
		return sec.Form().FromReader(t.env.Stdin)
	}
	prompt := sec.What
	if sec.Text {
		prompt += " (paste it; input ends at its -----END line)"
	}
	fmt.Fprint(t.env.Stderr, prompt+": ")
	text, err := pasted(func() ([]byte, error) { return term.ReadPassword(fd) }, sec.Text)
	fmt.Fprintln(t.env.Stderr)
	if err != nil {
		return secret.Value{}, fmt.Errorf("read the %s: %w", sec.What, err)
	}
	return sec.Form().FromReader(strings.NewReader(string(text)))
}

// pasted reads what is pasted, a line at a time from line: one line, or,
// for a PEM key (text), the lines up to the key's END line, not that of
// the curve's parameters, which `openssl ecparam -genkey` writes before an
// EC key.
func pasted(line func() ([]byte, error), text bool) ([]byte, error) {
	var out []byte
	for range 500 { // a PEM RSA key of 16,384 bits has fewer lines
		b, err := line()
		if err != nil {
			return nil, err
		}
		out = append(append(out, b...), '\n')
		if l := strings.TrimSpace(string(b)); !text || strings.HasPrefix(l, "-----END ") && l != "-----END EC PARAMETERS-----" {
			break
		}
	}
	return out, nil
}
