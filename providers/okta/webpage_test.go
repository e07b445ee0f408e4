package okta

import (
	"context"
	"errors"
	"strings"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/okta/oktatest"
)

// A URL that answers with a web page instead of Okta's JSON (a sign-in
// page, another site, a proxy's or firewall's block page, a captive
// portal) is a configuration problem: connector test and runs say so in
// one line with the page's title and the fix, at once, instead of six
// retries of "invalid character '<'" (200), or "lacks an admin role" for
// a proxy's 403 page.
func TestAWebPageIsNotOktasAPI(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 403, 404} {
		f := newFixture(t, oktatest.Options{Users: 10, NoLimits: true}, Options{})
		f.sim.Inject(oktatest.Fault{Page: true, Status: status, Times: 100})
		_, err := f.client.Check(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), `a web page ("Sign In")`) || !strings.Contains(err.Error(), "check the connector's URL") ||
			strings.Contains(err.Error(), "admin role") || strings.Contains(err.Error(), "invalid character") {
			t.Errorf("HTTP %d, connector test: %v", status, err)
		}
		_, _, err = f.pass(t, engine.Full, nil, "ACTIVE")
		if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "a web page") {
			t.Errorf("HTTP %d, run: %v", status, err)
		}
		if strings.Contains(f.logs.String(), "retrying") {
			t.Errorf("HTTP %d: a web page was retried:\n%s", status, f.logs)
		}
	}
}

// The same from the OAuth token endpoint: a page is named, not retried.
func TestAWebPageAtTheTokenEndpoint(t *testing.T) {
	t.Parallel()
	f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: DefaultScopes}, nil, "")
	f.sim.Inject(oktatest.Fault{Path: oktatest.TokenPath, Page: true, Times: 100})
	_, err := f.pass(t)
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), `with a web page ("Sign In"), not an OAuth answer`) {
		t.Errorf("run: %v", err)
	}
}
