package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Idle connections to the health and metrics endpoint (a local user
// holding hundreds open) are cut off, never more than the cap are served
// at once, and a scraper still gets its answer.
func TestIdleConnectionsDoNotHoldTheEndpoint(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	lim := httpLimits{header: 300 * time.Millisecond, read: time.Second, write: time.Second, idle: time.Second, conns: 4}
	go func() { done <- serveHTTP(ctx, l, http.NotFoundHandler(), lim) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var idle []net.Conn
	for range 40 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		idle = append(idle, c)
	}
	// The first four are served and must be cut off by the header timeout;
	// the rest wait in the backlog and are then cut off in turn.
	for i, c := range idle[:4] {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("idle connection %d was not closed by the server: %v", i, err)
		}
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + l.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("a scrape behind 40 idle connections: %v", err)
	}
	_ = resp.Body.Close()
}

// The listener hands out a connection beyond the cap only once one of
// those it handed out is closed.
func TestLimitListenerCaps(t *testing.T) {
	inner, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limit(inner, 2)
	defer func() { _ = l.Close() }()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
	}
	a, _ := l.Accept()
	b, _ := l.Accept()
	third := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			third <- c
		}
	}()
	select {
	case <-third:
		t.Fatal("a third connection was served while two were open")
	case <-time.After(200 * time.Millisecond):
	}
	_ = a.Close()
	select {
	case c := <-third:
		_ = c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the third connection was never served")
	}
	_ = b.Close()
}
