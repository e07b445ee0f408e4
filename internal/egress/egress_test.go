package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A hostile or misconfigured endpoint that redirects: to plain http on the
// same host, to another host, in a loop, or after a POST. The client sends
// nothing on in any of these, and follows a short same-host redirect.
func TestRedirectPolicy(t *testing.T) {
	var plain atomic.Int32
	http80 := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plain.Add(1) }))
	defer http80.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plain.Add(1) }))
	defer other.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, http80.URL+"/token", http.StatusTemporaryRedirect)
		case "/to-other":
			http.Redirect(w, r, other.URL+"/token", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/once":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		case "/ok":
			_, _ = w.Write([]byte("fine"))
		}
	}))
	defer srv.Close()
	c := Client(nil)
	c.Transport = srv.Client().Transport // trust the test CA
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	do := func(method, path string) error {
		req, _ := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader("client_secret=s3cret"))
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/to-http", "redirected to http://"},
		{"GET", "/to-other", "credentials go only to the configured host"},
		{"GET", "/loop", "more than 3 redirects"},
		{"POST", "/once", "never sent on"},
		{"POST", "/to-http", "never sent on"},
	} {
		err := do(tc.method, tc.path)
		if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.method, tc.path, err, tc.want)
		}
	}
	if n := plain.Load(); n != 0 {
		t.Errorf("the other endpoints received %d requests", n)
	}
	if err := do("GET", "/once"); err != nil {
		t.Errorf("a same-host redirect of a GET: %v", err)
	}
}

// https is required at every hop for a host that is not this machine, even
// when the request began on plain http.
func TestRedirectNeedsHTTPSOffLoopback(t *testing.T) {
	first, _ := http.NewRequestWithContext(context.Background(), "GET", "http://acme.example/a", nil)
	next, _ := http.NewRequestWithContext(context.Background(), "GET", "http://acme.example/b", nil)
	if err := CheckRedirect(next, []*http.Request{first}); !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("%v", err)
	}
	first.URL.Host, next.URL.Host = "127.0.0.1:8080", "127.0.0.1:8080"
	if err := CheckRedirect(next, []*http.Request{first}); err != nil {
		t.Errorf("loopback: %v", err)
	}
}
