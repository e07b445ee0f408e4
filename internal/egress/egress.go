// Package egress builds the http.Client of every outgoing call: the
// providers' APIs and the Neurons token and ingestion endpoints. TLS 1.2 or
// newer, always verified; proxies from the environment; and a redirect
// policy that keeps credentials where the admin sent them.
package egress

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// MaxIdlePerHost is how many idle connections to one host are kept: more
// than any client of this project has requests in flight.
const MaxIdlePerHost = 8

// MaxRedirects is how many redirects one request may follow.
const MaxRedirects = 3

// ErrRedirect marks a redirect the client refused to follow.
var ErrRedirect = errors.New("redirect refused")

// Client returns the client for outgoing calls; rootCAs replaces the
// system's trusted CAs (the simulators' CA in tests), nil keeps them, with
// those SSL_CERT_FILE and SSL_CERT_DIR name (roots.go).
func Client(rootCAs *x509.CertPool) *http.Client {
	if rootCAs == nil {
		rootCAs = systemRoots()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: rootCAs}
	// Go keeps two idle connections per host by default; a provider client
	// runs up to four requests at once, so over HTTP/1.1 every answer beyond
	// the second closed its connection and a later request paid a new TCP
	// and TLS handshake (119 connections in a 100,000-user Okta run against
	// the simulator; five now). HTTP/2 shares one connection either way.
	tr.MaxIdleConnsPerHost = MaxIdlePerHost
	tr.OnProxyConnectResponse = proxyRefusal
	return &http.Client{Transport: tr, CheckRedirect: CheckRedirect}
}

// CheckRedirect is the redirect policy: only a GET or HEAD is redirected
// (a POST carries a client secret or data in its body: a redirect of it is
// never followed, whatever the status), only to the same scheme and host as
// the request the caller made (Go keeps the Authorization header on the
// same host), over https unless the host is this machine, and at most
// MaxRedirects times.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	switch {
	case first.Method != http.MethodGet && first.Method != http.MethodHead:
		return fmt.Errorf("%w: %s %s answered with a redirect; a request that carries credentials is never sent on", ErrRedirect, first.Method, first.URL.Host)
	case req.URL.Scheme != first.URL.Scheme || !strings.EqualFold(req.URL.Host, first.URL.Host):
		return fmt.Errorf("%w: %s://%s redirected to %s://%s; credentials go only to the configured host and scheme",
			ErrRedirect, first.URL.Scheme, first.URL.Host, req.URL.Scheme, req.URL.Host)
	case req.URL.Scheme != "https" && !loopback(req.URL.Hostname()):
		return fmt.Errorf("%w: a redirect to plain http on %s", ErrRedirect, req.URL.Host)
	case len(via) > MaxRedirects:
		return fmt.Errorf("%w: more than %d redirects from %s", ErrRedirect, MaxRedirects, first.URL.Host)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
