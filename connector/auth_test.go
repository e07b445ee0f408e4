package connector

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// twoWays signs in with a token (the default) or an app: a client ID
// (needed) and a key ID (optional), like Okta's OAuth service apps.
var twoWays = &Spec{
	Kind: "gamma", Title: "Gamma",
	Options: []Option{{Flag: "url", Example: "https://gamma.example.com",
		Set: func(c *Config, v string) (err error) { c.URL, err = ParseBaseURL(v); return err },
		Get: func(c Config) string { return c.URL }}},
	Auth: []Auth{
		{Name: "token", Summary: "a token", Secret: Secret{Flag: "token", What: "Gamma token", Store: "token"}},
		{Name: "app", Summary: "an app",
			Options: []Option{
				{Flag: "client-id", Example: "0oa1", Get: func(c Config) string { return c.ClientID },
					Set: func(c *Config, v string) error {
						if v == "" {
							return errors.New("is empty")
						}
						c.ClientID = v
						return nil
					}},
				{Flag: "key-id", Example: "k1", Optional: true, Get: func(c Config) string { return c.KeyID },
					Set: func(c *Config, v string) error { c.KeyID = v; return nil }},
			},
			Secret: Secret{Flag: "private-key", What: "Gamma app's key", Store: "private_key"},
			Clear:  func(c *Config) { c.ClientID, c.KeyID = "", "" }},
	},
	Statuses: []Status{{"ACTIVE", -1}}, DefaultStatus: "ACTIVE",
}

func strp(s string) *string { return &s }

func TestAuthSwitchesWithItsOptions(t *testing.T) {
	c := New(twoWays, time.Now())
	c.Name = "G"
	apply := func(ch Changes) error { return ch.Apply(twoWays, &c, time.Now(), time.UTC) }
	if a := twoWays.AuthOf(c); a.Name != "token" {
		t.Fatalf("a new connector signs in with %q, want the default", a.Name)
	}
	// An app's option on a token connector is refused, not stored unused.
	err := apply(Changes{Options: map[string]string{"client-id": "0oa1"}})
	if err == nil || !strings.Contains(err.Error(), "--client-id is an option of --auth app") || !strings.Contains(err.Error(), "add --auth app") || c.ClientID != "" {
		t.Errorf("--client-id without --auth app: %v, client %q", err, c.ClientID)
	}
	// Switching needs the way's needed options, not its optional ones.
	if err := apply(Changes{Auth: strp("app")}); err == nil || err.Error() != "--auth app needs --client-id; e.g. --client-id 0oa1" || c.Auth != "" {
		t.Errorf("--auth app alone: %v, auth %q", err, c.Auth)
	}
	if err := apply(Changes{Auth: strp(" APP "), Options: map[string]string{"client-id": "0oa1"}}); err != nil || c.Auth != "app" || c.ClientID != "0oa1" {
		t.Fatalf("--auth app --client-id: %v, %+v", err, c)
	}
	if err := apply(Changes{Options: map[string]string{"key-id": "k2"}}); err != nil || c.KeyID != "k2" {
		t.Errorf("--key-id on an app connector: %v, %q", err, c.KeyID)
	}
	if err := apply(Changes{Options: map[string]string{"client-id": ""}}); err == nil || c.ClientID != "0oa1" {
		t.Errorf("an empty client ID: %v, %q", err, c.ClientID)
	}
	// Back to the default: the app's options are forgotten, and the
	// default is stored as older versions wrote it.
	if err := apply(Changes{Auth: strp("token")}); err != nil || c.Auth != "" || c.ClientID != "" || c.KeyID != "" {
		t.Errorf("--auth token: %v, %+v", err, c)
	}
	if err := apply(Changes{Auth: strp("oauth")}); err == nil || err.Error() != `--auth: unknown sign-in "oauth" for gamma connectors; valid: token, app` {
		t.Errorf("--auth oauth: %v", err)
	}
	if err := (Changes{Auth: strp("token")}).Apply(urlKind, &Config{Kind: urlKind.Kind}, time.Now(), time.UTC); err == nil ||
		!strings.Contains(err.Error(), "one way to sign in") {
		t.Errorf("--auth on a kind with one way: %v", err)
	}
	c.Auth = "smartcard" // written by a newer version
	if twoWays.AuthOf(c) != nil {
		t.Error("an unknown way must not pass for the default")
	}
	if err := apply(Changes{Statuses: strp("active")}); err == nil || !strings.Contains(err.Error(), `signs in as "smartcard"`) {
		t.Errorf("an edit of a connector with an unknown way: %v", err)
	}
}

func TestAuthChangesAreListedAndFound(t *testing.T) {
	if got := (Changes{Auth: strp("app"), Name: strp("x")}).Given(); strings.Join(got, ",") != "name,auth" {
		t.Errorf("Given = %v", got)
	}
	if a, ok := twoWays.SecretByFlag("private-key"); !ok || a.Name != "app" {
		t.Errorf("SecretByFlag(private-key) = %v, %v", a, ok)
	}
	if _, ok := twoWays.SecretByFlag("client-secret"); ok {
		t.Error("a secret of no way was found")
	}
	if got := twoWays.flagList(); got != "--url, --client-id (with --auth app), --key-id (with --auth app)" {
		t.Errorf("flagList = %q", got)
	}
	if (Changes{Name: strp("n"), Options: map[string]string{"url": "https://g.example.com"}}).Required(twoWays) != "" {
		t.Error("an optional or a way's option counted as required for a new connector")
	}
}
