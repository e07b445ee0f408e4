package okta

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
)

func TestSpecStatuses(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
		want        []string
	}{
		{in: "active,suspended", want: []string{"ACTIVE", "SUSPENDED"}},
		{in: " Locked_Out , ACTIVE,active ", want: []string{"ACTIVE", "LOCKED_OUT"}},
		{in: "DEPROVISIONED", want: []string{"DEPROVISIONED"}},
		{in: "ACTIV", wantErr: `unknown okta user status "ACTIV"; valid: STAGED, PROVISIONED`},
		{in: "1", wantErr: "unknown okta user status"}, // Okta statuses have no codes
	} {
		got, err := Spec.ParseStatuses(tc.in)
		if (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr))) ||
			(tc.wantErr == "" && (err != nil || !reflect.DeepEqual(got, tc.want))) {
			t.Errorf("%q: %v, %v", tc.in, got, err)
		}
	}
}

// The URL option refuses the admin console, which serves no API, and
// names the org URL instead.
func TestSpecURLOption(t *testing.T) {
	c := connector.New(Spec, time.Now())
	c.Name = "Okta prod"
	for in, want := range map[string]string{
		"acme.okta.com":                  "https://acme.okta.com",
		"https://acme-admin.okta.com":    "https://acme-admin.okta.com is the admin console; use the org URL https://acme.okta.com",
		"https://acme-admin.okta.com:44": "use the org URL https://acme.okta.com:44",
		// Copied from the console's address bar: the org URL, not the
		// console's, which would be refused next.
		"https://acme-admin.okta.com/admin/dashboard": "https://acme-admin.okta.com is the admin console; use the org URL https://acme.okta.com",
		"acme-admin.oktapreview.com/admin/users?x=1":  "use the org URL https://acme.oktapreview.com",
		"https://acme.okta.com/app/UserHome":          `must be the base URL without a path ("/app/UserHome"); use https://acme.okta.com`,
		"https://u:p@acme-admin.okta.com/admin":       "must not contain credentials",
	} {
		next := c
		err := connector.Changes{Options: map[string]string{"url": in}}.Apply(Spec, &next, time.Now(), time.UTC)
		if got := next.URL; (err == nil && got != want) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("--url %s: %q, %v", in, got, err)
		}
	}
	err := connector.Changes{Options: map[string]string{"domain": "acme.onelogin.com"}}.Apply(Spec, &c, time.Now(), time.UTC)
	if err == nil || err.Error() != `--domain is not an option of okta connectors; "Okta prod" takes --url, `+
		`--client-id (with --auth oauth), --key-id (with --auth oauth)` {
		t.Errorf("--domain on an Okta connector: %v", err)
	}
}

// An API token lapses after 30 days unused; an OAuth app's key does not,
// so the daemon keeps only tokens alive.
func TestIdleLimit(t *testing.T) {
	for auth, want := range map[string]time.Duration{"": TokenIdleLimit, "token": TokenIdleLimit, "oauth": 0} {
		if got := Driver.IdleLimit(connector.Config{Kind: Kind, Auth: auth}); got != want {
			t.Errorf("auth %q: %v, want %v", auth, got, want)
		}
	}
}
