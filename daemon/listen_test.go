package daemon

import (
	"context"
	"net"
	"testing"
	"time"

	"neurons-connector/clock"
)

// While another process holds the port, the daemon tries it again every
// period, and takes it once it is free.
func TestTheEndpointTakesThePortOnceItIsFree(t *testing.T) {
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := holder.Addr().String()
	got := make(chan net.Listener, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	go func() { got <- listenLater(ctx, addr, 10*time.Millisecond, clock.Real{}) }()
	select {
	case l := <-got:
		t.Fatalf("listening on a port another process holds: %v", l)
	case <-time.After(100 * time.Millisecond):
	}
	_ = holder.Close()
	l := <-got
	if l == nil {
		t.Fatal("the port was never taken")
	}
	_ = l.Close()
	if addr != l.Addr().String() {
		t.Errorf("listening on %s, not %s", l.Addr(), addr)
	}

	// Stopped while it waits: no listener.
	holder, _ = net.Listen("tcp", "127.0.0.1:0")
	defer func() { _ = holder.Close() }()
	stopped, stop := context.WithCancel(t.Context())
	stop()
	if l := listenLater(stopped, holder.Addr().String(), time.Millisecond, clock.Real{}); l != nil {
		t.Errorf("a stopped daemon listens: %v", l)
	}
}
