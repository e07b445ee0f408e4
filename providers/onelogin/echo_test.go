package onelogin

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/providers/onelogin/onelogintest"
)

// A server that quotes the request back in its error (an error page, a
// debugging proxy, an impostor at a mistyped URL) gets neither the client
// secret nor the access token into an error or a log line: OneLogin's own
// message is quoted, with the credentials taken out.
func TestErrorsNeverQuoteTheCredentials(t *testing.T) {
	t.Parallel()
	pair := base64.StdEncoding.EncodeToString([]byte("ol-client:" + simSecret))
	for _, tc := range []struct {
		path   string
		status int
		shows  string // the quoted request, scrubbed
	}{
		{"/api/2/users", 400, "Bearer [redacted]"},
		{"/api/2/users", 403, "Bearer [redacted]"},
		{"/api/2/users", 404, "Bearer [redacted]"},
		{"/api/2/users", 503, "Bearer [redacted]"},
		{"/auth/oauth2/v2/token", 418, "Basic [redacted]"},
		{"/auth/oauth2/v2/token", 503, "Basic [redacted]"},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.path, tc.status), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, onelogintest.Options{Users: 30}, Options{})
			f.sim.Inject(onelogintest.Fault{Path: tc.path, Status: tc.status, Echo: true, Times: 100})
			_, _, _, err := f.pass(t, engine.Full, nil, allStatuses()...)
			if err == nil {
				t.Fatal("no error")
			}
			for what, text := range map[string]string{"error": err.Error(), "log": f.logs.String()} {
				for _, secret := range []string{simSecret, pair} {
					if strings.Contains(text, secret) {
						t.Errorf("the %s quotes a credential: %s", what, text)
					}
				}
				if strings.Contains(text, "Bearer ") && !strings.Contains(text, "Bearer [redacted]") {
					t.Errorf("the %s quotes the access token: %s", what, text)
				}
			}
			if !strings.Contains(err.Error(), tc.shows) {
				t.Errorf("the error does not quote the request as %q: %v", tc.shows, err)
			}
		})
	}
}
