package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode"
	"unicode/utf8"

	"neurons-connector/internal/private"
)

// The state of a connector's CSV drop is the drop itself, kept privately in
// the data directory (an importer may move or delete the drop; the state
// stays), followed by a trailer:
//
//	the CSV      header row (SourceID, then the columns sorted), one row per user sorted by its ID cell
//	trailer      {"columns":{"<column>":<rows with a value in it>,...}}\n
//	footer       the CSV's length in bytes, 19 decimal digits, \n
//
// The counts let a merge drop a column nobody has a value in any more
// without reading every row. The drop is the state's first <length> bytes.
type stateFile struct {
	f      *os.File
	length int64          // of the CSV
	cols   []string       // the header's, without SourceID
	counts map[string]int // rows with a non-empty cell, per column
}

const footerLen = 20

type stateTrailer struct {
	Columns map[string]int `json:"columns"`
}

// openState opens a state file; a missing one is (nil, nil): no users.
func openState(path string) (*stateFile, error) {
	f, err := private.OpenOwn(path, os.O_RDONLY, 0) // a link planted in its place is not followed
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &stateFile{f: f}
	if err := s.read(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s is damaged (%w): move it aside and resend the connector's users (see the README, Sinks)", path, err)
	}
	return s, nil
}

func (s *stateFile) read() error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size < footerLen {
		return errors.New("too short")
	}
	var foot [footerLen]byte
	if _, err := s.f.ReadAt(foot[:], size-footerLen); err != nil {
		return err
	}
	s.length, err = strconv.ParseInt(string(foot[:footerLen-1]), 10, 64)
	if err != nil || foot[footerLen-1] != '\n' || s.length < 0 || s.length > size-footerLen {
		return errors.New("no footer")
	}
	trailer := make([]byte, size-footerLen-s.length)
	if _, err := s.f.ReadAt(trailer, s.length); err != nil {
		return err
	}
	var t stateTrailer
	if err := json.Unmarshal(trailer, &t); err != nil {
		return fmt.Errorf("trailer: %w", err)
	}
	s.counts = t.Columns
	rows := s.rows()
	head, err := rows.next()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	fields := splitRow(head, nil)
	if len(fields) == 0 || string(fields[0]) != "SourceID" {
		return errors.New("header")
	}
	for _, f := range fields[1:] {
		s.cols = append(s.cols, string(f))
	}
	return nil
}

// rows reads the CSV's rows, the header first.
func (s *stateFile) rows() *rowReader {
	return &rowReader{r: bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.length), 1<<18)}
}

// close closes the file; again is harmless. Windows renames nothing over
// an open file, so a merge closes the old state before its replacement
// takes its place.
func (s *stateFile) close() {
	if s != nil && s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
}

// rowReader returns a CSV's rows as they are written, each with its
// newline: a row ends at a newline outside quotes.
type rowReader struct {
	r    *bufio.Reader
	line []byte
}

func (rr *rowReader) next() ([]byte, error) {
	rr.line = rr.line[:0]
	quotes := 0
	for {
		chunk, err := rr.r.ReadSlice('\n')
		rr.line = append(rr.line, chunk...)
		quotes += bytes.Count(chunk, []byte{'"'})
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(rr.line) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF // every row this package writes ends with a newline
		case err != nil:
			return nil, err
		}
		if quotes%2 == 0 {
			return rr.line, nil
		}
	}
}

// idOf is a row's first cell.
func idOf(row []byte) []byte {
	if len(row) > 0 && row[0] == '"' {
		f, _ := quotedField(row)
		return f
	}
	end := bytes.IndexAny(row, ",\n")
	if end < 0 {
		end = len(row)
	}
	return row[:end]
}

// splitRow appends a row's cells to dst: slices of row, or of new arrays
// for quoted cells.
func splitRow(row []byte, dst [][]byte) [][]byte {
	row = bytes.TrimSuffix(row, []byte{'\n'})
	for {
		if len(row) > 0 && row[0] == '"' {
			f, n := quotedField(row)
			dst = append(dst, f)
			row = row[n:]
		} else {
			end := bytes.IndexByte(row, ',')
			if end < 0 {
				return append(dst, row)
			}
			dst = append(dst, row[:end])
			row = row[end:]
		}
		if len(row) == 0 || row[0] != ',' {
			return dst
		}
		row = row[1:]
	}
}

// quotedField reads the quoted cell that row starts with, returning it and
// the bytes it took.
func quotedField(row []byte) ([]byte, int) {
	b := []byte{}
	i := 1
	for i < len(row) {
		j := bytes.IndexByte(row[i:], '"')
		if j < 0 {
			return append(b, row[i:]...), len(row)
		}
		b = append(b, row[i:i+j]...)
		i += j + 1
		if i < len(row) && row[i] == '"' { // "" is a quote
			b = append(b, '"')
			i++
			continue
		}
		return b, i
	}
	return b, i
}

// appendField writes a cell as encoding/csv would: quoted when it holds a
// comma, a quote or a line break, or starts with a space, quotes doubled.
func appendField(b, s []byte) []byte {
	if !needsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := bytes.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

func needsQuotes(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if string(s) == `\.` || bytes.ContainsAny(s, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRune(s)
	return unicode.IsSpace(r)
}

// appendRow writes a row of cells and its newline.
func appendRow(b []byte, cells [][]byte) []byte {
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendField(b, c)
	}
	return append(b, '\n')
}

// appendTrailer writes the trailer and footer after a CSV of length bytes.
func appendTrailer(b []byte, length int64, cols []string, counts []int) ([]byte, error) {
	t := stateTrailer{Columns: make(map[string]int, len(cols))}
	for i, c := range cols {
		t.Columns[c] = counts[i]
	}
	j, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	b = append(b, j...)
	b = append(b, '\n')
	return fmt.Appendf(b, "%019d\n", length), nil
}
