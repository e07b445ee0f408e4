package control

import (
	"errors"
	"io/fs"
	"net"
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
	first, err := drawPipeName()
	if err != nil {
		t.Fatal(err)
	}
	second, err := drawPipeName()
	if err != nil {
		t.Fatal(err)
	}
	if second == first || !validPipeName(first) || !validPipeName(second) {
		t.Errorf("two draws: %q, %q", first, second)
	}
	for _, name := range []string{first, second} {
		if err := recordPipeName(dir, name); err != nil {
			t.Fatal(err)
		}
		if got, err := readPipeName(dir); err != nil || got != name {
			t.Errorf("read %q, %v; recorded %q", got, err, name)
		}
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

// A drawn name is recorded when the daemon first accepts, which it does
// once it holds the database: a daemon that stops before leaves the name
// of the one that serves.
func TestADrawnNameIsRecordedWhenTheDaemonServes(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	name, _ := drawPipeName()
	p := &published{Listener: l, record: func() error { return recordPipeName(dir, name) }}
	if _, err := readPipeName(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("recorded before serving: %v", err)
	}
	accepted := make(chan error, 1)
	go func() {
		c, err := p.Accept()
		if err == nil {
			_ = c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	if got, err := readPipeName(dir); err != nil || got != name {
		t.Errorf("recorded %q, %v; want %q", got, err, name)
	}
	_ = l.Close()
	failing := &published{Listener: l, record: func() error { return recordPipeName(filepath.Join(dir, "gone"), name) }}
	if _, err := failing.Accept(); err == nil || !strings.Contains(err.Error(), "record the daemon's pipe name") {
		t.Errorf("a name that cannot be recorded: %v", err)
	}
}
