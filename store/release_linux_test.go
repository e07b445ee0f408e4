//go:build linux

package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// mappedOf is how much of the file at path this process has mapped in
// memory (the Rss of its mappings in /proc/self/smaps).
func mappedOf(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, path) // a mapping's header line names its file last
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			total += kb << 10
		}
	}
	return total
}

// A run that reads all over a large snapshot keeps its pages mapped,
// counted in its resident memory; TrimMapped lets them go once the
// process maps more than its limit, and reads find the same data after.
func TestTrimMappedLetsTheReadPagesGo(t *testing.T) {
	db := openTemp(t)
	const users = 40000
	for start := 0; start < users; start += 10000 {
		err := db.Update(func(tx *Tx) error {
			for i := start; i < start+10000; i++ {
				id := fmt.Sprintf("00u%017d", i)
				if err := tx.PutSnapshot("c1", id, Snapshot{Status: "ACTIVE", Managers: strings.Repeat("m", 200)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func() {
		t.Helper()
		n := 0
		err := db.View(func(tx *Tx) error {
			return tx.ForEachSnapshot("c1", func(_ string, s Snapshot) error {
				if s.Status != "ACTIVE" || len(s.Managers) != 200 {
					return fmt.Errorf("read back %+v", s)
				}
				n++
				return nil
			})
		})
		if err != nil || n != users {
			t.Fatalf("read %d users back: %v", n, err)
		}
	}
	read()
	path := db.path
	before := mappedOf(t, path)
	if before < 5<<20 {
		t.Fatalf("only %d KB of the database mapped after reading all of it: the test measures nothing", before>>10)
	}
	db.TrimMapped(1 << 40) // under the limit: nothing changes
	if got := mappedOf(t, path); got < before/2 {
		t.Errorf("under its limit, TrimMapped let %d of %d KB go", (before-got)>>10, before>>10)
	}
	db.TrimMapped(0)
	if got := mappedOf(t, path); got > before/10 {
		t.Errorf("%d KB of the database still mapped after TrimMapped, %d KB before", got>>10, before>>10)
	}
	read() // the same data, from the file cache
	err := db.View(func(tx *Tx) error {
		tx.TrimMapped(0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read()
}

// Letting the pages go while another goroutine writes (growing the file,
// so that bbolt maps it anew) and a third reads changes nothing a reader
// sees, and waits on no one: the engine trims between its transactions
// while the pusher reads and writes the outbox.
func TestTrimMappedBesideWritersAndReaders(t *testing.T) {
	db := openTemp(t)
	const rounds, per = 40, 500
	done := make(chan error, 3)
	go func() { // the writer: every round's users, each with its round in Managers
		for r := range rounds {
			err := db.Update(func(tx *Tx) error {
				for i := range per {
					if err := tx.PutSnapshot("c1", fmt.Sprintf("00u%05d%012d", r, i), Snapshot{Status: "ACTIVE", Managers: fmt.Sprintf("%0200d", r)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() { // the reader: whatever it sees is whole
		for range rounds {
			err := db.View(func(tx *Tx) error {
				tx.TrimMapped(0)
				return tx.ForEachSnapshot("c1", func(id string, s Snapshot) error {
					if want := fmt.Sprintf("%0200d", mustAtoi(id[3:8])); s.Managers != want || s.Status != "ACTIVE" {
						return fmt.Errorf("user %s read back as %q, %q", id, s.Status, s.Managers[:min(len(s.Managers), 20)])
					}
					return nil
				})
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() { // the run between its transactions
		for range rounds * 4 {
			db.TrimMapped(0)
		}
		done <- nil
	}()
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := db.View(func(tx *Tx) error {
		return tx.ForEachSnapshot("c1", func(string, Snapshot) error { n++; return nil })
	}); err != nil || n != rounds*per {
		t.Fatalf("%d users at the end (%v), want %d", n, err, rounds*per)
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
