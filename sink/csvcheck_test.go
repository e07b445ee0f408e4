package sink

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// connector test asks the CSV drop whether its folder takes a file: a
// wrong NC_CSV_DIR is found before a first run queues every user, and the
// check leaves nothing behind, not even a folder that does not exist yet.
func TestCSVCheck(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, want string // want "" is a drop that can write
	}{
		{base, ""},
		{filepath.Join(base, "new", "drops"), ""},
		{file, "the CSV drop cannot write to " + file + " (" + file + " is a file, not a folder): check NC_CSV_DIR"},
		{filepath.Join(file, "drops"), "the CSV drop cannot write to " + filepath.Join(file, "drops") + " ("},
	} {
		msg, err := (&CSV{Dir: tc.dir}).Check(context.Background())
		switch {
		case tc.want == "" && (err != nil || msg != "the CSV drop can write to "+tc.dir):
			t.Errorf("%s: %q %v", tc.dir, msg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v\nwant %q", tc.dir, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 || entries[0].Name() != "a-file" {
		t.Errorf("the check left %v", entries)
	}
}
