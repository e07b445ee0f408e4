package connector

import (
	"fmt"
	"strings"

	"neurons-connector/secret"
)

// Auth is one way a kind's connectors sign in to their provider: the
// options only that way takes and its one secret. A kind lists its ways in
// Spec.Auth, the default first; --auth chooses among them when there are
// several (Okta: an API token, or an OAuth service app and its private key).
type Auth struct {
	Name    string   // what --auth takes: "token"; empty when the kind has one way
	Summary string   // for help and show: "an OAuth 2.0 service app"
	Options []Option // options only this way takes; Optional ones aside, each is needed
	Secret  Secret
	// Clear forgets this way's options when a connector switches to
	// another, so that show never prints a client ID nothing uses.
	Clear func(c *Config)
}

// Secret describes a way's one secret. Its flags are --<Flag>-env VAR,
// --<Flag>-file FILE and --<Flag>-stdin.
type Secret struct {
	Flag  string // "token"
	What  string // in sentences: "Okta API token"
	Label string // how show labels it: "API token"
	Key   string // its key in show --json's "secrets": "token"
	// Store is its name in the store. Databases hold secrets under it, so
	// it never changes.
	Store string
	// Text marks a secret of several lines (a PEM private key), which
	// input checks must not refuse for its line breaks.
	Text bool
	// Check, when set, refuses a value the provider could never use (a
	// private key that does not parse), before it is sealed. Its error
	// must not quote the value.
	Check func(v []byte) error
}

// Flags returns the three flags that hand over the secret: env, file, stdin.
func (s Secret) Flags() [3]string {
	return [3]string{s.Flag + "-env", s.Flag + "-file", s.Flag + "-stdin"}
}

// Form is the secret's form, for the checks on input.
func (s Secret) Form() secret.Form {
	if s.Text {
		return secret.Text
	}
	return secret.Word
}

// AuthOf is the way c signs in: the one it names, else the default. A name
// this version does not know (a database written by a newer one) gives nil.
func (s *Spec) AuthOf(c Config) *Auth {
	if c.Auth == "" && len(s.Auth) > 0 {
		return &s.Auth[0]
	}
	for i := range s.Auth {
		if s.Auth[i].Name == c.Auth {
			return &s.Auth[i]
		}
	}
	return nil
}

// ParseAuth finds the way named, in any case.
func (s *Spec) ParseAuth(name string) (*Auth, error) {
	want := strings.ToLower(strings.TrimSpace(name))
	for i := range s.Auth {
		if s.Auth[i].Name != "" && s.Auth[i].Name == want {
			return &s.Auth[i], nil
		}
	}
	if len(s.Auth) < 2 {
		return nil, fmt.Errorf("%s connectors have one way to sign in; leave --auth out", s.Kind)
	}
	return nil, fmt.Errorf("unknown sign-in %q for %s connectors; valid: %s", name, s.Kind, s.AuthNames())
}

// AuthNames lists the ways' names, comma-separated, the default first.
func (s *Spec) AuthNames() string {
	names := make([]string, 0, len(s.Auth))
	for _, a := range s.Auth {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

// SecretByFlag finds the secret of one of the kind's ways by its flag stem,
// with the way it belongs to.
func (s *Spec) SecretByFlag(stem string) (*Auth, bool) {
	for i := range s.Auth {
		if s.Auth[i].Secret.Flag == stem {
			return &s.Auth[i], true
		}
	}
	return nil, false
}

// authOption finds an option that only one of the kind's ways takes.
func (s *Spec) authOption(flag string) (*Auth, *Option) {
	for i := range s.Auth {
		for j := range s.Auth[i].Options {
			if s.Auth[i].Options[j].Flag == flag {
				return &s.Auth[i], &s.Auth[i].Options[j]
			}
		}
	}
	return nil, nil
}

// authFlag is how messages name a way: "--auth oauth", or, for a kind with
// one way, its summary.
func (a *Auth) authFlag() string {
	if a.Name == "" {
		return a.Summary
	}
	return "--auth " + a.Name
}
