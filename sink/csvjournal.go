package sink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"

	"neurons-connector/internal/private"
	// encoding/json's API at a fraction of the CPU, for every record of a batch
)

// The journal holds the batches of the run in progress, one segment per
// batch, until the run's final batch merges them into the state. A segment
// is the batch's records sorted by ID and already rendered as CSV cells, so
// that the merge is a streaming k-way merge that never holds more than one
// record per segment:
//
//	segment  "NCJ1" | payload length (uint32 LE) | CRC-32C of payload (uint32 LE) | payload
//	payload  str(batch key) | uvarint(columns) str(column)* | uvarint(records) record*
//	record   uvarint(length of the rest) | str(ID as its cell) | op (0 upsert, 1 delete) |
//	         upsert: uvarint(cells) (uvarint(column) str(cell))*
//	str      uvarint(length) bytes
//
// A segment is appended and synced before Push returns, so an acknowledged
// batch is never lost; a crash while appending leaves a torn segment at the
// end, which the next open cuts off (its batch was not acknowledged, so the
// outbox sends it again). A batch whose key the journal holds is not added
// twice.
type journal struct {
	path string
	size int64 // end of the last whole segment
	segs []segment
	keys map[string]bool
	// names interns the segments' column names: a large run's thousands
	// of segments name the same few dozen columns.
	names map[string]string
}

type segment struct {
	off     int64 // of the records, in the file
	end     int64
	cols    []string
	records int
}

const (
	maxSegment = 64 << 20 // far above a batch's 5 MB body, far below what a damaged length could ask
	segMagic   = "NCJ1"
	segHeader  = 12
	opUpsert   = 0
	opDelete   = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openJournal reads the journal's segment index, cutting off a torn end.
func openJournal(path string) (*journal, error) {
	j := &journal{path: path, keys: map[string]bool{}, names: map[string]string{}}
	f, err := private.OpenOwn(path, os.O_RDONLY, 0) // a link planted in its place is not followed
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	var head [segHeader]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			break // the end, or a torn header
		}
		n := int64(binary.LittleEndian.Uint32(head[4:]))
		if string(head[:4]) != segMagic || n > maxSegment || j.size+segHeader+n > st.Size() {
			break // a torn or damaged segment: nothing after it counts
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil || crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(head[8:]) {
			break
		}
		seg, key, err := j.readSegmentHead(payload)
		if err != nil {
			break
		}
		seg.off += j.size + segHeader
		seg.end = j.size + segHeader + int64(n)
		j.segs = append(j.segs, seg)
		j.keys[key] = true
		j.size = seg.end
	}
	_ = f.Close() // before the truncation: Windows truncates no open file of ours
	if st.Size() > j.size {
		if err := cutTo(path, st, j.size); err != nil {
			return nil, fmt.Errorf("cut the torn end off %s: %w", path, err)
		}
	}
	return j, nil
}

