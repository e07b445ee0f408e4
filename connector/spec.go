package connector

import (
	"fmt"
	"slices"
	"strings"
)

// Spec is what a provider package tells the rest of the program about its
// kind of connector: the options an admin gives, the ways it signs in and
// their secrets, the user statuses, and the shape of its user record for the mapping tables. It is
// data only; engine.Driver pairs it with the constructor of the client.
// Adding a provider means writing its Spec, not editing this package.
type Spec struct {
	Kind  Kind
	Title string // the kind as people write it: "OneLogin"
	// Options are the kind's own options beyond the common ones, in the
	// order help lists them. A new connector needs every one of them.
	Options []Option
	// Auth are the ways the kind signs in to its provider, the default
	// first; at least one.
	Auth     []Auth
	Statuses []Status // in the order help lists them
	// DefaultStatus is the status selected when the admin names none.
	DefaultStatus string
	Record        Record
}

// Option is one option of a kind, such as Okta's --url.
type Option struct {
	Flag    string // without dashes: "url"
	Label   string // how show labels it: "URL"
	Usage   string // the flag's help
	Example string // a valid value, for messages: "https://acme.okta.com"
	// Optional options may stay unset; the others are needed.
	Optional bool
	// Set checks v and stores it in c. Its error says what is wrong and
	// how to fix it; the caller prefixes the flag.
	Set func(c *Config, v string) error
	// Get reads the option back from c, for show.
	Get func(c Config) string
}

// Record is the provider's user record as the mapping tables see it.
type Record struct {
	App     string // the provider's own target prefix: "Application.Okta."
	Article string // the kind with its article, for messages: "an Okta"
	Example string // a source path, for messages: "profile.firstName"
	// Fields are the top-level keys of a user record (the API's user plus
	// what the connector adds, such as Okta's appLinks). A source path
	// starts with one of them.
	Fields []string
	// Open are the fields whose members are free-form (custom attributes),
	// the only ones a wildcard row may expand.
	Open []string
	// Filled are the fields the connector builds itself rather than reads
	// from the user (Okta's appLinks, devices), each with the only paths
	// below it that it fills: a source below one of them that is not one
	// of those stays empty, and a table that reads one gets a warning.
	Filled map[string][]string
	// StatusLabels name the provider's status codes for people;
	// StateLabels its state codes, nil when its users have no state.
	StatusLabels map[string]string
	StateLabels  map[string]string
}

// Option returns the kind's option of that flag, or nil.
func (s *Spec) Option(flag string) *Option {
	for i := range s.Options {
		if s.Options[i].Flag == flag {
			return &s.Options[i]
		}
	}
	return nil
}

func (s *Spec) flagList() string {
	var names []string
	for _, o := range s.Options {
		names = append(names, "--"+o.Flag)
	}
	for _, a := range s.Auth {
		for _, o := range a.Options {
			names = append(names, "--"+o.Flag+" (with "+a.authFlag()+")")
		}
	}
	return strings.Join(names, ", ")
}

// Specs is the list of kinds this program supports, in the order help
// shows them.
type Specs []*Spec

// Find returns the spec of kind.
func (ss Specs) Find(kind Kind) (*Spec, bool) {
	for _, s := range ss {
		if s.Kind == kind {
			return s, true
		}
	}
	return nil, false
}

// Parse accepts a kind name in any case.
func (ss Specs) Parse(name string) (*Spec, error) {
	if s, ok := ss.Find(Kind(strings.ToLower(strings.TrimSpace(name)))); ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown connector type %q; valid: %s", name, ss.Names())
}

// Names lists the kinds, comma-separated.
func (ss Specs) Names() string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s.Kind)
	}
	return strings.Join(names, ", ")
}

// ForeignFlag explains flag, which s does not take, when another kind of
// ss does (an admin who adds a OneLogin connector with Okta's --url): which
// kind takes it, and what s takes instead. It is "" for a flag no kind
// takes, which needs no more than cobra's own message.
func (ss Specs) ForeignFlag(s *Spec, flag string) string {
	for _, other := range ss {
		if other == s {
			continue
		}
		if flag == "auth" && len(other.Auth) > 1 && len(s.Auth) == 1 {
			flags := s.Auth[0].Secret.Flags()
			return fmt.Sprintf("--auth chooses how %s connectors sign in; %s connectors sign in one way, with %s and --%s, --%s or --%s",
				other.Kind, s.Kind, s.flagList(), flags[0], flags[1], flags[2])
		}
		if _, o := other.authOption(flag); other.Option(flag) != nil || o != nil {
			return fmt.Sprintf("--%s is an option of %s connectors; %s connectors take %s", flag, other.Kind, s.Kind, s.flagList())
		}
		for _, a := range other.Auth {
			if flags := a.Secret.Flags(); slices.Contains(flags[:], flag) {
				var own []string
				for _, mine := range s.Auth {
					for _, f := range mine.Secret.Flags() {
						own = append(own, "--"+f)
					}
				}
				return fmt.Sprintf("--%s gives the %s; %s connectors take %s", flag, a.Secret.What, s.Kind, strings.Join(own, ", "))
			}
		}
	}
	return ""
}
