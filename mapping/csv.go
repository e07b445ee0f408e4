package mapping

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"neurons-connector/internal/textenc"
)

// Problem is one thing wrong with a CSV file, at a line.
type Problem struct {
	File string
	Line int // 0 when the problem concerns the whole file
	Msg  string
	// More is set on the last entry of a list cut short: how many
	// problems it stands for.
	More int
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Msg
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Problems is every problem found in a file; it is the error Load returns.
type Problems []Problem

// Count is how many problems the file has, those not listed included.
func (ps Problems) Count() int {
	n := 0
	for _, p := range ps {
		n += max(p.More, 1)
	}
	return n
}

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var bomUTF8 = []byte{0xEF, 0xBB, 0xBF}

// maxProblems stops a hopeless file (say, a binary) from flooding the screen.
const maxProblems = 100

// readCSV decodes data with a per-call gocsv Unmarshaller into values of
// proto's type, calling row for each with its line number; row returns the
// problems it finds. Encoding, separator, header and field-count problems are
// reported here. It keeps reading after a bad row so that every problem of a
// file is reported at once.
func readCSV(file string, data []byte, columns []string, row func(line int, v any) []string, proto any) (ps Problems) {
	dropped := 0
	add := func(line int, format string, args ...any) {
		if len(ps) < maxProblems {
			ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
		} else {
			dropped++
		}
	}
	defer func() {
		if dropped > 0 {
			ps = append(ps, Problem{File: file, Msg: fmt.Sprintf("%d more problems not shown; fix these and check again", dropped), More: dropped})
		}
	}()
	switch {
	case textenc.UTF16(data): // with or without its byte-order mark
		add(0, "the file is UTF-16; save it as \"CSV UTF-8\"")
		return ps
	case !utf8.Valid(data):
		add(firstInvalidLine(data), "the file is not UTF-8 (a spreadsheet's plain \"CSV\" may use a local code page); save it as \"CSV UTF-8\"")
		return ps
	}
	data = bytes.TrimPrefix(data, bomUTF8)
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') >= 0 {
		// Lines ended by CR alone: Excel for Mac's "CSV (Macintosh)",
		// which encoding/csv would read as one line.
		data = bytes.ReplaceAll(data, []byte{'\r'}, []byte{'\n'})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		add(0, "the file is empty; the first line must be the header %s", strings.Join(columns, ","))
		return ps
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	um, err := gocsv.NewUnmarshaller(r, proto)
	if err != nil {
		add(1, "cannot read the header: %v", csvMessage(err))
		return ps
	}
	if len(um.Headers) == 1 && strings.Contains(um.Headers[0], ";") {
		add(1, "the file uses ';' as its separator (spreadsheets in some locales save CSV that way); save it with commas")
		return ps
	}
	if len(um.Headers) == 1 && strings.Contains(um.Headers[0], "\t") {
		add(1, "the file uses tabs as its separator (a spreadsheet's tab-delimited text, or cells pasted into an editor); save it as CSV, with commas")
		return ps
	}
	err = um.RenormalizeHeaders(func(h []string) []string {
		out := make([]string, len(h))
		for i, s := range h {
			out[i] = strings.ToLower(strings.TrimSpace(s))
		}
		return out
	})
	if err != nil {
		add(1, "cannot read the header: %v", err)
		return ps
	}
	if bad := headerProblems(um.Headers, columns); bad != "" {
		add(1, "%s", bad)
		return ps
	}
	if unnamed := unnamedCells(data, um.Headers); len(unnamed) > 0 {
		for _, line := range unnamed {
			add(line, "a value in a column without a header; delete it, or the column")
		}
		return ps
	}
	for {
		v, err := um.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				add(pe.StartLine, "the row has a different number of fields than the header's %d; quote values that contain commas", len(columns))
			} else {
				add(pe.Line, "%v", csvMessage(pe.Err))
			}
			continue
		}
		line, _ := r.FieldPos(0) // only valid after a successful read
		if err != nil {
			add(line, "%v", err)
			continue
		}
		for _, msg := range row(line, v) {
			add(line, "%s", msg)
		}
	}
	return ps
}

// unnamedCells are the lines with a value in a column whose header is
// empty. A spreadsheet saves such columns when a cell beyond the table was
// ever used ("target,source,transform,notes,," and ",,,,," below): empty,
// they are no one's mistake, and the table is read without them.
func unnamedCells(data []byte, header []string) (lines []int) {
	var unnamed []int
	for i, h := range header {
		if h == "" {
			unnamed = append(unnamed, i)
		}
	}
	if len(unnamed) == 0 {
		return nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment, r.FieldsPerRecord = '#', -1
	_, _ = r.Read() // the header
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			continue // the row's own problem, which the main read reports
		}
		for _, i := range unnamed {
			if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
				line, _ := r.FieldPos(i)
				lines = append(lines, line)
				break
			}
		}
	}
}

// headerProblems compares the header with the expected columns; columns
// without a name are no problem here (unnamedCells).
func headerProblems(got, want []string) string {
	seen := map[string]bool{}
	var extra, dup []string
	for _, h := range got {
		if h == "" {
			continue
		}
		if seen[h] {
			dup = append(dup, short(h))
		}
		seen[h] = true
		if !contains(want, h) {
			extra = append(extra, short(h))
		}
	}
	var missing []string
	for _, w := range want {
		if !seen[w] {
			missing = append(missing, w)
		}
	}
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "missing column "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		msgs = append(msgs, "unknown column "+strings.Join(extra, ", "))
	}
	if len(dup) > 0 {
		msgs = append(msgs, "repeated column "+strings.Join(dup, ", "))
	}
	if len(msgs) == 0 {
		return ""
	}
	return strings.Join(msgs, "; ") + "; the header must be " + strings.Join(want, ",")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func csvMessage(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return `a '"' appears inside an unquoted value; quote the value and double the quote ("")`
	case errors.Is(err, csv.ErrQuote):
		return `a quoted value is not closed or has text after its closing quote`
	}
	return err.Error()
}

func firstInvalidLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return line
}
