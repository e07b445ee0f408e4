package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A damaged copy (a backup on a disk that lost a write, a copy garbled in
// transit) is refused with what is wrong and what to do, never a crash,
// and the database in place stays as it was.
func TestRestoreRefusesADamagedCopy(t *testing.T) {
	good, key := populated(t)
	pristine, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pages := len(pristine) / testPageSize
	rng := rand.New(rand.NewPCG(23, uint64(pages)))
	dir, path, inPlace := emptyDatabase(t)
	refused := 0
	for i := range 40 {
		data := bytes.Clone(pristine)
		for range 1 + rng.IntN(4) {
			pg := 2 + rng.IntN(pages-2) // the meta pages are bbolt's to check
			off := pg*testPageSize + rng.IntN(testPageSize-64)
			if rng.IntN(2) == 0 {
				off = pg * testPageSize // the header
			}
			for j := range 64 {
				data[off+j] = byte(rng.Uint32())
			}
		}
		from := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(from, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Restore{Path: path, From: from, Key: key, Now: time.Now()}.Run()
		if err == nil {
			// Damage where nothing live was (a freed page): restored whole.
			if rep, cerr := (Salvage{Path: path}).Run(); cerr != nil || !rep.Sound() {
				t.Fatalf("round %d: a damaged copy was put in place: %+v %v", i, rep.Problems, cerr)
			}
			if err := os.WriteFile(path, inPlace, 0o600); err != nil {
				t.Fatal(err)
			}
			kept, _ := filepath.Glob(path + ".before-restore-*")
			for _, k := range kept {
				_ = os.Remove(k)
			}
			continue
		}
		refused++
		if !strings.Contains(err.Error(), "damaged") || !errors.Is(err, ErrBadCopy) {
			t.Errorf("round %d: %v", i, err)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, inPlace) {
			t.Fatalf("round %d: a refused restore changed the database", i)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("round %d: a refused restore left files: %v", i, entries)
		}
	}
	if refused == 0 {
		t.Error("no copy was damaged enough to refuse")
	}

	// A copy cut short (a transfer that stopped): pages past its end.
	short := filepath.Join(t.TempDir(), "short.db")
	if err := os.WriteFile(short, pristine[:len(pristine)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Restore{Path: path, From: short, Key: key, Now: time.Now()}).Run(); err == nil || !errors.Is(err, ErrBadCopy) {
		t.Errorf("a copy cut short: %v", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, inPlace) {
		t.Fatal("a refused restore changed the database")
	}
}
