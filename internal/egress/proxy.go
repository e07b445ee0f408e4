package egress

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
	// Schemes are the sign-in schemes a 407 offers (Proxy-Authenticate):
	// Basic takes the user and password of HTTPS_PROXY; Go's client speaks
	// no other (NTLM and Negotiate are what a Windows domain's proxy asks).
	Schemes []string
	// Sent says that HTTPS_PROXY held a user and password, which the proxy
	// then refused.
	Sent bool
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
	case e.Status == http.StatusProxyAuthRequired && len(e.Schemes) > 0 && !slices.Contains(e.Schemes, "basic"):
		return "it offers only " + strings.Join(e.Schemes, ", ") + " (a Windows domain's sign-in), which the connector cannot give: " +
			"have the proxy let this server through without sign-in, or offer Basic and give the user and password in HTTPS_PROXY"
	case e.Status == http.StatusProxyAuthRequired && e.Sent:
		return "it refused the user and password of HTTPS_PROXY: correct them there (characters such as @ : / % written as %40 %3A %2F %25)"
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
	e := &ProxyError{Proxy: proxy.Host, Target: req.Host, Status: resp.StatusCode, Text: http.StatusText(resp.StatusCode), Sent: proxy.User != nil}
	for _, v := range resp.Header.Values("Proxy-Authenticate") {
		// A scheme is the first token of a challenge; a value may hold
		// several challenges, whose parameters also hold commas.
		for _, part := range strings.Split(v, ",") {
			scheme, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if scheme = strings.ToLower(scheme); isToken(scheme) && !slices.Contains(e.Schemes, scheme) {
				e.Schemes = append(e.Schemes, scheme)
			}
		}
	}
	return e
}

// isToken says whether s is a scheme's name (letters, digits, '-'), not a
// parameter (realm="x") or the rest of a quoted one.
func isToken(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
	}) < 0
}
