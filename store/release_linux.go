//go:build linux

package store

import (
	"bytes"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// TrimMapped drops this process's mapping of the database file's pages
// (madvise MADV_DONTNEED) when the process has more than limit bytes of
// files mapped in memory. The kernel's file cache keeps the pages: a read
// of one afterwards maps it again from the cache, without the disk. bbolt
// reads through a shared read-only mapping of the file and writes with
// pwrite, so nothing is lost and no reader sees older data.
//
// Mapped pages count in a process's resident memory, and a pass that reads
// all over a large snapshot (a real org's first full run, whose reports'
// managers are anywhere in the listing, then completing the reports that
// came first) would otherwise add the whole file to its peak: 315 MB at
// 1,000,000 users, the file 185 MB of it. Held in a read transaction, so
// that bbolt cannot remap the file meanwhile.
func (d *DB) TrimMapped(limit int64) {
	if mappedBytes() <= limit {
		return
	}
	_ = d.bolt.View(func(tx *bolt.Tx) error { release(d.bolt, tx); return nil })
}

// TrimMapped is DB.TrimMapped within a transaction, for a long read that
// walks the snapshot (a new transaction there could wait for a writer that
// waits for this one).
func (t *Tx) TrimMapped(limit int64) {
	if mappedBytes() > limit {
		release(t.db.bolt, t.tx)
	}
}

// release drops the mapping of the pages of the file tx reads: bbolt cannot
// remap the file while tx is open.
func release(db *bolt.DB, tx *bolt.Tx) {
	// Passed as numbers, not a slice: the mapping is bbolt's, and Info
	// gives only its address. An error leaves the pages mapped.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), unix.MADV_DONTNEED) //nolint:gosec // G115: a file size is positive
}

// mappedBytes is how much of the process's resident memory is shared
// (files mapped, the program's own included), from /proc/self/statm; 0
// when it cannot be read.
func mappedBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
