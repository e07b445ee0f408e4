package oktatest

import (
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"os"
)

// Start serves the simulator over plain http on a loopback port.
func (s *Server) Start() *httptest.Server { return httptest.NewServer(s) }

// StartTLS serves it over https with a certificate generated for
// 127.0.0.1; the returned pool trusts it.
func (s *Server) StartTLS() (*httptest.Server, *x509.CertPool) {
	ts := httptest.NewTLSServer(s)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return ts, pool
}

// WriteCA writes the https server's certificate as PEM, so that other Okta
// clients can be pointed at the simulator (SSL_CERT_FILE=path).
func WriteCA(ts *httptest.Server, path string) error {
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	return os.WriteFile(path, data, 0o644) //nolint:gosec // a public certificate that other programs must read
}
