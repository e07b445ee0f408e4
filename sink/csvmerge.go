package sink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"slices"

	"neurons-connector/internal/private"
)

// mergeState folds the journal's segments into the state at path: a
// streaming merge of the state's rows (sorted by ID) with every segment
// (each sorted by ID; of an ID in several, the latest segment's record
// wins), written to a temporary file that replaces the state. Memory does
// not grow with the tenant: one row of the state and one record per
// segment at a time. Folding the same journal in twice gives the same
// state, so a final batch sent again after a crash is harmless.
func mergeState(path string, j *journal) error {
	if j.records() == 0 {
		return nil
	}
	old, err := openState(path)
	if err != nil {
		return err
	}
	defer old.close()

	set := map[string]bool{}
	if old != nil {
		for _, c := range old.cols {
			set[c] = true
		}
	}
	for _, s := range j.segs {
		for _, c := range s.cols {
			set[c] = true
		}
	}
	cols := slices.Sorted(maps.Keys(set))
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		index[c] = i
	}
	counts := make([]int, len(cols))
	var oldToNew []int
	if old != nil {
		for c, n := range old.counts {
			if i, ok := index[c]; ok {
				counts[i] = n
			}
		}
		for _, c := range old.cols {
			oldToNew = append(oldToNew, index[c])
		}
	}

	jf, err := private.OpenOwn(j.path, os.O_RDONLY, 0) // a link planted in its place is not followed
	if err != nil {
		return err
	}
	defer func() { _ = jf.Close() }()
	var src io.ReaderAt = jf
	segs := j.segs
	for len(segs) > fanIn {
		runs, f, err := mergeRuns(path, src, segs)
		if f != nil {
			defer func() { _ = f.Close(); _ = os.Remove(f.Name()) }()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", j.path, err)
		}
		src, segs = f, runs
	}
	m, err := newSegMerge(src, segs, index)
	if err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}

	out, err := newStateWriter(path)
	if err != nil {
		return err
	}
	defer out.discard()
	out.header(cols)
	var rows *rowReader
	if old != nil {
		rows = old.rows()
		if _, err := rows.next(); err != nil { // the header
			return err
		}
	}
	cur, curID, err := nextRow(rows)
	if err != nil {
		return err
	}
	same := old != nil && slices.Equal(old.cols, cols)
	cells := make([][]byte, len(cols)+1)
	var oldCells [][]byte
	for cur != nil || m.peek() != nil {
		if next := m.peek(); next == nil || (cur != nil && bytes.Compare(curID, next) < 0) {
			// A user no segment touches: as it was.
			if same {
				out.raw(cur)
			} else {
				clear(cells)
				oldCells = splitRow(cur, oldCells[:0])
				cells[0] = oldCells[0]
				for i := 1; i < len(oldCells) && i <= len(oldToNew); i++ {
					cells[1+oldToNew[i-1]] = oldCells[i]
				}
				out.row(cells)
			}
			if cur, curID, err = nextRow(rows); err != nil {
				return err
			}
			continue
		}
		// The segments' records of the next ID: the latest segment's wins.
		win := m.take()
		id := win.id
		if cur != nil && bytes.Equal(curID, id) {
			oldCells = splitRow(cur, oldCells[:0])
			for i := 1; i < len(oldCells) && i <= len(oldToNew); i++ {
				if len(oldCells[i]) > 0 {
					counts[oldToNew[i-1]]--
				}
			}
			if cur, curID, err = nextRow(rows); err != nil {
				return err
			}
		}
		if win.op == opUpsert {
			clear(cells)
			cells[0] = id
			for _, c := range win.cells {
				cells[1+c.col] = c.text
				counts[c.col]++
			}
			out.row(cells)
		}
		if err := m.advance(); err != nil {
			return fmt.Errorf("%s: %w", j.path, err)
		}
	}
	old.close()
	if err := out.commit(cols, counts); err != nil {
		return err
	}
	if slices.Contains(counts, 0) {
		return dropEmptyColumns(path)
	}
	return nil
}

func nextRow(rows *rowReader) ([]byte, []byte, error) {
	if rows == nil {
		return nil, nil, nil
	}
	row, err := rows.next()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return row, idOf(row), nil
}

// dropEmptyColumns rewrites the state without the columns no user has a
// value in any more (a target the mapping no longer fills, say): the only
// time every row is rewritten cell by cell.
func dropEmptyColumns(path string) error {
	old, err := openState(path)
	if err != nil || old == nil {
		return err
	}
	defer old.close()
	var keep []int
	var cols []string
	var counts []int
	for i, c := range old.cols {
		if n := old.counts[c]; n > 0 {
			keep, cols, counts = append(keep, i), append(cols, c), append(counts, n)
		}
	}
	out, err := newStateWriter(path)
	if err != nil {
		return err
	}
	defer out.discard()
	rows := old.rows()
	cells := make([][]byte, len(cols)+1)
	var oldCells [][]byte
	if _, err := rows.next(); err != nil {
		return err
	}
	out.header(cols)
	for {
		row, err := rows.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		oldCells = splitRow(row, oldCells[:0])
		clear(cells)
		cells[0] = oldCells[0]
		for i, k := range keep {
			if 1+k < len(oldCells) {
				cells[1+i] = oldCells[1+k]
			}
		}
		out.row(cells)
	}
	old.close()
	return out.commit(cols, counts)
}

// stateWriter writes a new state next to the old one and puts it in its
// place once whole and synced; a state without rows is removed instead.
type stateWriter struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	buf    []byte
	length int64
	rows   int
	err    error
}

func newStateWriter(path string) (*stateWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	return &stateWriter{path: path, f: f, w: bufio.NewWriterSize(f, 1<<18), rows: -1}, nil
}

func (s *stateWriter) raw(row []byte) {
	s.write(row)
}

func (s *stateWriter) header(cols []string) {
	cells := [][]byte{[]byte("SourceID")}
	for _, c := range cols {
		cells = append(cells, []byte(c))
	}
	s.row(cells)
}

func (s *stateWriter) row(cells [][]byte) {
	s.buf = appendRow(s.buf[:0], cells)
	s.write(s.buf)
}

func (s *stateWriter) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
	s.length += int64(len(b))
	s.rows++
}

// commit writes the trailer, syncs and renames.
func (s *stateWriter) commit(cols []string, counts []int) error {
	if s.rows == 0 {
		s.discard()
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	t, err := appendTrailer(nil, s.length, cols, counts)
	if err != nil {
		return err
	}
	s.write(t)
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err == nil {
		s.err = s.f.Sync()
	}
	if cerr := s.f.Close(); s.err == nil {
		s.err = cerr
	}
	if s.err != nil {
		return fmt.Errorf("write %s: %w", s.path, s.err)
	}
	if err := robustio.Rename(s.f.Name(), s.path); err != nil {
		return err
	}
	s.f = nil
	return private.Inherit(s.path)
}

// discard removes the temporary file unless commit renamed it.
func (s *stateWriter) discard() {
	if s.f != nil {
		_ = s.f.Close()
		_ = os.Remove(s.f.Name())
		s.f = nil
	}
}

// segHeap orders segment readers by their current record's ID.
type segHeap []*segReader

func (h segHeap) Len() int { return len(h) }
func (h segHeap) Less(a, b int) bool {
	if c := bytes.Compare(h[a].cur.id, h[b].cur.id); c != 0 {
		return c < 0
	}
	return h[a].idx < h[b].idx
}
func (h segHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *segHeap) Push(x any)   { *h = append(*h, x.(*segReader)) }
func (h *segHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
