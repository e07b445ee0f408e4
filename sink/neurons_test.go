package sink

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"neurons-connector/internal/egress"
	"strings"
	"sync/atomic"
	"testing"

	"neurons-connector/fault"
	"neurons-connector/secret"
)

// A token endpoint that redirects to plain http (a downgrade on the way, or
// a misconfigured proxy) never receives the client secret a second time:
// the client stops, the error says why, and an admin must act.
func TestTokenRequestIsNeverRedirected(t *testing.T) {
	var leaked atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { leaked.Add(1) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := plain.URL + r.URL.Path
		if r.URL.Path == "/same-host" {
			target = "/token"
		}
		http.Redirect(w, r, target, http.StatusTemporaryRedirect) //nolint:gosec // G710: the test's hostile endpoint redirects on purpose
	}))
	defer tlsSrv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	for _, path := range []string{"/token", "/same-host"} {
		n, err := NewNeurons(NeuronsOptions{URL: tlsSrv.URL, TokenURL: tlsSrv.URL + path, ClientID: "id",
			ClientSecret: secret.New([]byte("Sink-Secret-91")), RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := Pack([]byte(`{}`))
		err = n.Push(context.Background(), "k", p)
		if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "redirect refused") ||
			strings.Contains(err.Error(), "Sink-Secret-91") {
			t.Errorf("%s: %v", path, err)
		}
	}
	if leaked.Load() != 0 {
		t.Errorf("the plain http endpoint received %d requests", leaked.Load())
	}
}

// A proxy that refuses the tunnel to Neurons for want of credentials, or
// refuses the host, needs an admin: the push says so with the fix, and is
// not retried as if it might pass; the proxy's own failure may pass.
func TestAProxysRefusalOfNeuronsNamesTheFix(t *testing.T) {
	for status, class := range map[int]error{407: fault.ErrConfig, 403: fault.ErrConfig, 503: fault.ErrTransient} {
		err := &url.Error{Op: "Post", URL: "https://neurons.example/api/connectors/v1/ingest",
			Err: &egress.ProxyError{Proxy: "proxy:8080", Target: "neurons.example:443", Status: status}}
		if got := transportClass(err); !errors.Is(got, class) {
			t.Errorf("%d: class %v, want %v", status, got, class)
		}
		if words := transportWords(err); !strings.Contains(words, "the proxy proxy:8080") || !strings.Contains(words, "; ") {
			t.Errorf("%d: %q", status, words)
		}
	}
	if words := transportWords(errors.New("EOF")); words != "EOF" {
		t.Errorf("another error: %q", words)
	}
}
