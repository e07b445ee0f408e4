package owndir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/fault"
	"neurons-connector/internal/owndir"
	"neurons-connector/sink"
	"neurons-connector/store"
)

func fill(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if strings.HasSuffix(n, "/") {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// NC_DATA_DIR=/var/lib (or /srv, a home, C:\ProgramData) would have been
// narrowed to 0700, and given whole to the service's account by install:
// a folder that holds what is not the program's, and no database, is
// refused, naming what it holds and the fix; one of the program's own, or
// one that holds the database already, is taken.
func TestADataDirectoryMustBeAFolderOfItsOwn(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		name  string
		files []string
		other string // "" when it is taken
	}{
		{"missing", nil, ""},
		{"empty", []string{}, ""},
		{"the program's files", []string{"secret.key", "csvstate/", "csv/", "daemon.sock", "daemon.pipe", "daemon.pipe.tmp", "control.token",
			"daemon.json", ".spill-c_1-r_2", "neurons-connector.db.restore", "neurons-connector.db.schema-v3.bak", "lost+found/", "desktop.ini"}, ""},
		{"the database beside the admin's files", []string{store.FileName, "backup-before-upgrade.db", "notes.txt"}, ""},
		{"another service's folder", []string{"secret.key", "postgresql/"}, "postgresql"},
		{"a home", []string{".bashrc"}, ".bashrc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.files != nil {
				if err := os.Mkdir(dir, 0o750); err != nil {
					t.Fatal(err)
				}
				fill(t, dir, tc.files...)
			}
			err := owndir.CheckData(dir)
			if tc.other == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "the data directory "+dir+" holds "+tc.other+", which is not neurons-connector's") ||
				!strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), filepath.Join(dir, "neurons-connector")) {
				t.Fatalf("error %v", err)
			}
			if !errors.Is(err, fault.ErrBadInput) {
				t.Errorf("not bad input (exit 2): %v", err)
			}
			// AdoptData refuses it before it narrows anything.
			before, _ := os.Stat(dir)
			if err := owndir.AdoptData(dir); err == nil {
				t.Error("AdoptData took it")
			}
			if fi, _ := os.Stat(dir); fi.Mode() != before.Mode() {
				t.Errorf("its mode changed from %v to %v", before.Mode(), fi.Mode())
			}
		})
	}
}

// The names owndir claims are the ones the packages that write them use.
func TestTheNamesAreThePrograms(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, sink.CSVStateDir+"/", filepath.Base(store.PathIn(dir)), "csv/")
	if err := owndir.CheckData(dir); err != nil {
		t.Fatal(err)
	}
	if owndir.Database != store.FileName {
		t.Errorf("owndir.Database %q, store.FileName %q", owndir.Database, store.FileName)
	}
}

// The CSV drop's folder: the drop's files and their temporary copies are
// its own; anything else makes it someone else's.
func TestTheDropsFolder(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, filepath.Base(sink.DropPath(dir, "Okta prod")), ".c_01J9-users.csv.123456", ".neurons-connector-check.42")
	if other, err := owndir.ForeignDrop(dir); other != "" || err != nil {
		t.Fatalf("the drop's own files: %q %v", other, err)
	}
	fill(t, dir, "payroll.xlsx")
	if other, err := owndir.ForeignDrop(dir); other != "payroll.xlsx" || err != nil {
		t.Errorf("another file: %q %v", other, err)
	}
	if other, err := owndir.ForeignDrop(filepath.Join(dir, "missing")); other != "" || err != nil {
		t.Errorf("no folder: %q %v", other, err)
	}
}

// A settings file's folder is its own when it holds nothing else: the
// file, an editor's or a package manager's copies of it, or nothing yet.
func TestTheSettingsFilesFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nc.env")
	if other, err := owndir.ForeignBeside(file); other != "" || err != nil {
		t.Fatalf("an empty folder: %q %v", other, err)
	}
	fill(t, dir, "nc.env", "nc.env~", "nc.env.bak", "nc.env.dpkg-old", ".nc.env.swp")
	if other, err := owndir.ForeignBeside(file); other != "" || err != nil {
		t.Fatalf("the file and its copies: %q %v", other, err)
	}
	fill(t, dir, "00-site.sh")
	if other, err := owndir.ForeignBeside(file); other != "00-site.sh" || err != nil {
		t.Errorf("another program's file: %q %v", other, err)
	}
	if other, err := owndir.ForeignBeside(filepath.Join(dir, "missing", "nc.env")); other != "" || err != nil {
		t.Errorf("no folder: %q %v", other, err)
	}
}
