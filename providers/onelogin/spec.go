package onelogin

import (
	"errors"
	"fmt"
	"strings"

	"neurons-connector/connector"
	"neurons-connector/engine"
)

// Kind is the connector type of OneLogin accounts.
const Kind connector.Kind = "onelogin"

// Spec is what the rest of the program knows of OneLogin connectors.
var Spec = &connector.Spec{
	Kind:  Kind,
	Title: "OneLogin",
	Options: []connector.Option{{
		Flag: "domain", Label: "Domain", Example: "acme.onelogin.com",
		Usage: "OneLogin domain, e.g. acme.onelogin.com or api.us.onelogin.com",
		Set: func(c *connector.Config, v string) (err error) {
			if c.URL, err = connector.ParseBaseURL(v); err != nil {
				return err
			}
			if sub, ok := connector.Subdomain(c.URL); ok {
				return fmt.Errorf("%q is only the account's subdomain; give its host, such as %s.onelogin.com", sub, sub)
			}
			return nil
		},
		Get: func(c connector.Config) string { return c.URL },
	}, {
		Flag: "client-id", Label: "Client ID", Example: "0123abcd", Usage: "OneLogin API client ID",
		Set: func(c *connector.Config, v string) error {
			id := strings.TrimSpace(v)
			if id == "" || strings.ContainsAny(id, " \t\r\n") {
				return errors.New("must be the API client ID shown in OneLogin (no spaces)")
			}
			c.ClientID = id
			return nil
		},
		Get: func(c connector.Config) string { return c.ClientID },
	}},
	Auth: []connector.Auth{{Summary: "an API client ID and secret",
		Secret: connector.Secret{Flag: "client-secret", What: "OneLogin client secret", Label: "Client secret",
			Key: "clientSecret", Store: "client_secret"}}},
	// OneLogin documents no code 6; the gap is deliberate.
	Statuses: []connector.Status{
		{Name: "unactivated", Code: 0}, {Name: "active", Code: 1}, {Name: "suspended", Code: 2},
		{Name: "locked", Code: 3}, {Name: "password-expired", Code: 4}, {Name: "awaiting-password-reset", Code: 5},
		{Name: "password-pending", Code: 7}, {Name: "security-questions-required", Code: 8},
	},
	DefaultStatus: "active",
	Record: connector.Record{
		App: "Application.OneLogin.", Article: "a OneLogin", Example: "firstname or custom_attributes.badge",
		Fields: []string{"id", "username", "email", "firstname", "lastname", "title", "department", "company",
			"comment", "phone", "status", "state", "group_id", "role_ids", "directory_id", "trusted_idp_id",
			"manager_user_id", "manager_ad_id", "member_of", "samaccountname", "userprincipalname",
			"distinguished_name", "external_id", "preferred_locale_code", "invalid_login_attempts",
			"created_at", "activated_at", "updated_at", "last_login", "invitation_sent_at",
			"password_changed_at", "locked_until", "custom_attributes"},
		Open: []string{"custom_attributes"},
		StatusLabels: map[string]string{
			"0": "Unactivated", "1": "Active", "2": "Suspended", "3": "Locked", "4": "Password expired",
			"5": "Awaiting password reset", "7": "Password pending", "8": "Security questions required",
		},
		StateLabels: map[string]string{"0": "Unapproved", "1": "Approved", "2": "Rejected", "3": "Unlicensed"},
	},
}

// Driver opens OneLogin clients.
var Driver = engine.Driver{Spec: Spec, Open: open}

var (
	_ engine.Provider      = (*Client)(nil)
	_ engine.Checker       = (*Client)(nil)
	_ engine.UserFinder    = (*Client)(nil)
	_ engine.Identifier    = (*Client)(nil)
	_ engine.StatsReporter = (*Client)(nil)
)

func open(r engine.OpenRequest) (engine.Provider, error) {
	return New(Options{BaseURL: r.Config.URL, ClientID: r.Config.ClientID, ClientSecret: r.Secret,
		RateShare: r.Config.RateShare, Logger: r.Log, UserAgent: r.UserAgent, Name: r.Config.Name})
}
