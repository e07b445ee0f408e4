package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// Every runnable command says what it needs (nothing, the settings, or
// the backend): that one declaration decides whether it goes through a
// running daemon, so a command that declares nothing fails here.
func TestEveryCommandDeclaresWhatItNeeds(t *testing.T) {
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if builtin[sub.Name()] {
				continue
			}
			if sub.Runnable() {
				seen++
				switch n := sub.Annotations[needsKey]; n {
				case needsNothing, needsSettings, needsBackend, needsHint:
				default:
					t.Errorf("%s declares %q; declare(cmd, needsNothing|needsSettings|needsBackend|needsHint)", sub.CommandPath(), n)
				}
			}
			walk(sub)
		}
	}
	walk((&tree{}).root())
	if seen < 20 {
		t.Errorf("walked only %d commands", seen)
	}
	// And prepare refuses to run a command that declares nothing.
	h := newHarness(t)
	root := (&tree{env: Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Lookup: func(k string) (string, bool) {
		v, ok := h.env[k]
		return v, ok
	}, Now: time.Now}}).root()
	root.AddCommand(&cobra.Command{Use: "undeclared", RunE: func(*cobra.Command, []string) error { return nil }})
	root.SetArgs([]string{"undeclared"})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "declares nothing") {
		t.Errorf("an undeclared command ran: %v", err)
	}
}

// What a daemon of an earlier version left behind after a crash, and a
// process of another user on the port it used, get nothing: the command
// line never talks TCP to a daemon, so the secret goes only into this
// process's own database write.
func TestStaleDaemonFileAndImpostorOnThePortGetNoSecret(t *testing.T) {
	h := newHarness(t)
	impostor, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = impostor.Close() }()
	var mu sync.Mutex
	var received []byte
	go func() {
		for {
			c, err := impostor.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			mu.Lock()
			received = append(received, buf[:n]...)
			received = append(received, '|')
			mu.Unlock()
			_ = c.Close()
		}
	}()
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := impostor.Addr().String()
	for name, content := range map[string]string{
		"daemon.json":   `{"pid":1,"listen":"` + addr + `","started":"2026-11-01T00:00:00Z"}`,
		"control.token": strings.Repeat("ab", 32) + "\n",
	} {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h.env["NC_LISTEN"] = addr
	h.mustRun("connector", "add", "okta", "--name", "Okta", "--url", "https://acme.okta.com", "--token-env", "OKTA_TOKEN")
	h.mustRun("connector", "edit", "Okta", "--token-env", "OKTA_TOKEN")
	h.mustRun("status")
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 0 {
		t.Errorf("the impostor on the old port received %q", received)
	}
	if got := h.list(); len(got) != 1 || got[0].Secrets["token"] != "set" {
		t.Errorf("the connector was not stored here: %+v", got)
	}
}
