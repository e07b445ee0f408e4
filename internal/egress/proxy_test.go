package egress

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A proxy that will not open the tunnel says why by its status: the error
// names the proxy (never its credentials), the host and the status, and
// whether it may pass by itself.
func TestAProxysRefusalIsNamed(t *testing.T) {
	status, challenges := http.StatusProxyAuthRequired, []string{`Basic realm="corp, west", charset="UTF-8"`}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			t.Errorf("the proxy got %s %s", r.Method, r.URL)
		}
		for _, c := range challenges {
			w.Header().Add("Proxy-Authenticate", c)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html>\x1b[2Jgo away</html>")
	}))
	defer proxy.Close()
	bare, _ := url.Parse(proxy.URL)
	via := *bare
	via.User = url.UserPassword("svc-nc", "Proxy-Pass-93")
	c := Client(nil)
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(bare)
	for _, tc := range []struct {
		status     int
		challenges []string
		passes     bool
		reason     string
		fixHint    string
	}{
		{http.StatusProxyAuthRequired, []string{`Basic realm="corp, west", charset="UTF-8"`}, false, "asks for credentials", "HTTPS_PROXY as http://user:password@host:port"},
		// A Windows domain's proxy: Go's client speaks neither.
		{http.StatusProxyAuthRequired, []string{"Negotiate", "NTLM"}, false, "asks for credentials", "offers only negotiate, ntlm"},
		{http.StatusProxyAuthRequired, []string{"Negotiate, Basic realm=corp"}, false, "asks for credentials", "HTTPS_PROXY as http://user:password@host:port"},
		{http.StatusForbidden, nil, false, "refused a tunnel to okta.example:443", "NO_PROXY"},
		{http.StatusBadGateway, nil, true, "could not open a tunnel to okta.example:443", "check it"},
	} {
		status, challenges = tc.status, tc.challenges
		resp, err := c.Get("https://okta.example/api/v1/org")
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("%d: no error", tc.status)
		}
		var pe *ProxyError
		if !errors.As(err, &pe) || pe.Status != tc.status || pe.Proxy != via.Host || pe.Target != "okta.example:443" ||
			pe.Passes() != tc.passes || !strings.Contains(pe.Reason(), tc.reason) || !strings.Contains(pe.Fix(), tc.fixHint) {
			t.Errorf("%d: %#v (%v)", tc.status, pe, err)
			continue
		}
	}
	// With a user and password the proxy refuses: the fix is to correct
	// them, and the words never carry the password.
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(&via)
	status, challenges = http.StatusProxyAuthRequired, []string{"Basic realm=corp"}
	resp, err := c.Get("https://okta.example/api/v1/org")
	if err == nil {
		_ = resp.Body.Close()
	}
	var pe *ProxyError
	if !errors.As(err, &pe) || !pe.Sent || !strings.Contains(pe.Fix(), "refused the user and password") || pe.Proxy != via.Host {
		t.Errorf("refused credentials: %#v (%v)", pe, err)
	} else if text := err.Error() + pe.Reason() + pe.Fix(); strings.Contains(text, "Proxy-Pass-93") || strings.Contains(text, "\x1b") {
		t.Errorf("the words carry the proxy's password or its page: %q", text)
	}
	// A proxy that is not there is Go's own error, which the providers
	// name (httpclient.Classify).
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	gone, _ := url.Parse("http://" + closed.Addr().String())
	_ = closed.Close()
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(gone)
	var op *net.OpError
	resp, err = c.Get("https://okta.example/")
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.As(err, &op) || op.Op != "proxyconnect" {
		t.Errorf("a proxy that is not there: %v", err)
	}
}
