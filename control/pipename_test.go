package control

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The Windows pipe's name is drawn, not derived: each draw differs, is
// recorded whole for the command line, and a recorded name that is not one
// the daemon draws (another machine's pipe, a path) is refused.
func TestPipeNamesAreDrawnAndRecorded(t *testing.T) {
	dir := t.TempDir()
	if _, err := readPipeName(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no name recorded yet: %v", err)
	}
	first, err := newPipeName(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readPipeName(dir); err != nil || got != first {
		t.Errorf("read %q, %v; drew %q", got, err, first)
	}
	second, err := newPipeName(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || !validPipeName(second) {
		t.Errorf("a second draw %q after %q", second, first)
	}
	if got, _ := readPipeName(dir); got != second {
		t.Errorf("read %q after a second draw %q", got, second)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != pipeFile {
		t.Errorf("the data directory holds %v", entries)
	}
	// Windows keeps no mode bits: the data directory's ACL covers the file.
	if info, err := os.Stat(filepath.Join(dir, pipeFile)); err != nil || runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("the name's file: %v, %v", info, err)
	}
	for _, bad := range []string{
		`\\fileserver\pipe\neurons-connector-00112233445566778899aabbccddeeff`,
		`\\.\pipe\neurons-connector-` + strings.Repeat("0", 31),
		`\\.\pipe\neurons-connector-00112233445566778899AABBCCDDEEFF`,
		`\\.\pipe\neurons-connector-00112233445566778899aabbccddeefg`,
		`\\.\pipe\other-00112233445566778899aabbccddeeff`,
		"",
	} {
		if err := os.WriteFile(filepath.Join(dir, pipeFile), []byte(bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := readPipeName(dir); err == nil || !strings.Contains(err.Error(), "delete the file") {
			t.Errorf("%q read as %q, %v", bad, got, err)
		}
	}
}
