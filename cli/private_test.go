//go:build !windows

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data directory another account prepared, or a key others may read, is
// not trusted: every command stops with exit 2, one line naming the path
// and the fix, and changes nothing.
func TestUntrustedDataDirectoryAndKeyAreRefused(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod")
	key := filepath.Join(h.dir, keyFileName)

	// Someone else's folder (as root: another owner; otherwise: one that
	// others may write, which is how someone else gets files into it).
	want := "chmod 700 " + h.dir
	if os.Geteuid() == 0 {
		if err := os.Chown(h.dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		want = "chown -R"
	} else if err := os.Chmod(h.dir, 0o770); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"connector", "list"}, {"status"}, {"connector", "add", "okta", "--name", "B",
		"--url", "https://b.okta.com", "--token-env", "OKTA_TOKEN"}} {
		before := h.snapshot()
		r := h.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, h.dir) || !strings.Contains(r.stderr, want) ||
			strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v in an untrusted folder: exit %d, %q", args, r.code, r.stderr)
		}
		if len(h.snapshot()) != len(before) {
			t.Errorf("%v changed the folder", args)
		}
	}
	if err := os.Chown(h.dir, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.dir, 0o700); err != nil {
		t.Fatal(err)
	}

	// A key others may read.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.run("connector", "test", "Okta prod")
	if r.code != 2 || !strings.Contains(r.stderr, "chmod 600 "+key) {
		t.Errorf("a key others may read: exit %d, %q", r.code, r.stderr)
	}
}
