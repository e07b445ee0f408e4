package robustio

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A destination another process holds open for a moment (a scanner
// reading the file just written) is replaced once it lets go; one held for
// good (Excel showing it) is an error after Patience, for the caller to name.
func TestARenameWaitsOutABriefHold(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "drop.tmp"), filepath.Join(dir, "drop.csv")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(from, "new")
	write(to, "old")
	held, err := os.Open(to) // Go opens without sharing deletion: a rename over it fails
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(from, to); err == nil {
		t.Fatal("a rename over a held file went through: this test shows nothing here")
	}
	go func() { time.Sleep(200 * time.Millisecond); _ = held.Close() }()
	if err := Rename(from, to); err != nil {
		t.Fatalf("a brief hold: %v", err)
	}
	if b, _ := os.ReadFile(to); string(b) != "new" {
		t.Errorf("the destination holds %q", b)
	}
	write(from, "newer")
	forGood, err := os.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = forGood.Close() }()
	if err := Rename(from, to); err == nil || !ephemeral(err) {
		t.Errorf("a hold for good: %v", err)
	}
}
