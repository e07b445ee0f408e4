package control

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/Microsoft/go-winio"
)

// acceptAll answers l's connections by closing them, as a daemon that has
// started serving would take them, until l closes.
func acceptAll(l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
}

// A pipe someone else opened first under the recorded name (one that
// refuses everyone, as a user who wants the service not to start would
// open it) does not keep the daemon from starting: it draws a new name,
// records it, and commands reach it there. A second daemon on the same
// data directory still stops at the pipe.
func TestThePipeCannotBeTakenFirst(t *testing.T) {
	dir := t.TempDir()
	name, err := drawPipeName()
	if err != nil {
		t.Fatal(err)
	}
	if err := recordPipeName(dir, name); err != nil {
		t.Fatal(err)
	}
	squat, err := winio.ListenPipe(name, &winio.PipeConfig{SecurityDescriptor: "D:P(D;;GA;;;WD)"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = squat.Close() }()
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := Listen(ctx, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("a squatted name kept the daemon from listening: %v", err)
	}
	defer func() { _ = l.Close() }()
	acceptAll(l)
	if !strings.Contains(logs.String(), "another process may hold it") {
		t.Errorf("the log does not say why the name changed: %s", logs.String())
	}
	// Recorded once the daemon serves (its first Accept, in acceptAll).
	drawn, err := readPipeName(dir)
	for deadline := time.Now().Add(5 * time.Second); (err != nil || drawn == name) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		drawn, err = readPipeName(dir)
	}
	if err != nil || drawn == name {
		t.Fatalf("recorded %q (%v), the squatted name was %q", drawn, err, name)
	}
	c, err := dial(ctx, dir)
	if err != nil {
		t.Fatalf("a command cannot reach the daemon: %v", err)
	}
	_ = c.Close()
	if _, err := Listen(ctx, dir, slog.New(slog.NewTextHandler(&logs, nil))); err == nil ||
		!strings.Contains(err.Error(), "another neurons-connector daemon is running") {
		t.Errorf("a second daemon: %v", err)
	}
}
