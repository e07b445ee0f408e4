package okta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"

	"neurons-connector/engine"
)

// errRedirect marks a redirect the client refused to follow.
var errRedirect = errors.New("redirect to another host refused")

// NetError is a failure to reach Okta at all, with a sentence for an admin.
type NetError struct {
	Host   string
	Reason string // what went wrong, in words
	Fix    string // what to do
	Err    error
	class  error
}

func (e *NetError) Error() string {
	return fmt.Sprintf("okta: %s: %s (%v); %s", e.Host, e.Reason, e.Err, e.Fix)
}

// Unwrap exposes the cause and the engine's class.
func (e *NetError) Unwrap() []error { return []error{e.Err, e.class} }

// classifyNetErr turns a transport error into a NetError. DNS and TLS trust
// problems need an admin (ErrConfig); refused connections, resets and
// timeouts may pass (ErrTransient).
func classifyNetErr(host string, err error) error {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, errRedirect):
		return &NetError{host, "the server redirected the request to another host", "check the connector's URL; the token is never sent to another host", err, engine.ErrConfig}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return &NetError{host, "the host name does not resolve", "check the connector's URL (neurons-connector connector show)", err, engine.ErrConfig}
	case errors.As(err, &unknownCA), errors.As(err, &certErr):
		return &NetError{host, "the server's TLS certificate is not trusted", "if a proxy inspects TLS, add its CA to the system trust store or SSL_CERT_FILE", err, engine.ErrConfig}
	case errors.As(err, &hostErr):
		return &NetError{host, "the TLS certificate is for another host", "check the connector's URL", err, engine.ErrConfig}
	case errors.As(err, &recordErr):
		return &NetError{host, "the server does not speak TLS on this port", "check the URL's scheme and port", err, engine.ErrConfig}
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return &NetError{host, "the request timed out", "check the network, firewall or proxy (HTTPS_PROXY); Okta may be slow", err, engine.ErrTransient}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &NetError{host, "the connection was refused", "check the URL's port and any firewall or proxy", err, engine.ErrTransient}
	case dnsErr != nil:
		return &NetError{host, "name resolution failed", "check DNS and the network", err, engine.ErrTransient}
	}
	return &NetError{host, "the connection failed", "check the network, firewall or proxy (HTTPS_PROXY)", err, engine.ErrTransient}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
