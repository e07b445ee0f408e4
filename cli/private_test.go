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

// A mapping table decides what every user's record says in Neurons (the
// e-mail, the manager, the status): NC_MAPPINGS_DIR and the tables in it
// are trusted as the settings are. A folder others may write, or a table
// another account put there or may change, is refused with the path and
// the fix, and a run keeps to the last good table (the daemon's) or fails;
// before, any account that could write the folder decided what the
// service sent.
func TestUntrustedMappingTablesAreRefused(t *testing.T) {
	h, _, sink := withSim(t, 20)
	maps := t.TempDir()
	h.env["NC_MAPPINGS_DIR"] = maps
	table := filepath.Join(maps, "okta.csv")
	if err := os.WriteFile(table, []byte("target,source,transform,notes\nUser.JobTitle,profile.title,upper,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim") // a good table: the last good one from here on

	if err := os.Chmod(maps, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"run", "Sim"}, {"mapping", "export", "okta"}} {
		r := h.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "NC_MAPPINGS_DIR") || !strings.Contains(r.stderr, "chmod go-w "+maps) {
			t.Errorf("%v with a folder others may write: exit %d, %q", args, r.code, r.stderr)
		}
	}
	if err := os.Chmod(maps, 0o755); err != nil {
		t.Fatal(err)
	}

	// A table others may change, then one another account owns.
	if err := os.Chmod(table, 0o666); err != nil {
		t.Fatal(err)
	}
	r := h.run("mapping", "export", "okta")
	if r.code == 0 || !strings.Contains(r.stderr, "chmod go-w "+table) {
		t.Errorf("export of a table others may change: exit %d, %q", r.code, r.stderr)
	}
	// A run in a process of its own has no last good table to keep to (a
	// daemon does): it fails, and sends nothing, rather than falling back
	// on the built-in table, which would rewrite every record.
	upserts, _ := sink.Counts()
	r = h.run("run", "Sim", "--full")
	if r.code != 1 || !strings.Contains(r.stderr, "is not used") || !strings.Contains(r.stderr, "chmod go-w "+table) {
		t.Errorf("a run with a table others may change: exit %d, %q", r.code, r.stderr)
	}
	if after, _ := sink.Counts(); after != upserts {
		t.Errorf("the run sent %d upserts", after-upserts)
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(table, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(table, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if r := h.run("mapping", "export", "okta"); r.code == 0 || !strings.Contains(r.stderr, "chown") || !strings.Contains(r.stderr, table) {
			t.Errorf("export of another account's table: exit %d, %q", r.code, r.stderr)
		}
		if err := os.Chown(table, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(table, 0o644); err != nil {
		t.Fatal(err)
	}
	h.mustRun("mapping", "export", "okta")
}

// NC_DATA_DIR naming a folder other software keeps its files in (/var/lib,
// /srv, a home) is refused by every command, one line naming what it
// holds and the fix, exit 2, and the folder is left as it was: it was
// narrowed to 0700, closing it to whatever else uses it.
func TestADataDirectoryOfOthersFilesIsRefused(t *testing.T) {
	h := newHarness(t)
	shared := t.TempDir()
	if err := os.Mkdir(filepath.Join(shared, "postgresql"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	h.env["NC_DATA_DIR"] = shared
	for _, args := range [][]string{{"status"}, {"connector", "list"}, {"connector", "add", "okta", "--name", "B",
		"--url", "https://b.okta.com", "--token-env", "OKTA_TOKEN"}} {
		r := h.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "the data directory "+shared+" holds postgresql, which is not neurons-connector's") ||
			!strings.Contains(r.stderr, "nothing was changed") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o755 {
		t.Errorf("the folder's mode changed to %04o", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want its one", len(entries))
	}
	// The fix the error names: a folder of its own, inside it.
	h.env["NC_DATA_DIR"] = filepath.Join(shared, "neurons-connector")
	if r := h.run("connector", "add", "okta", "--name", "B", "--url", "https://b.okta.com", "--token-env", "OKTA_TOKEN"); r.code != 0 {
		t.Errorf("in a folder of its own: exit %d, %q", r.code, r.stderr)
	}
}
