package okta

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
)

// Kind is the connector type of Okta orgs.
const Kind connector.Kind = "okta"

// Spec is what the rest of the program knows of Okta connectors.
var Spec = &connector.Spec{
	Kind:  Kind,
	Title: "Okta",
	Options: []connector.Option{{
		Flag: "url", Label: "URL", Example: "https://acme.okta.com",
		Usage: "Okta org URL, e.g. https://acme.okta.com (https; http only for loopback)",
		Set: func(c *connector.Config, v string) (err error) {
			c.URL, err = checkOrgURL(v)
			return err
		},
		Get: func(c connector.Config) string { return c.URL },
	}},
	Auth: []connector.Auth{{
		Name: "token", Summary: "an API token (the default)",
		Secret: connector.Secret{Flag: "token", What: "Okta API token", Label: "API token", Key: "token",
			Store: "token"},
	}, {
		Name: "oauth", Summary: "an OAuth 2.0 API Services app and its private key (private_key_jwt, with DPoP when the app requires it)",
		Options: []connector.Option{{
			Flag: "client-id", Label: "Client ID", Example: "0oa1b2c3d4e5F6g7H8i9",
			Usage: "with --auth oauth: the API Services app's client ID (Admin Console: Applications > Applications > the app > General)",
			Set: func(c *connector.Config, v string) error {
				id, err := checkToken(v, "the app's client ID as the Admin Console shows it")
				c.ClientID = id
				return err
			},
			Get: func(c connector.Config) string { return c.ClientID },
		}, {
			Flag: "key-id", Label: "Key ID", Example: "nc-2026", Optional: true,
			Usage: "with --auth oauth: the kid of the app's public key, needed when the app has several keys and the key given is PEM (a JWK carries its own kid; \"\" to clear)",
			Set: func(c *connector.Config, v string) error {
				if strings.TrimSpace(v) == "" {
					c.KeyID = ""
					return nil
				}
				id, err := checkToken(v, "the KID the Admin Console shows beside the app's public key")
				c.KeyID = id
				return err
			},
			Get: func(c connector.Config) string { return c.KeyID },
		}},
		Secret: connector.Secret{Flag: "private-key", What: "OAuth app's private key", Label: "Private key",
			Key: "privateKey", Store: "private_key", Text: true,
			Check: func(v []byte) error { _, err := ParsePrivateKey(v); return err }},
		Clear: func(c *connector.Config) { c.ClientID, c.KeyID = "", "" },
	}},
	Statuses: []connector.Status{
		{Name: "STAGED", Code: -1}, {Name: "PROVISIONED", Code: -1}, {Name: "ACTIVE", Code: -1},
		{Name: "RECOVERY", Code: -1}, {Name: "PASSWORD_EXPIRED", Code: -1}, {Name: "LOCKED_OUT", Code: -1},
		{Name: "SUSPENDED", Code: -1}, {Name: "DEPROVISIONED", Code: -1},
	},
	DefaultStatus: "ACTIVE",
	Record: connector.Record{
		App: "Application.Okta.", Article: "an Okta", Example: "profile.firstName",
		Fields: []string{"id", "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated",
			"passwordChanged", "realmId", "type", "profile", "credentials", "transitioningToStatus",
			"_links", "_embedded", "appLinks", "devices"},
		Open: []string{"profile"},
		// What the sweeps and the per-user reads keep of each app link
		// and device (enrich.go): nothing else of them is read.
		Filled: map[string][]string{
			"appLinks": {"label", "appName", "appInstanceId"},
			"devices": {"profile.platform", "profile.osVersion", "profile.displayName", "profile.manufacturer", "profile.model",
				"profile.serialNumber"},
		},
		// The labels of the Okta admin console.
		StatusLabels: map[string]string{
			"STAGED": "Staged", "PROVISIONED": "Pending user action", "ACTIVE": "Active",
			"RECOVERY": "Password reset", "PASSWORD_EXPIRED": "Password expired", "LOCKED_OUT": "Locked out",
			"SUSPENDED": "Suspended", "DEPROVISIONED": "Deactivated",
		},
	},
}

