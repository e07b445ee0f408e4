package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	gojson "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"

	"neurons-connector/internal/jsonstr"
	"neurons-connector/mapping"
)

// spill holds, on disk, the users whose manager was not yet known when
// they were mapped (a report listed before its manager). At the end of the
// pass every user has been seen, so their manager attributes can be filled
// in from the snapshot and the complete record queued. A gzip stream keeps
// the file small; it is removed when the pass ends, and stale ones (from a
// crash) when the next run starts. Entries are written by hand, a line
// each, and gzipped at level 1: the attributes are the mapping's canonical
// JSON already, which encoding/json would check and compact byte by byte
// again, and the default level cost several times level 1 for a file that
// lives for one run.
type spill struct {
	path string
	f    *os.File
	zw   *gzip.Writer
	line []byte
	n    int
}

type spilled struct {
	ID    string               `json:"id"`
	Known bool                 `json:"known"`
	Attrs json.RawMessage      `json:"attrs"`
	Refs  []mapping.ManagerRef `json:"refs"` // its fields under their Go names
}

const spillPrefix = ".spill-"

func newSpill(dir, connID, runID string) (*spill, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, spillPrefix+connID+"-"+runID)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed) // a valid level: no error
	return &spill{path: path, f: f, zw: zw}, nil
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
	b := append(s.line[:0], `{"id":`...)
	b = jsonstr.Append(b, e.ID)
	b = append(b, `,"known":`...)
	if e.Known {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"attrs":`...)
	b = append(b, e.Attrs...)
	b = append(b, `,"refs":[`...)
	for i, r := range e.Refs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Target":`...)
		b = jsonstr.Append(b, r.Target)
		b = append(b, `,"Field":`...)
		b = jsonstr.Append(b, r.Field)
		b = append(b, `,"ID":`...)
		b = jsonstr.Append(b, r.ID)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	s.line = b
	_, err := s.zw.Write(b)
	return err
}

// each reads the entries back in the order they were added.
func (s *spill) each(fn func(spilled) error) error {
	if err := s.zw.Close(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	if s.n == 0 {
		return nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	zr, err := gzip.NewReader(bufio.NewReader(s.f))
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	dec := gojson.NewDecoder(zr)
	for {
		var e spilled
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func (s *spill) close() {
	_ = s.f.Close()
	_ = os.Remove(s.path)
}
