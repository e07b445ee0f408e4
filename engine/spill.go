package engine

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"neurons-connector/mapping"
)

// spill holds, on disk, the users whose manager was not yet known when
// they were mapped (a report listed before its manager). At the end of the
// pass every user has been seen, so their manager attributes can be filled
// in from the snapshot and the complete record queued. A gzip stream keeps
// the file small; it is removed when the pass ends, and stale ones (from a
// crash) when the next run starts.
type spill struct {
	path string
	f    *os.File
	zw   *gzip.Writer
	enc  *json.Encoder
	n    int
}

type spilled struct {
	ID     string               `json:"id"`
	Status string               `json:"status"`
	Known  bool                 `json:"known"`
	Attrs  json.RawMessage      `json:"attrs"`
	Refs   []mapping.ManagerRef `json:"refs"`
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
	zw := gzip.NewWriter(f)
	return &spill{path: path, f: f, zw: zw, enc: json.NewEncoder(zw)}, nil
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
	return s.enc.Encode(e)
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
	dec := json.NewDecoder(zr)
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
