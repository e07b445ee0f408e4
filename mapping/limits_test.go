package mapping_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
)

// A wrong file given as a table (a 300 MB export, a device, one enormous
// line) costs little memory and a few short lines of messages.
func TestOversizedTablesAreRefusedBriefly(t *testing.T) {
	fsys := fstest.MapFS{
		"big.csv": {Data: bytes.Repeat([]byte("a"), mapping.MaxTableSize+1)},
		"dir.csv": {Mode: os.ModeDir},
	}
	for name, want := range map[string]string{"big.csv": "larger than 1 MiB", "dir.csv": "is a directory"} {
		if _, err := mapping.ReadTable(fsys, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if runtime.GOOS == "linux" {
		if _, err := mapping.ReadTable(os.DirFS("/dev"), "zero"); err == nil || !strings.Contains(err.Error(), "is a device") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
	cat := builtinSource(t).Catalog
	wide := strings.Repeat("x", 300_000) + "\n"
	longCell := "target,source,transform,notes\nUser.Email," + strings.Repeat("p", 5000) + ",,\n"
	for name, data := range map[string]string{"wide": wide, "long cell": longCell} {
		_, err := mapping.Parse(cat, okta.Spec, name, []byte(data))
		var ps mapping.Problems
		if !errors.As(err, &ps) || len(err.Error()) > 400 {
			t.Errorf("%s: %d bytes of messages: %.200s", name, len(fmt.Sprint(err)), err)
		}
	}
	var b strings.Builder
	b.WriteString("target,source,transform,notes\n")
	for i := range mapping.MaxRows + 3 {
		fmt.Fprintf(&b, "User.Nope%d,profile.a,,\n", i)
	}
	_, err := mapping.Parse(cat, okta.Spec, "rows.csv", []byte(b.String()))
	var ps mapping.Problems
	if !errors.As(err, &ps) || !strings.Contains(ps[0].Msg, "more than 5000 rows") || ps.Count() != mapping.MaxRows+1 ||
		!strings.Contains(ps[len(ps)-1].Msg, "more problems not shown") {
		t.Errorf("%d problems listed, %d counted; first %q", len(ps), ps.Count(), ps[0].Msg)
	}
}
