//go:build linux

package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"neurons-connector/control"
)

// The installed unit is Type=notify: systemd counts the service started
// only once serve says READY=1, and `systemctl start` (and `service start`
// with it) fails when the process exits before that. So READY=1 must come
// once the daemon holds its database and answers on its socket, never from
// a serve that fails to start, and STOPPING=1 as it stops. The socket here
// stands in for systemd's, in the abstract namespace as systemd's may be.
func TestServeTellsSystemdWhenItIsReady(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	name := "@neurons-connector-test-" + hex.EncodeToString(suffix)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	next := func(within time.Duration) (string, error) {
		_ = conn.SetReadDeadline(time.Now().Add(within))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		return string(buf[:n]), err
	}

	serve, logs, exited := e.startServe([]string{"serve"}, "NOTIFY_SOCKET="+name) // not waiting for it to answer: READY=1 must say so

	msg, err := next(15 * time.Second)
	if err != nil {
		t.Fatalf("no READY=1 within 15 s: %v\n%s", err, logs.String())
	}
	if !strings.HasPrefix(msg, "READY=1\n") || !strings.Contains(msg, "STATUS=serving the connectors of server Cloud") ||
		!strings.Contains(msg, "health and metrics: "+e.listen) {
		t.Errorf("the first message: %q", msg)
	}
	// Ready means ready: the socket answers and the database is held.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := control.Find(ctx, e.dir)
	if err != nil || cl == nil {
		t.Fatalf("READY=1 came before the daemon answered: %v", err)
	}
	_ = cl.Close()

	// A second serve fails at start (the socket is the first one's): it
	// must not tell systemd it is ready.
	second := e.cliEnv([]string{"NOTIFY_SOCKET=" + name}, "serve")
	if second.code == 0 || !strings.Contains(second.stderr, "another neurons-connector daemon runs") {
		t.Errorf("a second daemon: exit %d, %s", second.code, second.stderr)
	}
	if msg, err := next(300 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a serve that failed to start sent %q (%v)", msg, err)
	}

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if msg, err := next(5 * time.Second); err != nil || msg != "STOPPING=1" {
		t.Errorf("as it stops: %q, %v", msg, err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon exit: %v\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Error("the daemon did not stop within 5 s of SIGTERM")
	}
}

// cliEnv is cli with variables added to the environment.
func (e *daemonEnv) cliEnv(env []string, args ...string) result {
	e.t.Helper()
	return e.command("", env, args...)
}

// A run the command line asked the service for has finished and waits
// for the sink when the service stops (systemctl stop, a reboot): the
// command must say that the service stopped and that the changes wait in
// the outbox, not that it lost the connection (seen under a real systemd,
// scripts/systemd-test.sh).
func TestAServiceStoppedWhileARunDeliversSaysSo(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	serve, _, exited := e.serve()
	e.mustCLI("connector", "add", "okta", "--name", "Okta", "--url", e.oktaU, "--token-env", "OKTA_TOKEN")
	e.fake.Outage(true)
	done := make(chan result, 1)
	go func() { done <- e.cli("run", "Okta") }()
	e.waitRuns(20*time.Second, "Okta") // finished: the command waits for the sink now
	time.Sleep(200 * time.Millisecond)
	e.stop(serve, exited)
	r := <-done
	if r.code != 1 || strings.Contains(r.stderr, "lost the connection") || !strings.Contains(r.stderr, "the neurons-connector service is stopping") ||
		!strings.Contains(r.stderr, "wait in the outbox") {
		t.Errorf("run: exit %d\n%s", r.code, r.stderr)
	}
}
