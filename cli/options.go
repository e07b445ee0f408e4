package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"neurons-connector/connector"
	"neurons-connector/secret"
)

// options are the connector flags of product.md §1. Values stay strings until
// apply validates them, so that every message names its flag and says how to
// fix it.
type options struct {
	name, server, url, domain, clientID        string
	statuses, repeats, startTime, timeZone     string
	rateShare, fullEvery, maxDeletes           string
	active, inactive                           bool
	tokenEnv, tokenFile, secretEnv, secretFile string
	tokenStdin, secretStdin                    bool
}

// secretFlags are the flags that hand over a kind's secret.
var secretFlags = map[connector.Kind][]string{
	connector.Okta:     {"token-env", "token-file", "token-stdin"},
	connector.OneLogin: {"client-secret-env", "client-secret-file", "client-secret-stdin"},
}

// optionFlags are all connector flags, in the order apply checks them.
var optionFlags = []string{"name", "server", "url", "domain", "client-id",
	"token-env", "token-file", "token-stdin", "client-secret-env", "client-secret-file", "client-secret-stdin",
	"user-status", "repeats", "start-time", "time-zone", "active", "inactive", "rate-share", "full-every", "max-deletes"}

// bind registers the flags of kinds (both for edit) on fs.
func (o *options) bind(fs *pflag.FlagSet, kinds ...connector.Kind) {
	fs.StringVar(&o.name, "name", "", "connector name: unique, 1-100 printable characters")
	fs.StringVar(&o.server, "server", "", `connector server name; a daemon runs only its own NC_SERVER_NAME's connectors (default "Cloud")`)
	for _, k := range kinds {
		switch k {
		case connector.Okta:
			fs.StringVar(&o.url, "url", "", "Okta org URL, e.g. https://acme.okta.com (https; http only for loopback)")
			fs.StringVar(&o.tokenEnv, "token-env", "", "read the Okta API token from environment variable `VAR`")
			fs.StringVar(&o.tokenFile, "token-file", "", "read the Okta API token from `FILE`")
			fs.BoolVar(&o.tokenStdin, "token-stdin", false, "read the Okta API token from standard input (no echo on a terminal)")
		case connector.OneLogin:
			fs.StringVar(&o.domain, "domain", "", "OneLogin domain, e.g. acme.onelogin.com or api.us.onelogin.com")
			fs.StringVar(&o.clientID, "client-id", "", "OneLogin API client ID")
			fs.StringVar(&o.secretEnv, "client-secret-env", "", "read the OneLogin client secret from environment variable `VAR`")
			fs.StringVar(&o.secretFile, "client-secret-file", "", "read the OneLogin client secret from `FILE`")
			fs.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the OneLogin client secret from standard input (no echo on a terminal)")
		}
	}
	status := "comma-separated user statuses to sync, any case; Okta: STAGED, PROVISIONED, ACTIVE, RECOVERY, " +
		"PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED; OneLogin: unactivated, active, suspended, locked, " +
		"password-expired, awaiting-password-reset, password-pending, security-questions-required (default ACTIVE / active)"
	if len(kinds) == 1 {
		status = "comma-separated user statuses to sync, any case, from: " + statusList(kinds[0]) +
			" (default " + connector.DefaultStatus(kinds[0]) + ")"
	}
	fs.StringVar(&o.statuses, "user-status", "", status)
	fs.StringVar(&o.repeats, "repeats", "", "how often it runs: hourly, daily, weekly or monthly (default daily)")
	fs.StringVar(&o.startTime, "start-time", "", "first run of the day, `HH:MM` on the 24-hour clock (default 02:00)")
	fs.StringVar(&o.timeZone, "time-zone", "", "time zone of the start time, `Area/City` (default: the server's)")
	fs.BoolVar(&o.active, "active", false, "run on schedule (the default for a new connector)")
	fs.BoolVar(&o.inactive, "inactive", false, "never run on schedule; an explicit run still works")
	fs.StringVar(&o.rateShare, "rate-share", "", "percent (1-100) of the provider's rate limit this connector may use (default 50)")
	fs.StringVar(&o.fullEvery, "full-every", "", "longest time between full runs, e.g. 24h, 36h, 7d (default 24h)")
	fs.StringVar(&o.maxDeletes, "max-deletes", "", "the deletion guard: the most users one run may delete, as a number (500), "+
		"a percentage of the users the connector has delivered (10%), or none; a run that would delete more holds its "+
		"deletes until `run NAME --confirm-deletes` (default 10%)")
}

func statusList(k connector.Kind) string {
	var names []string
	for _, s := range connector.Statuses(k) {
		names = append(names, s.Name)
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
	str("url", o.url, &ch.URL)
	str("domain", o.domain, &ch.Domain)
	str("client-id", o.clientID, &ch.ClientID)
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

// readSecret reads the secret given by one of kind's secret flags, before
// the database is opened, so a bad source changes nothing. ok is false when
// none was given.
func (t *tree) readSecret(fs *pflag.FlagSet, o *options, kind connector.Kind) (v secret.Value, ok bool, err error) {
	names := secretFlags[kind]
	g := given(fs, names...)
	switch len(g) {
	case 0:
		return v, false, nil
	case 1:
	default:
		return v, false, usagef("--%s and --%s both give the secret; give only one", g[0], g[1])
	}
	envVal, fileVal, prompt := o.tokenEnv, o.tokenFile, "Okta API token"
	if kind == connector.OneLogin {
		envVal, fileVal, prompt = o.secretEnv, o.secretFile, "OneLogin client secret"
	}
	switch g[0] {
	case names[0]:
		v, err = secret.FromEnv(t.s.lookup, envVal)
	case names[1]:
		v, err = secret.FromFile(fileVal)
	default:
		v, err = t.readStdin(prompt)
	}
	if err != nil {
		return v, false, usagef("--%s: %v", g[0], err)
	}
	return v, true, nil
}

// needSecret reports a new connector's missing secret.
func needSecret(kind connector.Kind) error {
	n := secretFlags[kind]
	what := "the Okta API token"
	if kind == connector.OneLogin {
		what = "the OneLogin client secret"
	}
	return usagef("%s is required: give --%s VAR, --%s FILE or --%s (never as a plain value)", what, n[0], n[1], n[2])
}

// describeChanges names the options an edit was given.
func describeChanges(fs *pflag.FlagSet) string {
	return "--" + strings.Join(given(fs, optionFlags...), ", --")
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
