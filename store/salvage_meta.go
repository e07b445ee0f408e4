package store

import (
	"encoding/binary"
	"hash/fnv"
	"io"
	"os"
)

// bbolt keeps two meta pages, at the file's first two pages, and writes
// them in turn: the one with the higher transaction ID and a good checksum
// names the current root, the other the root of the transaction before.
// The offsets below are bbolt's meta layout (format version 2): a 16-byte
// page header, then magic, version, page size, flags, the root bucket
// (root page, sequence), freelist page, page count and transaction ID, and
// an FNV-64a checksum of those 56 bytes.
const (
	metaFields   = 16
	metaPageSize = metaFields + 8
	metaTxID     = metaFields + 48
	metaChecksum = metaFields + 56
	boltMagic    = 0xED0CDAED
)

type metaPage struct {
	ok       bool
	pageSize int
	txid     uint64
}

func readMeta(f *os.File, off int64) metaPage {
	var b [metaChecksum + 8]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return metaPage{}
	}
	h := fnv.New64a()
	_, _ = h.Write(b[metaFields:metaChecksum])
	if binary.LittleEndian.Uint32(b[metaFields:]) != boltMagic || h.Sum64() != binary.LittleEndian.Uint64(b[metaChecksum:]) {
		return metaPage{}
	}
	return metaPage{ok: true, pageSize: int(binary.LittleEndian.Uint32(b[metaPageSize:])), txid: binary.LittleEndian.Uint64(b[metaTxID:])}
}

// revertedCopy copies the database at path and voids the copy's current
// meta page, so that bbolt opens it at the transaction before. It returns
// the copy's path and that transaction's ID, or "" when the file has no
// sound meta page for an earlier transaction.
func revertedCopy(path string) (string, uint64, error) {
	src, err := os.Open(path) //nolint:gosec // G304: the admin's own data directory
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = src.Close() }()
	m0 := readMeta(src, 0)
	size := m0.pageSize
	if !m0.ok {
		size = os.Getpagesize()
	}
	m1 := readMeta(src, int64(size))
	if !m0.ok || !m1.ok {
		return "", 0, nil // one meta page only: bbolt already opens the other
	}
	current, before := int64(0), m1
	if m1.txid > m0.txid {
		current, before = int64(size), m0
	}
	to := path + ".previous"
	dst, err := os.OpenFile(to, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: as above
	if err != nil {
		return "", 0, err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		_, err = dst.WriteAt(make([]byte, 4), current+metaFields) // the magic
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(to)
		return "", 0, err
	}
	return to, before.txid, nil
}