// cutTo truncates the journal read as read to size, through a descriptor,
// and only if path still names that file: in a folder of the service's
// account, where root may run a command beside it, a name truncated as a
// name could have been swapped for another file meanwhile.
func cutTo(path string, read os.FileInfo, size int64) error {
	f, err := private.OpenOwn(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	now, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(read, now) {
		return errors.New("it was replaced while it was read")
	}
	return f.Truncate(size)
}

// readSegmentHead reads a payload's key and columns; off is where its
// records start, relative to the payload.
func (j *journal) readSegmentHead(p []byte) (segment, string, error) {
	bad := errors.New("bad segment")
	key, rest, ok := takeStr(p)
	if !ok {
		return segment{}, "", bad
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return segment{}, "", bad
	}
	rest = rest[k:]
	seg := segment{cols: make([]string, 0, n)}
	for range n {
		var c []byte
		if c, rest, ok = takeStr(rest); !ok {
			return segment{}, "", bad
		}
		name, known := j.names[string(c)]
		if !known {
			name = string(c)
			j.names[name] = name
		}
		seg.cols = append(seg.cols, name)
	}
	recs, k := binary.Uvarint(rest)
	if k <= 0 || recs > uint64(len(rest)) {
		return segment{}, "", bad
	}
	seg.records = int(recs)
	seg.off = int64(len(p) - len(rest) + k)
	return seg, string(key), nil
}

// entry is one record of a segment, as the merge reads it: its cells are
// slices of the reader's buffer, valid until its next record.
type entry struct {
	id    []byte // as its cell in the CSV
	op    byte
	cells []cellAt
}

type cellAt struct {
	col  int // index into the merge's columns
	text []byte
}

// readBatch reads a batch body into a segment in one pass: the
// connector, whether the batch is its run's last, and the records as cells.
// The segment is sb's until its next use.
func (sb *segBuilder) readBatch(key string, body []byte) (Connector, bool, []byte, error) {
	var conn Connector
	final := false
	sb.reset(key)
	s := &scanner{b: body, scratch: sb.scratch}
	defer func() { sb.scratch = s.scratch }()
	str := func(dst *string) error {
		v, err := s.str()
		*dst = string(v)
		return err
	}
	err := s.object(func(k []byte) error {
		switch string(k) {
		case "connector":
			return s.object(func(k []byte) error {
				switch string(k) {
				case "id":
					return str(&conn.ID)
				case "name":
					return str(&conn.Name)
				}
				return s.skip()
			})
		case "batch":
			return s.object(func(k []byte) error {
				switch {
				case string(k) != "final":
					return s.skip()
				case s.literal("true"):
					final = true
				case !s.literal("false"):
					return errSyntax
				}
				return nil
			})
		case "upserts", "deletes":
			upsert := string(k) == "upserts"
			return s.array(func() error {
				var id string
				sb.begin()
				err := s.object(func(k []byte) error {
					switch {
					case string(k) == "sourceId":
						return str(&id)
					case string(k) == "attributes" && upsert:
						return s.cells(sb.cell)
					}
					return s.skip()
				})
				sb.end(id, upsert)
				return err
			})
		}
		return s.skip()
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return conn, false, nil, fmt.Errorf("batch %s: %w (at byte %d)", key, err, s.i)
	}
	return conn, final, sb.encode(), nil
}

// segBuilder gathers a batch's records and encodes them as a segment:
// cells neutralised (safeCell), records sorted by ID, and of an ID that
// occurs twice only the later record kept, as applying the batch in order
// would.
type segBuilder struct {
	key      string
	colIndex map[string]int
	cols     []string
	arena    []byte    // the cells' text
	cells    []encCell // of every record, in order
	recs     []segRec
	start    int    // the current record's first cell
	guess    []int  // the columns of the previous record's cells, in order: records of one table list them alike
	out      []byte // the encoded segment
	rec      []byte // a record being encoded
	body     []byte // the batch body (CSV.Push)
	scratch  []byte // the scanner's
}

type segRec struct {
	id         string
	op         byte
	start, end int // its cells in cells
}

type encCell struct{ col, start, end int } // its text in arena

func newSegBuilder() *segBuilder { return &segBuilder{colIndex: map[string]int{}} }

// reset starts a segment, keeping the buffers.
func (sb *segBuilder) reset(key string) {
	sb.key = key
	clear(sb.colIndex)
	sb.cols, sb.arena, sb.cells, sb.recs, sb.guess = sb.cols[:0], sb.arena[:0], sb.cells[:0], sb.recs[:0], sb.guess[:0]
}

func (sb *segBuilder) begin() { sb.start = len(sb.cells) }

// cell adds an attribute of the current record.
func (sb *segBuilder) cell(k, text []byte) {
	if len(text) == 0 {
		return // an empty cell is no cell: the column need not exist for it
	}
	n := len(sb.cells) - sb.start
	var i int
	if n < len(sb.guess) && sb.cols[sb.guess[n]] == string(k) {
		i = sb.guess[n]
	} else {
		var ok bool
		if i, ok = sb.colIndex[string(k)]; !ok {
			i = len(sb.cols)
			sb.colIndex[string(k)] = i
			sb.cols = append(sb.cols, string(k))
		}
		if n < len(sb.guess) {
			sb.guess[n] = i
		} else {
			sb.guess = append(sb.guess, i)
		}
	}
	start := len(sb.arena)
	if formula(text) {
		sb.arena = append(sb.arena, '\'')
	}
	sb.arena = append(sb.arena, text...)
	sb.cells = append(sb.cells, encCell{col: i, start: start, end: len(sb.arena)})
}

// end closes the current record: an upsert with the cells since begin, or
// a delete.
func (sb *segBuilder) end(id string, upsert bool) {
	r := segRec{id: safeCell(id), op: opDelete}
	if upsert {
		r.op, r.start, r.end = opUpsert, sb.start, len(sb.cells)
	}
	sb.recs = append(sb.recs, r)
}

func (sb *segBuilder) encode() []byte {
	// Upserts come before deletes in a batch body; the engine never puts one
	// user in both, but if it did the delete, listed later, would win.
	slices.SortStableFunc(sb.recs, func(a, b segRec) int { return strings.Compare(a.id, b.id) })
	kept := sb.recs[:0]
	for i, r := range sb.recs {
		if i+1 < len(sb.recs) && sb.recs[i+1].id == r.id {
			continue
		}
		kept = append(kept, r)
	}
	out := slices.Grow(sb.out[:0], segHeader+64+len(sb.arena)+len(sb.cells)*2+len(kept)*32)[:segHeader]
	out = appendStr(out, sb.key)
	out = binary.AppendUvarint(out, uint64(len(sb.cols)))
	for _, c := range sb.cols {
		out = appendStr(out, c)
	}
	out = binary.AppendUvarint(out, uint64(len(kept)))
	for _, r := range kept {
		rec := appendStr(sb.rec[:0], r.id)
		rec = append(rec, r.op)
		if r.op == opUpsert {
			rec = binary.AppendUvarint(rec, uint64(r.end-r.start))
			for _, c := range sb.cells[r.start:r.end] {
				rec = binary.AppendUvarint(rec, uint64(c.col))
				rec = binary.AppendUvarint(rec, uint64(c.end-c.start))
				rec = append(rec, sb.arena[c.start:c.end]...)
			}
		}
		out = binary.AppendUvarint(out, uint64(len(rec)))
		out = append(out, rec...)
		sb.rec = rec
	}
	copy(out, segMagic)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-segHeader)) //nolint:gosec // G115: a batch body is at most 5 MB
	binary.LittleEndian.PutUint32(out[8:], crc32.Checksum(out[segHeader:], castagnoli))
	sb.out = out
	return out
}

