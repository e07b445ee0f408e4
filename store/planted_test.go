//go:build !windows

package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root opening the database in a data directory the service's account
// owns (sudo neurons-connector connector add, beside the service) does not
// follow a symbolic link planted as the database: bbolt would have written
// a new database into the file it names, such as /etc/ld.so.preload.
func TestRootDoesNotOpenADatabaseThroughAPlantedLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as CI runs") // for anyone else a folder of another account's is closed anyway
	}
	target := filepath.Join(t.TempDir(), "ld.so.preload") // root's, not there yet
	data := t.TempDir()
	if err := os.Chown(data, 4242, 4242); err != nil { // the service's account's
		t.Fatal(err)
	}
	path := filepath.Join(data, FileName)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{Create: true, Key: testKey(t)})
	if err == nil || !strings.Contains(err.Error(), path+" is a symbolic link in a folder another account may change") {
		t.Errorf("open through a planted link: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the file the link names was made: %v", err)
	}
}
