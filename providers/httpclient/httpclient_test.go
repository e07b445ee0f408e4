package httpclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/fault"
	"neurons-connector/internal/egress"
)

func TestPacerKeepsTheShareOfEachWindow(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := NewPacer(fc, 0.5, time.Hour)
	p.Assume(100)
	start := fc.Now()
	perWindow := map[int]int{}
	for range 120 {
		if _, _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Done()
		perWindow[int(fc.Now().Sub(start)/time.Hour)]++
	}
	for w, n := range perWindow {
		if n > 50 {
			t.Errorf("window %d: %d requests, share is 50", w, n)
		}
	}
	if len(perWindow) < 3 {
		t.Errorf("120 requests at 50 an hour fit in %d windows", len(perWindow))
	}
}

func TestClassifySaysWhoMustAct(t *testing.T) {
	cases := []struct {
		err   error
		class error
	}{
		{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, fault.ErrConfig},
		{egress.ErrRedirect, fault.ErrConfig},
		{syscall.ECONNREFUSED, fault.ErrTransient},
		{context.DeadlineExceeded, fault.ErrTransient},
		// A proxy's refusal: credentials and an allowed host need an
		// admin; its own failure may pass. One that is not there may come up.
		{&egress.ProxyError{Proxy: "proxy:8080", Target: "acme.example:443", Status: 407}, fault.ErrConfig},
		{&egress.ProxyError{Proxy: "proxy:8080", Target: "acme.example:443", Status: 403}, fault.ErrConfig},
		{&egress.ProxyError{Proxy: "proxy:8080", Target: "acme.example:443", Status: 502}, fault.ErrTransient},
		{&net.OpError{Op: "proxyconnect", Net: "tcp", Err: syscall.ECONNREFUSED}, fault.ErrTransient},
	}
	for _, tc := range cases {
		err := Classify("acme.example", tc.err)
		var ne *NetError
		if !errors.As(err, &ne) || !errors.Is(err, tc.class) || ne.Fix == "" {
			t.Errorf("%v: %v", tc.err, err)
		}
	}
	if err := Classify("acme.example", &egress.ProxyError{Proxy: "proxy:8080", Target: "acme.example:443", Status: 407}); !strings.Contains(err.Error(),
		"the proxy proxy:8080 asks for credentials") || !strings.Contains(err.Error(), "HTTPS_PROXY") {
		t.Errorf("a proxy asking for credentials: %v", err)
	}
	if err := Classify("acme.example", &net.OpError{Op: "proxyconnect", Net: "tcp", Err: syscall.ECONNREFUSED}); !strings.Contains(err.Error(),
		"the proxy could not be reached") {
		t.Errorf("a proxy not there: %v", err)
	}
	if err := Classify("h", context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
	for a := range 10 {
		if d := Backoff(a, 2*time.Second, time.Minute); d < time.Second || d > time.Minute {
			t.Errorf("attempt %d: %v", a, d)
		}
	}
}
