package store

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkReportsScan measures the scan a run makes to find the reports
// of managers whose fields changed (engine/reread.go), over 300,000 users
// who each name a manager: ForEachManaged, which reads only the managers
// of each entry, against ForEachSnapshot, which decodes every field.
//
//	go test -run '^$' -bench ReportsScan -benchtime 3x ./store
func BenchmarkReportsScan(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), FileName), Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	const users = 300_000
	for start := 0; start < users; start += 10_000 {
		err := db.Update(func(tx *Tx) error {
			for i := start; i < start+10_000; i++ {
				s := Snapshot{Hash: [16]byte{1}, Status: "ACTIVE", Name: "Ada Lovelace", Email: "ada.lovelace@example.com",
					Phone: "+1 555 0100", State: "\x01\x02\x03\x04\x05\x06", Queued: 1795000000, Managers: fmt.Sprintf("00uabcdefg%010d", i/7)}
				if err := tx.PutSnapshot("c1", fmt.Sprintf("00uabcdefg%010d", i), s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	changed := map[string]bool{"00uabcdefg0000000042": true}
	b.Run("ForEachManaged", func(b *testing.B) {
		for range b.N {
			n := 0
			_ = db.View(func(tx *Tx) error {
				return tx.ForEachManaged("c1", func(_, m []byte) error {
					if changed[string(m)] {
						n++
					}
					return nil
				})
			})
			if n != 7 {
				b.Fatalf("%d reports", n)
			}
		}
	})
	b.Run("ForEachSnapshot", func(b *testing.B) {
		for range b.N {
			n := 0
			_ = db.View(func(tx *Tx) error {
				return tx.ForEachSnapshot("c1", func(_ string, s Snapshot) error {
					if changed[s.Managers] {
						n++
					}
					return nil
				})
			})
			if n != 7 {
				b.Fatalf("%d reports", n)
			}
		}
	})
}
