//go:build !linux

package store

// TrimMapped does nothing here: see release_linux.go. Windows counts a
// mapped file's pages in the working set too, but trims the working set
// by itself under memory pressure.
func (d *DB) TrimMapped(_ int64) {}

// TrimMapped does nothing here: see DB.TrimMapped.
func (t *Tx) TrimMapped(_ int64) {}
