package okta

import (
	"fmt"
	"strings"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// A server that quotes the request back in its error (an error page, a
// debugging proxy, an impostor at a mistyped URL) gets no credential into
// an error or a log line: Okta's errorSummary, errorCode and request ID
// are quoted with the API token or access token taken out, and a token
// endpoint's error_description without the signed assertion.
func TestErrorsNeverQuoteTheCredentials(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 500} {
		t.Run(fmt.Sprintf("API token, %d", status), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, oktatest.Options{Users: 30, NoLimits: true}, Options{})
			f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Status: status, Echo: true, Times: 100})
			_, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
			if err == nil {
				t.Fatal("no error")
			}
			token := string(f.client.opts.Token.Reveal())
			for what, text := range map[string]string{"error": err.Error(), "log": f.logs.String()} {
				if strings.Contains(text, token) {
					t.Errorf("the %s quotes the API token: %s", what, text)
				}
			}
			if !strings.Contains(err.Error(), "SSWS [redacted]") {
				t.Errorf("the error does not quote the request, scrubbed: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		path   string
		status int
		dpop   bool
		shows  string
	}{
		{"/api/v1/users", 403, false, "Bearer [redacted]"},
		{"/api/v1/users", 500, true, "DPoP [redacted]"},
		{oktatest.TokenPath, 400, false, "client_assertion=[redacted]"},
		{oktatest.TokenPath, 401, true, "client_assertion=[redacted]"},
	} {
		t.Run(fmt.Sprintf("OAuth %s %d dpop %v", tc.path, tc.status, tc.dpop), func(t *testing.T) {
			t.Parallel()
			f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: DefaultScopes, DPoP: tc.dpop}, nil, "")
			skip := 0
			if tc.dpop && tc.path == oktatest.TokenPath {
				skip = 1 // the first token request learns that the app wants DPoP
			}
			f.sim.Inject(oktatest.Fault{Path: tc.path, Status: tc.status, Echo: true, Times: 100, Skip: skip})
			_, err := f.pass(t)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.shows) {
				t.Errorf("the error does not quote the request as %q: %v", tc.shows, err)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Errorf("the error quotes a token or an assertion: %v", err)
			}
		})
	}
}
