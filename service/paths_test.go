//go:build !windows

package service

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultDataDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name string
		uid  int
		env  map[string]string
		want string
	}{
		{"root runs the service", 0, map[string]string{"HOME": "/root", "XDG_STATE_HOME": "/x"}, "/var/lib/neurons-connector"},
		{"user with XDG_STATE_HOME", 1000, map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "/state"}, "/state/neurons-connector"},
		{"user without it", 1000, map[string]string{"HOME": "/home/ada"}, "/home/ada/.local/state/neurons-connector"},
		{"relative XDG_STATE_HOME is ignored", 1000, map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "rel"}, "/home/ada/.local/state/neurons-connector"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultDataDir(env(tc.env), tc.uid)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := DefaultDataDir(env(nil), 1000); err == nil {
		t.Error("no HOME and no XDG_STATE_HOME gave no error")
	}
}

func TestPrepareDataDirNarrowsMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	if err := PrepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PrepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v, %v; want 0700", info.Mode().Perm(), err)
	}
}
