package sink

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestForgetCSV(t *testing.T) {
	dir := t.TempDir()
	if err := ForgetCSV(filepath.Join(dir, "none"), "c1"); err != nil {
		t.Errorf("nothing to forget: %v", err)
	}
	for _, id := range []string{"", "../c1", `c1\x`, "c1.csv"} {
		if err := ForgetCSV(dir, id); err == nil {
			t.Errorf("ID %q taken", id)
		}
	}
	// A state it cannot remove (here a folder with a file in it) is an
	// error that names it; the journal goes all the same.
	if err := os.MkdirAll(filepath.Join(dir, "c1.csv", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c1.journal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := ForgetCSV(dir, "c1")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "c1.csv")) {
		t.Errorf("got %v", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "c1.journal")); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("the journal: %v", serr)
	}
}