// Driver opens Okta clients.
var Driver = engine.Driver{Spec: Spec, Open: open, IdleLimit: idleLimit}

// TokenIdleLimit is how long an API token may go unused: Okta's help
// ("Manage Okta API tokens") says a token is valid for 30 days, renewed by
// each request made with it, and revoked once inactive for longer. A
// monthly schedule leaves 31 days between some runs, and an inactive
// connector any number: the daemon keeps the token in use between them.
const TokenIdleLimit = 30 * 24 * time.Hour

// idleLimit is TokenIdleLimit for a connector that signs in with an API
// token; an OAuth app's key does not lapse.
func idleLimit(c connector.Config) time.Duration {
	if c.Auth == "" || c.Auth == "token" {
		return TokenIdleLimit
	}
	return 0
}

var (
	_ engine.Provider  = (*Client)(nil)
	_ engine.Checker   = (*Client)(nil)
	_ engine.Completer = (*Client)(nil)
)

func open(r engine.OpenRequest) (engine.Provider, error) {
	opts := Options{BaseURL: r.Config.URL, RateShare: r.Config.RateShare, Logger: r.Log,
		UserAgent: r.UserAgent, Name: r.Config.Name,
		SpoolDir: r.DataDir} // private (0700), unlike a shared temporary folder
	switch r.Config.Auth {
	case "", "token":
		opts.Token = r.Secret
	case "oauth":
		key, kid, err := parseKey(r.Secret.Reveal())
		if err != nil {
			return nil, fmt.Errorf("okta: the sealed private key: %w", err)
		}
		// --key-id, when given, is the admin's word; else a JWK's own kid.
		opts.OAuth = &OAuth{ClientID: r.Config.ClientID, Key: key, KeyID: cmp.Or(r.Config.KeyID, kid)}
	default:
		return nil, fmt.Errorf("okta: connector %q signs in as %q, which this version does not know", r.Config.Name, r.Config.Auth)
	}
	return New(opts)
}

// checkToken checks an identifier an admin copies from the Admin Console:
// one word of printable characters.
func checkToken(v, what string) (string, error) {
	id := strings.TrimSpace(v)
	if id == "" || len(id) > 200 || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("%q is not an identifier; give %s (one word, no spaces)", v, what)
	}
	return id, nil
}

// checkOrgURL adds Okta's own rule to connector.ParseBaseURL: the admin
// console host (acme-admin.okta.com) does not serve the API.
func checkOrgURL(raw string) (string, error) {
	u, err := connector.ParseBaseURL(raw)
	if err != nil {
		// The address bar of the admin console (…-admin.okta.com/admin/
		// dashboard) is what an admin copies most: name the org URL at
		// once rather than the console's, which would be refused next.
		if origin, ok := originOf(raw); ok {
			if adminErr := adminConsole(origin); adminErr != nil {
				return "", adminErr
			}
		}
		return "", err
	}
	if err := adminConsole(u); err != nil {
		return "", err
	}
	if sub, ok := connector.Subdomain(u); ok {
		return "", fmt.Errorf("%q is only the org's subdomain; give its URL, such as https://%s.okta.com", sub, sub)
	}
	return u, nil
}

// adminConsole refuses u, a base URL, when it is an org's admin console
// host (acme-admin.okta.com), naming the org URL.
func adminConsole(u string) error {
	for _, suffix := range []string{"-admin.okta.com", "-admin.oktapreview.com", "-admin.okta-emea.com"} {
		if strings.HasSuffix(u, suffix) || strings.Contains(u, suffix+":") {
			fixed := strings.Replace(u, "-admin.", ".", 1)
			return fmt.Errorf("%s is the admin console; use the org URL %s", u, fixed)
		}
	}
	return nil
}

// originOf is raw's scheme and host as a base URL, whatever path, query
// or fragment follow them; false when even those are not a valid one.
func originOf(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return "", false
	}
	origin, err := connector.ParseBaseURL(u.Scheme + "://" + u.Host)
	return origin, err == nil
}
