// Package httpclient holds the HTTP plumbing the provider clients share
// (their http.Client itself is internal/egress's): sending with the
// counters, the classification of transport errors into sentences an admin
// can act on, APIError, the rate-limit pacer, backoff with jitter and the
// streamed decoders. The providers keep their own wire formats; this
// package knows none.
package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"neurons-connector/fault"
	"neurons-connector/internal/egress"
	"neurons-connector/internal/retryafter"
)

// NetError is a failure to reach a provider at all, with a sentence for an
// admin.
type NetError struct {
	Host   string
	Reason string // what went wrong, in words
	Fix    string // what to do
	Err    error
	class  error
}

func (e *NetError) Error() string {
	return fmt.Sprintf("%s: %s (%v); %s", e.Host, e.Reason, e.Err, e.Fix)
}

// Unwrap exposes the cause and the engine's class.
func (e *NetError) Unwrap() []error { return []error{e.Err, e.class} }

// Do sends req; counted hears the status of the answer (0 when none came,
// for the clients' per-code counters), and a transport failure comes back
// classified (Classify). It asks for a gzipped answer and hands back the
// body inflated (inflate.go).
func Do(hc *http.Client, req *http.Request, counted func(code int)) (*http.Response, error) {
	askGzip(req)
	resp, err := hc.Do(req) //nolint:gosec // G704: the URL is on the connector's configured host; New's client refuses redirects elsewhere
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	counted(code)
	if err != nil {
		return nil, Classify(req.URL.Host, err)
	}
	inflated(resp)
	return resp, nil
}

// Classify turns a transport error into a NetError. DNS and TLS trust
// problems need an admin (fault.ErrConfig); refused connections, resets
// and timeouts may pass (fault.ErrTransient).
func Classify(host string, err error) error {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var proxyErr *egress.ProxyError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &proxyErr):
		class := fault.ErrConfig // credentials or an allowed host come from an admin
		if proxyErr.Passes() {
			class = fault.ErrTransient
		}
		return &NetError{host, proxyErr.Reason(), proxyErr.Fix(), err, class}
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return &NetError{host, "the proxy could not be reached", "check HTTPS_PROXY (for the service, in its settings file) and that the proxy runs", err, fault.ErrTransient}
	case errors.Is(err, egress.ErrRedirect):
		return &NetError{host, "the server redirected the request to another host", "check the connector's URL; credentials are never sent to another host", err, fault.ErrConfig}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return &NetError{host, "the host name does not resolve", "check the connector's URL (neurons-connector connector show)", err, fault.ErrConfig}
	case errors.As(err, &unknownCA), errors.As(err, &certErr):
		return &NetError{host, "the server's TLS certificate is not trusted", "if a proxy inspects TLS, add its CA to the system trust store or SSL_CERT_FILE", err, fault.ErrConfig}
	case errors.As(err, &hostErr):
		return &NetError{host, "the TLS certificate is for another host", "check the connector's URL", err, fault.ErrConfig}
	case errors.As(err, &recordErr):
		return &NetError{host, "the server does not speak TLS on this port", "check the URL's scheme and port", err, fault.ErrConfig}
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return &NetError{host, "the request timed out", "check the network, firewall or proxy (HTTPS_PROXY" + systemProxy + "); the provider may be slow", err, fault.ErrTransient}
	case refused(err):
		return &NetError{host, "the connection was refused", "check the URL's port and any firewall or proxy", err, fault.ErrTransient}
	case dnsErr != nil:
		return &NetError{host, "name resolution failed", "check DNS and the network", err, fault.ErrTransient}
	}
	return &NetError{host, "the connection failed", "check the network, firewall or proxy (HTTPS_PROXY" + systemProxy + ")", err, fault.ErrTransient}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Backoff is exponential with full jitter: a random wait up to base, 2×base,
// 4×base ... capped at ceiling, never below half of it.
func Backoff(attempt int, base, ceiling time.Duration) time.Duration {
	c := time.Duration(math.Min(float64(base)*math.Pow(2, float64(attempt)), float64(ceiling)))
	return c/2 + Jitter(c/2)
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date
// (read against now); -1 if absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if d, ok := retryafter.Parse(h, now); ok {
		return d
	}
	return -1
}

// Span shows a wait a server announced: to the second, and in days beyond
// a week, since a broken answer's may be centuries long.
func Span(d time.Duration) string {
	if d > 7*24*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}

// Jitter is a random duration from 0 to max.
func Jitter(upTo time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(upTo) + 1)) }
