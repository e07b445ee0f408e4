package daemon

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A web page the admin opens in a browser on the same host can make its
// own host name resolve to 127.0.0.1 (DNS rebinding) and read what the
// endpoint serves as if it came from that site: the connectors' names,
// their users' counts, the damaged database's message. Such a request
// names the page's host; a scraper on this host names an address or
// localhost. Only the latter are answered.
func TestRequestsForAnotherHostAreRefused(t *testing.T) {
	srv := httptest.NewServer(Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "neurons_connector_runs_total 1\n")
	}), func() error { return nil }))
	defer srv.Close()
	port := srv.Listener.Addr().String()[strings.LastIndex(srv.Listener.Addr().String(), ":"):]
	for host, ok := range map[string]bool{
		"127.0.0.1" + port:                  true,
		"localhost" + port:                  true,
		"LOCALHOST" + port:                  true,
		"[::1]" + port:                      true,
		"127.0.0.2" + port:                  true,
		"127.0.0.1":                         true,
		"attacker.example" + port:           false,
		"localhost.attacker.example" + port: false,
		"127.0.0.1.nip.io" + port:           false,
		"10.0.0.5" + port:                   false,
	} {
		for _, path := range []string{"/metrics", "/healthz"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			switch {
			case ok && resp.StatusCode != http.StatusOK:
				t.Errorf("Host %q, %s: %d %s", host, path, resp.StatusCode, body)
			case !ok && (resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(body), "neurons_connector")):
				t.Errorf("Host %q, %s: %d %s", host, path, resp.StatusCode, body)
			}
		}
	}
}
