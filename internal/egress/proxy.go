package egress

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ProxyError is a proxy's refusal to open the tunnel to a host (its answer
// to CONNECT). Go reports it as the status's text alone ("Proxy
// Authentication Required"), which names neither the proxy nor the fix,
// and leaves a 407 to be retried as if it might pass.
type ProxyError struct {
	Proxy  string // host:port, never its credentials
	Target string // host:port the tunnel was for
	Status int
	Text   string // the status's text as Go knows it (the proxy's own words are not repeated)
}

func (e *ProxyError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("the proxy %s answered a tunnel to %s with %d %s", e.Proxy, e.Target, e.Status, e.Text))
}

// Reason says what the proxy did, in words, the proxy named.
func (e *ProxyError) Reason() string {
	switch {
	case e.Status == http.StatusProxyAuthRequired:
		return "the proxy " + e.Proxy + " asks for credentials"
	case e.Status >= 500:
		return "the proxy " + e.Proxy + " could not open a tunnel to " + e.Target
	}
	return "the proxy " + e.Proxy + " refused a tunnel to " + e.Target
}

// Fix is what the admin does about it.
func (e *ProxyError) Fix() string {
	switch {
	case e.Status == http.StatusProxyAuthRequired:
		return "give them in HTTPS_PROXY as http://user:password@host:port (for the service, in its settings file)"
	case e.Status >= 500:
		return "the proxy may not reach the host, or be failing: check it"
	}
	return "have the proxy allow " + e.Target + ", or name the host in NO_PROXY if it is to be reached directly"
}

// Passes says whether the refusal may pass by itself: a proxy's own
// failure may; missing credentials and a host the proxy refuses need an
// admin.
func (e *ProxyError) Passes() bool { return e.Status >= 500 }

// proxyRefusal is the transport's OnProxyConnectResponse.
func proxyRefusal(_ context.Context, proxy *url.URL, req *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &ProxyError{Proxy: proxy.Host, Target: req.Host, Status: resp.StatusCode, Text: http.StatusText(resp.StatusCode)}
}
