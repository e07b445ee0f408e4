package main

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"neurons-connector/connector"
	"neurons-connector/secret"
	"neurons-connector/store"
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

// kindFlags are the flags that exist for one kind only.
var kindFlags = map[connector.Kind][]string{
	connector.Okta:     {"url", "token-env", "token-file", "token-stdin"},
	connector.OneLogin: {"domain", "client-id", "client-secret-env", "client-secret-file", "client-secret-stdin"},
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

// apply validates every flag that was given and sets it on c. Flags not given
// leave c as it is, which is what makes edit change only what is named.
func (o *options) apply(fs *pflag.FlagSet, c *connector.Config) error {
	set := func(name string) bool { return fs.Lookup(name) != nil && fs.Changed(name) }
	if set("name") {
		if err := connector.CheckName(o.name); err != nil {
			return usagef("--name %v", err)
		}
		c.Name = o.name
	}
	if set("server") {
		if err := connector.CheckServer(o.server); err != nil {
			return usagef("--server %v", err)
		}
		c.Server = o.server
	}
	if set("url") {
		u, err := connector.CheckOktaURL(o.url)
		if err != nil {
			return usagef("--url: %v", err)
		}
		c.URL = u
	}
	if set("domain") {
		u, err := connector.ParseBaseURL(o.domain)
		if err != nil {
			return usagef("--domain: %v", err)
		}
		c.URL = u
	}
	if set("client-id") {
		id := strings.TrimSpace(o.clientID)
		if id == "" || strings.ContainsAny(id, " \t\r\n") {
			return usagef("--client-id must be the API client ID shown in OneLogin (no spaces)")
		}
		c.ClientID = id
	}
	if set("user-status") {
		st, err := connector.ParseStatuses(c.Kind, o.statuses)
		if err != nil {
			return usagef("--user-status: %v", err)
		}
		c.Statuses = st
	}
	if set("repeats") {
		r, err := connector.ParseRepeats(o.repeats)
		if err != nil {
			return usagef("--repeats: %v", err)
		}
		c.Schedule.Repeats = r
	}
	if set("start-time") {
		t, err := connector.ParseStartTime(o.startTime)
		if err != nil {
			return usagef("--start-time: %v", err)
		}
		c.Schedule.StartTime = t
	}
	if set("time-zone") {
		z, err := connector.ParseTimeZone(o.timeZone)
		if err != nil {
			return usagef("--time-zone: %v", err)
		}
		c.Schedule.TimeZone = z
	}
	switch {
	case set("active") && set("inactive"):
		return usagef("--active and --inactive contradict each other; give one")
	case set("active"):
		c.Active = o.active
	case set("inactive"):
		c.Active = !o.inactive
	}
	if set("rate-share") {
		n, err := strconv.Atoi(strings.TrimSpace(o.rateShare))
		if err != nil {
			return usagef("--rate-share: %q is not a whole number; give a percentage from 1 to 100", o.rateShare)
		}
		if c.RateShare, err = connector.ParseRateShare(n); err != nil {
			return usagef("--rate-share: %v", err)
		}
	}
	if set("full-every") {
		d, err := connector.ParseFullEvery(o.fullEvery)
		if err != nil {
			return usagef("--full-every: %v", err)
		}
		c.FullEvery = connector.Duration(d)
	}
	if set("max-deletes") {
		l, err := connector.ParseDeleteLimit(o.maxDeletes)
		if err != nil {
			return usagef("--max-deletes: %v", err)
		}
		c.MaxDeletes = l
	}
	return nil
}

// scheduleChanged reports whether a flag that moves the schedule was given.
func scheduleChanged(fs *pflag.FlagSet) bool {
	return len(given(fs, "repeats", "start-time", "time-zone")) > 0
}

// readSecret reads the secret given by one of kind's secret flags, before
// the database is opened, so a bad source changes nothing. ok is false when
// none was given.
func (a *app) readSecret(fs *pflag.FlagSet, o *options, kind connector.Kind) (v secret.Value, ok bool, err error) {
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
		v, err = secret.FromEnv(a.lookup, envVal)
	case names[1]:
		v, err = secret.FromFile(fileVal)
	default:
		v, err = a.readStdin(prompt)
	}
	if err != nil {
		return v, false, usagef("--%s: %v", g[0], err)
	}
	return v, true, nil
}

// secretName is the store's name of a kind's secret.
func secretName(k connector.Kind) string {
	if k == connector.OneLogin {
		return store.SecretOneLoginSecret
	}
	return store.SecretOktaToken
}

// missing reports the first required option of a new connector not given.
func missing(fs *pflag.FlagSet, kind connector.Kind, haveSecret bool) error {
	example := map[connector.Kind]map[string]string{
		connector.Okta:     {"url": "--url https://acme.okta.com"},
		connector.OneLogin: {"domain": "--domain acme.onelogin.com", "client-id": "--client-id 0123abcd"},
	}
	if !fs.Changed("name") {
		return usagef(`--name is required; e.g. --name "%s prod"`, kindTitle(kind))
	}
	for _, f := range []string{"url", "domain", "client-id"} {
		if ex, ok := example[kind][f]; ok && !fs.Changed(f) {
			return usagef("--%s is required; e.g. %s", f, ex)
		}
	}
	if !haveSecret {
		n := secretFlags[kind]
		what := "the Okta API token"
		if kind == connector.OneLogin {
			what = "the OneLogin client secret"
		}
		return usagef("%s is required: give --%s VAR, --%s FILE or --%s (never as a plain value)", what, n[0], n[1], n[2])
	}
	return nil
}

func kindTitle(k connector.Kind) string {
	if k == connector.OneLogin {
		return "OneLogin"
	}
	return "Okta"
}

// checkKindFlags refuses flags of the other kind on edit.
func checkKindFlags(fs *pflag.FlagSet, c connector.Config) error {
	for k, names := range kindFlags {
		if k == c.Kind {
			continue
		}
		if g := given(fs, names...); len(g) > 0 {
			return usagef("--%s applies to %s connectors; %q is of type %s", g[0], k, c.Name, c.Kind)
		}
	}
	return nil
}

// describeChanges names the options an edit was given.
func describeChanges(fs *pflag.FlagSet) string {
	return "--" + strings.Join(given(fs, optionFlags...), ", --")
}
