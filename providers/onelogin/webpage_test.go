package onelogin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/onelogin/onelogintest"
)

// A domain that answers with a web page instead of OneLogin's JSON (a
// sign-in page, another site, a proxy's block page) is a configuration
// problem, said at once with the page's title and the fix. OneLogin's own
// 429 is an HTML page too, and stays a wait (TestHTML429…).
func TestAWebPageIsNotOneLoginsAPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path   string
		status int
	}{{"/api/2/users", 200}, {"/api/2/users", 403}, {"/auth/oauth2/v2/token", 200}} {
		f := newFixture(t, onelogintest.Options{Users: 10, HourlyLimit: -1}, Options{})
		f.sim.Inject(onelogintest.Fault{Path: tc.path, Page: true, Status: tc.status, Times: 100})
		_, err := f.client.Check(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), `a web page ("Sign In")`) || !strings.Contains(err.Error(), "check the connector's --domain") ||
			strings.Contains(err.Error(), "scope") || strings.Contains(err.Error(), "invalid character") {
			t.Errorf("%s HTTP %d, connector test: %v", tc.path, tc.status, err)
		}
		calls := f.client.Stats().Calls
		_, _, _, err = f.pass(t, engine.Full, nil, "active")
		if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "a web page") {
			t.Errorf("%s HTTP %d, run: %v", tc.path, tc.status, err)
		}
		if n := f.client.Stats().Calls - calls; n > 1 {
			t.Errorf("%s HTTP %d: the run made %d calls; a web page is not retried", tc.path, tc.status, n)
		}
	}
}
