package engine

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/s2"

	"neurons-connector/mapping"
	"neurons-connector/store"
)

// spill holds, on disk, the users whose manager was not yet known when
// they were mapped (a report listed before its manager). At the end of the
// pass every user has been seen, so their manager attributes can be filled
// in from the snapshot and the complete record queued. It is removed when
// the pass ends, and stale ones (from a crash) when the next run starts.
//
// In a real org about half the reports come before their managers (Okta's
// listing has no order), so a first full run may spill most of its users:
// the file is the pass's own, written and read back by the same build, so
// its entries are lengths and bytes, not JSON, and it is compressed with S2
// (a quarter of the size at a tenth of gzip's CPU). As JSON through gzip
// an entry cost 47 µs, more than the rest of the user's run
// (BenchmarkSpill).
type spill struct {
	path string
	f    *os.File
	zw   *s2.Writer
	line []byte
	n    int
}

type spilled struct {
	ID    string
	Known bool
	Attrs json.RawMessage
	Refs  []mapping.ManagerRef
}

// maxSpilled bounds a length read back from a spill file: a damaged file
// fails the pass instead of asking for gigabytes.
const maxSpilled = 64 << 20

const spillPrefix = ".spill-"

func newSpill(dir, connID, runID string) (*spill, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, spillPrefix+connID+"-"+runID)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", store.Space(spillFile, path, err))
	}
	return &spill{path: path, f: f, zw: s2.NewWriter(f, s2.WriterConcurrency(1))}, nil
}

// removeStaleSpills deletes the spill files a crashed run of the connector
// left behind (other connectors' runs may be using theirs).
func removeStaleSpills(dir, connID string) {
	if dir == "" {
		dir = os.TempDir()
	}
	matches, _ := filepath.Glob(filepath.Join(dir, spillPrefix+connID+"-*"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

func (s *spill) add(e spilled) error {
	s.n++
	b := appendField(s.line[:0], e.ID)
	if e.Known {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Refs)))
	for _, r := range e.Refs {
		b = appendField(appendField(appendField(b, r.Target), r.Field), r.ID)
	}
	b = append(binary.AppendUvarint(b, uint64(len(e.Attrs))), e.Attrs...) // not through a string: a copy less
	s.line = b
	if _, err := s.zw.Write(b); err != nil {
		return store.Space(spillFile, s.path, err)
	}
	return nil
}

// spillFile names the spill file in errors: a full disk refuses it first
// when a real org's first run holds half its reports back.
const spillFile = "the file of reports waiting for their managers"

// appendField appends v as its length and its bytes.
func appendField(b []byte, v string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// each reads the entries back in the order they were added.
func (s *spill) each(fn func(spilled) error) error {
	if err := s.zw.Close(); err != nil {
		return fmt.Errorf("spill: %w", store.Space(spillFile, s.path, err))
	}
	if s.n == 0 {
		return nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	r := bufio.NewReader(s2.NewReader(s.f))
	for n := 0; ; n++ {
		e, err := readSpilled(r)
		if errors.Is(err, io.EOF) && n == s.n {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spill: entry %d of %d: %w", n+1, s.n, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// readSpilled reads one entry; io.EOF when there is none left.
func readSpilled(r *bufio.Reader) (spilled, error) {
	var e spilled
	id, err := readField(r)
	if err != nil {
		return e, err // io.EOF here is the end of the entries
	}
	e.ID = string(id)
	known, err := r.ReadByte()
	if err != nil {
		return e, io.ErrUnexpectedEOF
	}
	e.Known = known == 1
	refs, err := binary.ReadUvarint(r)
	if err != nil || refs > 1024 {
		return e, errors.New("damaged entry")
	}
	for range refs {
		var f [3][]byte
		for k := range f {
			if f[k], err = readField(r); err != nil {
				return e, io.ErrUnexpectedEOF
			}
		}
		e.Refs = append(e.Refs, mapping.ManagerRef{Target: string(f[0]), Field: string(f[1]), ID: string(f[2])})
	}
	if e.Attrs, err = readField(r); err != nil {
		return e, io.ErrUnexpectedEOF
	}
	return e, nil
}

// readField reads a length and that many bytes.
func readField(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case err != nil || n > maxSpilled:
		return nil, errors.New("damaged entry")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

func (s *spill) close() {
	_ = s.f.Close()
	_ = os.Remove(s.path)
}