// add appends a segment and syncs it.
func (j *journal) add(seg []byte) error {
	if len(seg) > maxSegment {
		return fmt.Errorf("a segment of %d MB is larger than the journal reads back", len(seg)>>20)
	}
	f, err := private.OpenOwn(j.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) // a link planted in its place is not followed
	if err != nil {
		return err
	}
	_, err = f.Write(seg)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Cut off what may have been written, so that the next segment
		// does not follow a torn one; openJournal would cut it otherwise.
		if info, serr := os.Lstat(j.path); serr == nil {
			_ = cutTo(j.path, info, j.size)
		}
		return err
	}
	if j.size == 0 {
		// A new journal: root running a command beside the service gives
		// it to the folder's owner, as every file of the data directory.
		if err := private.Inherit(j.path); err != nil {
			return err
		}
	}
	head, key, err := j.readSegmentHead(seg[segHeader:])
	if err != nil {
		return err
	}
	head.off += j.size + segHeader
	head.end = j.size + int64(len(seg))
	j.segs = append(j.segs, head)
	j.keys[key] = true
	j.size = head.end
	return nil
}

// reset empties the journal once its segments are merged.
func (j *journal) reset() error {
	if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	j.segs, j.keys, j.names, j.size = nil, map[string]bool{}, map[string]string{}, 0
	return nil
}

// records is how many records the journal holds.
func (j *journal) records() int {
	n := 0
	for _, s := range j.segs {
		n += s.records
	}
	return n
}

// segReader reads one segment's records in order.
type segReader struct {
	r    *bufio.Reader
	left int
	cols []int // the segment's column i is the merge's column cols[i]
	idx  int   // the segment's place in the journal: later ones win
	cur  entry
	buf  []byte // the current record's ID and cells
}

func (s *segReader) next() (bool, error) {
	if s.left == 0 {
		return false, nil
	}
	s.left--
	n, err := binary.ReadUvarint(s.r)
	if err != nil || n > 64<<20 {
		return false, errBadRecord
	}
	s.buf = slices.Grow(s.buf[:0], int(n))[:n]
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		return false, err
	}
	return true, s.parse()
}

var errBadRecord = errors.New("bad record")

// parse reads the record in buf.
func (s *segReader) parse() error {
	id, b, ok := takeStr(s.buf)
	if !ok || len(b) == 0 {
		return errBadRecord
	}
	s.cur = entry{id: id, op: b[0], cells: s.cur.cells[:0]}
	b = b[1:]
	if s.cur.op != opUpsert {
		return nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errBadRecord
	}
	b = b[k:]
	for range n {
		c, k := binary.Uvarint(b)
		if k <= 0 || c >= uint64(len(s.cols)) {
			return errBadRecord
		}
		var text []byte
		if text, b, ok = takeStr(b[k:]); !ok {
			return errBadRecord
		}
		s.cur.cells = append(s.cur.cells, cellAt{col: s.cols[c], text: text})
	}
	return nil
}

// takeStr splits a str off the front of b.
func takeStr(b []byte) (str, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
