//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"neurons-connector/fault"
)

// mapChild is the variable that makes the test binary the child of
// TestADatabaseTheSystemWillNotMapIsNotDamaged.
const mapChild = "NC_TEST_MAP_CHILD_DB"

// A sound database that the system will not map into the process (a limit
// on its address space, ulimit -v or LimitAS=, below the file's size) was
// reported as damaged, bbolt's bare "cannot allocate memory" taken for
// something wrong in the file, and the admin sent to salvage a sound file.
// It is the system refusing, and the message says which limit to lift.
func TestADatabaseTheSystemWillNotMapIsNotDamaged(t *testing.T) {
	if path := os.Getenv(mapChild); path != "" {
		var out struct {
			Error   string
			Damaged bool
		}
		db, err := Open(path, Options{})
		if err == nil {
			_ = db.Close()
		} else {
			out.Error, out.Damaged = err.Error(), errors.Is(err, ErrDamaged)
		}
		childSays(out)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// 3 GiB, sparse: bbolt maps the whole file, more than the child may.
	if err := os.Truncate(path, 3<<30); err != nil {
		t.Skipf("no sparse 3 GiB file here: %v", err)
	}
	var got struct {
		Error   string
		Damaged bool
	}
	underLimit(t, "-v 2097152", mapChild+"="+path, &got)
	if got.Error == "" {
		t.Fatal("the child mapped 3 GiB under a 2 GiB limit: the test proves nothing")
	}
	if got.Damaged || !strings.Contains(got.Error, "ulimit -v") || strings.Contains(got.Error, "salvage") {
		t.Errorf("a mapping the system refused: %s", got.Error)
	}
	// The file is sound: opened without the limit, it reads.
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("the same file without the limit: %v", err)
	}
	_ = db.Close()
}

// The same refusal in the middle of a run: a commit that grows the file
// makes bbolt map it anew, and bbolt words the refusal itself, the cause
// flattened to text. It names the limit, as a configuration error, where it
// was bbolt's bare words.
func TestARemapTheSystemRefusesNamesTheLimit(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	err := db.space(fmt.Errorf("mmap allocate error: %s", syscall.ENOMEM)) //nolint:errorlint // as bbolt words it
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "database "+db.Path()+": the system will not map") ||
		!strings.Contains(err.Error(), "ulimit -v") || errors.Is(err, ErrDamaged) {
		t.Errorf("%v", err)
	}
	if other := db.space(errors.New("unexpected EOF")); other.Error() != "unexpected EOF" {
		t.Errorf("another error changed: %v", other)
	}
}
