package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"neurons-connector/internal/private"
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
	metaFreelist = metaFields + 32
	metaPages    = metaFields + 40
	metaTxID     = metaFields + 48
	metaChecksum = metaFields + 56
	boltMagic    = 0xED0CDAED

	pageFlagsAt  = 8 // a page header: id, flags, count, overflow
	pageCountAt  = 10
	pageOverAt   = 12
	freelistFlag = 0x10
	noFreelist   = ^uint64(0)
)

type metaPage struct {
	ok       bool
	pageSize int
	freelist uint64 // its page; noFreelist when the database keeps none
	pages    uint64 // the high-water mark: pages below it are in use or free
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
	return metaPage{ok: true, pageSize: int(binary.LittleEndian.Uint32(b[metaPageSize:])),
		freelist: binary.LittleEndian.Uint64(b[metaFreelist:]), pages: binary.LittleEndian.Uint64(b[metaPages:]),
		txid: binary.LittleEndian.Uint64(b[metaTxID:])}
}

// readMetas reads both meta pages and orders them: current is the one
// bbolt opens the file at (of the sound ones, the later transaction's),
// before the other; at is where current lies in the file.
func readMetas(f *os.File) (current, before metaPage, at int64) {
	m0 := readMeta(f, 0)
	size := m0.pageSize
	if !m0.ok {
		size = os.Getpagesize()
	}
	m1 := readMeta(f, int64(size))
	if !m0.ok || m1.ok && m1.txid > m0.txid {
		return m1, m0, int64(size)
	}
	return m0, m1, 0
}

// currentMeta is the meta page bbolt opens the file at.
func currentMeta(f *os.File) metaPage {
	m, _, _ := readMetas(f)
	return m
}

// freelistProblem says what is wrong with the current meta page's list of
// free pages, read straight from the file: "" when it is sound. bbolt
// reads that list only when it opens a file to write it (and panicked on
// garbage there), and trusts it: a free page that is in use would be
// written over. bbolt's own check (Tx.Check) would say more, but it reads
// pages in a goroutine of its own, where a page number past the end of
// the file is a fault that ends the program rather than a panic.
func freelistProblem(path string) string {
	f, err := os.Open(path) //nolint:gosec // G304: the admin's own data directory
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	m := currentMeta(f)
	if !m.ok || m.freelist == noFreelist {
		return ""
	}
	if m.freelist < 2 || m.freelist >= m.pages {
		return fmt.Sprintf("the list of free pages is at page %d, outside the file's %d pages", m.freelist, m.pages)
	}
	head := make([]byte, m.pageSize)
	if _, err := f.ReadAt(head, int64(m.freelist)*int64(m.pageSize)); err != nil {
		return fmt.Sprintf("the list of free pages does not read: %v", err)
	}
	if id := binary.LittleEndian.Uint64(head); id != m.freelist || binary.LittleEndian.Uint16(head[pageFlagsAt:]) != freelistFlag {
		return fmt.Sprintf("the list of free pages (page %d) is damaged: its page is not a list of free pages", m.freelist)
	}
	count, start := uint64(binary.LittleEndian.Uint16(head[pageCountAt:])), int64(16)
	if count == 0xFFFF { // the real count is the list's first element
		count, start = binary.LittleEndian.Uint64(head[16:]), 24
	}
	overflow := uint64(binary.LittleEndian.Uint32(head[pageOverAt:]))
	if m.freelist+overflow >= m.pages || start+int64(count)*8 > int64(overflow+1)*int64(m.pageSize) {
		return fmt.Sprintf("the list of free pages (page %d) is damaged: it claims %d pages", m.freelist, count)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(m.freelist)*int64(m.pageSize)+start); err != nil {
		return fmt.Sprintf("the list of free pages does not read: %v", err)
	}
	prev := uint64(1)
	for i := range count {
		id := binary.LittleEndian.Uint64(ids[i*8:])
		if id <= prev || id >= m.pages {
			return fmt.Sprintf("the list of free pages (page %d) is damaged: it lists page %d", m.freelist, id)
		}
		prev = id
	}
	return ""
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
	m, before, current := readMetas(src)
	if !m.ok || !before.ok {
		return "", 0, nil // one meta page only: bbolt already opens the other
	}
	to := path + ".previous"
	dst, err := private.OpenOwn(to, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600) // a link planted in its place is not followed
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
