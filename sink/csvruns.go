package sink

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// fanIn is the most segments merged at once. A full run of a large tenant
// leaves thousands of segments (one per page of users); reading them all
// at once would cost memory in proportion (a buffer each), so groups of
// fanIn are first merged into runs, as an external sort does, and the
// state is merged with the runs. Memory stays flat; a pass over the
// journal is the price, paid only past fanIn segments. (A variable for
// the tests, which merge in pairs to go through several levels.)
var fanIn = 64

// segBuffer is each segment reader's read buffer.
const segBuffer = 32 << 10

// segMerge walks segments in ID order. For an ID in several segments, the
// latest segment's record wins, as applying the batches in order would.
type segMerge struct {
	h     segHeap
	group []*segReader // the readers of the ID taken last
}

// newSegMerge reads segs from src, their columns numbered by index.
func newSegMerge(src io.ReaderAt, segs []segment, index map[string]int) (*segMerge, error) {
	m := &segMerge{}
	for i, s := range segs {
		sr := &segReader{r: bufio.NewReaderSize(io.NewSectionReader(src, s.off, s.end-s.off), segBuffer), left: s.records, idx: i}
		for _, c := range s.cols {
			sr.cols = append(sr.cols, index[c])
		}
		ok, err := sr.next()
		if err != nil {
			return nil, err
		}
		if ok {
			m.h = append(m.h, sr)
		}
	}
	heap.Init(&m.h)
	return m, nil
}

// peek is the smallest ID not taken yet; nil at the end.
func (m *segMerge) peek() []byte {
	if len(m.h) == 0 {
		return nil
	}
	return m.h[0].cur.id
}

// take returns the winning record of the smallest ID, valid until advance.
func (m *segMerge) take() *entry {
	m.group = append(m.group[:0], heap.Pop(&m.h).(*segReader))
	id := m.group[0].cur.id
	for len(m.h) > 0 && bytes.Equal(m.h[0].cur.id, id) {
		m.group = append(m.group, heap.Pop(&m.h).(*segReader))
	}
	win := m.group[0]
	for _, sr := range m.group[1:] {
		if sr.idx > win.idx {
			win = sr
		}
	}
	return &win.cur
}

// advance moves the readers of the last ID taken on.
func (m *segMerge) advance() error {
	for _, sr := range m.group {
		ok, err := sr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Push(&m.h, sr)
		}
	}
	m.group = m.group[:0]
	return nil
}

// mergeRuns merges segs of src in groups of fanIn into runs, written to a
// new temporary file beside the state at path, which the caller closes and
// removes. A run is a segment without its header: the group's records, one
// per ID.
func mergeRuns(path string, src io.ReaderAt, segs []segment) ([]segment, *os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".runs.*")
	if err != nil {
		return nil, nil, err
	}
	w := bufio.NewWriterSize(f, 1<<18)
	var runs []segment
	var off int64
	var buf, rec []byte
	for g := 0; g < len(segs); g += fanIn {
		group := segs[g:min(g+fanIn, len(segs))]
		index := map[string]int{}
		run := segment{off: off}
		for _, s := range group {
			for _, c := range s.cols {
				if _, ok := index[c]; !ok {
					index[c] = len(run.cols)
					run.cols = append(run.cols, c)
				}
			}
		}
		m, err := newSegMerge(src, group, index)
		if err != nil {
			return nil, f, err
		}
		for m.peek() != nil {
			e := m.take()
			buf, rec = appendEntry(buf[:0], rec, e)
			if _, err := w.Write(buf); err != nil {
				return nil, f, err
			}
			off += int64(len(buf))
			run.records++
			if err := m.advance(); err != nil {
				return nil, f, err
			}
		}
		run.end = off
		runs = append(runs, run)
	}
	if err := w.Flush(); err != nil {
		return nil, f, fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return runs, f, nil
}

// appendEntry encodes a record as segments hold it, its length first;
// rec is scratch space.
func appendEntry(b, rec []byte, e *entry) ([]byte, []byte) {
	rec = binary.AppendUvarint(rec[:0], uint64(len(e.id)))
	rec = append(rec, e.id...)
	rec = append(rec, e.op)
	if e.op == opUpsert {
		rec = binary.AppendUvarint(rec, uint64(len(e.cells)))
		for _, c := range e.cells {
			rec = binary.AppendUvarint(rec, uint64(c.col))
			rec = binary.AppendUvarint(rec, uint64(len(c.text)))
			rec = append(rec, c.text...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(rec)))
	return append(b, rec...), rec
}
