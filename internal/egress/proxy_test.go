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
	status := http.StatusProxyAuthRequired
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			t.Errorf("the proxy got %s %s", r.Method, r.URL)
		}
		w.Header().Set("Proxy-Authenticate", `Basic realm="corp"`)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html>\x1b[2Jgo away</html>")
	}))
	defer proxy.Close()
	via, _ := url.Parse(proxy.URL)
	via.User = url.UserPassword("svc-nc", "Proxy-Pass-93")
	c := Client(nil)
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(via)
	for _, tc := range []struct {
		status  int
		passes  bool
		reason  string
		fixHint string
	}{
		{http.StatusProxyAuthRequired, false, "asks for credentials", "HTTPS_PROXY as http://user:password@host:port"},
		{http.StatusForbidden, false, "refused a tunnel to okta.example:443", "NO_PROXY"},
		{http.StatusBadGateway, true, "could not open a tunnel to okta.example:443", "check it"},
	} {
		status = tc.status
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
		if text := err.Error() + pe.Reason() + pe.Fix(); strings.Contains(text, "Proxy-Pass-93") || strings.Contains(text, "\x1b") {
			t.Errorf("%d: the words carry the proxy's password or its page: %q", tc.status, text)
		}
	}
	// A proxy that is not there is Go's own error, which the providers
	// name (httpclient.Classify).
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	gone, _ := url.Parse("http://" + closed.Addr().String())
	_ = closed.Close()
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(gone)
	var op *net.OpError
	resp, err := c.Get("https://okta.example/")
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.As(err, &op) || op.Op != "proxyconnect" {
		t.Errorf("a proxy that is not there: %v", err)
	}
}
