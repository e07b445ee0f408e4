package okta

import (
	"fmt"
	"strings"

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
	Secret: connector.Secret{Flag: "token", What: "Okta API token", Label: "API token", Key: "token",
		Store: "token"},
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
		// The labels of the Okta admin console.
		StatusLabels: map[string]string{
			"STAGED": "Staged", "PROVISIONED": "Pending user action", "ACTIVE": "Active",
			"RECOVERY": "Password reset", "PASSWORD_EXPIRED": "Password expired", "LOCKED_OUT": "Locked out",
			"SUSPENDED": "Suspended", "DEPROVISIONED": "Deactivated",
		},
	},
}

// Driver opens Okta clients.
var Driver = engine.Driver{Spec: Spec, Open: open}

var (
	_ engine.Provider  = (*Client)(nil)
	_ engine.Checker   = (*Client)(nil)
	_ engine.Completer = (*Client)(nil)
)

func open(r engine.OpenRequest) (engine.Provider, error) {
	return New(Options{BaseURL: r.Config.URL, Token: r.Secret, RateShare: r.Config.RateShare, Logger: r.Log,
		UserAgent: r.UserAgent, Name: r.Config.Name,
		SpoolDir: r.DataDir}) // private (0700), unlike a shared temporary folder
}

// checkOrgURL adds Okta's own rule to connector.ParseBaseURL: the admin
// console host (acme-admin.okta.com) does not serve the API.
func checkOrgURL(raw string) (string, error) {
	u, err := connector.ParseBaseURL(raw)
	if err != nil {
		return "", err
	}
	for _, suffix := range []string{"-admin.okta.com", "-admin.oktapreview.com", "-admin.okta-emea.com"} {
		if strings.HasSuffix(u, suffix) || strings.Contains(u, suffix+":") {
			fixed := strings.Replace(u, "-admin.", ".", 1)
			return "", fmt.Errorf("%s is the admin console; use the org URL %s", u, fixed)
		}
	}
	return u, nil
}
