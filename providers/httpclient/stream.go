package httpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxObject is the largest single object EachObject accepts.
const MaxObject = 64 << 20

// ErrTooManyItems marks a page that holds more items than were asked for.
var ErrTooManyItems = errors.New("more items than the page size asked for")

// EachObject reads a JSON array of objects from r and calls fn with the
// bytes of each object in turn, valid only until fn returns. It never holds
// more of the body than one object and a read buffer, so a page of tens of
// megabytes costs its decoded users, not its size on the wire several times
// over. A page with more than limit objects (limit > 0) is refused: a
// server that ignores the page size would otherwise make one page as large
// as the tenant. It checks the array's structure (commas, brackets, strings,
// nesting); fn's decoder checks each object's JSON.
func EachObject(r io.Reader, limit int, fn func(obj []byte) error) error {
	s := objectScanner{r: r, data: make([]byte, 0, 32<<10)}
	if err := s.expect('['); err != nil {
		return err
	}
	for n := 0; ; n++ {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c == ']' && n == 0 {
			return s.end()
		}
		if n > 0 {
			switch c {
			case ']':
				return s.end()
			case ',':
				if c, err = s.next(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("expected , or ] after item %d, found %q", n, c)
			}
		}
		if c != '{' {
			return fmt.Errorf("item %d is not an object (starts with %q)", n+1, c)
		}
		if limit > 0 && n >= limit {
			return fmt.Errorf("%w (%d)", ErrTooManyItems, limit)
		}
		obj, err := s.object()
		if err != nil {
			return err
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
}

// objectScanner walks a byte stream through a window that holds the object
// being read and what was read after it.
type objectScanner struct {
	r    io.Reader
	data []byte // data[pos:] is unread
	pos  int
	eof  bool
}

// fill reads more into the window, keeping data[keep:]. It returns false
// at the end of the stream.
func (s *objectScanner) fill(keep int) (bool, error) {
	if s.eof {
		return false, nil
	}
	if keep > 0 {
		n := copy(s.data, s.data[keep:])
		s.data, s.pos = s.data[:n], s.pos-keep
	}
	if len(s.data) == cap(s.data) {
		if cap(s.data) >= MaxObject {
			return false, fmt.Errorf("an item is larger than %d MiB", MaxObject>>20)
		}
		grown := make([]byte, len(s.data), 2*cap(s.data))
		copy(grown, s.data)
		s.data = grown
	}
	n, err := s.r.Read(s.data[len(s.data):cap(s.data)])
	s.data = s.data[:len(s.data)+n]
	switch {
	case errors.Is(err, io.EOF):
		s.eof = true
		return n > 0, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// next returns the next byte that is not white space, consumed.
func (s *objectScanner) next() (byte, error) {
	for {
		for s.pos < len(s.data) {
			c := s.data[s.pos]
			s.pos++
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return c, nil
			}
		}
		more, err := s.fill(s.pos)
		if err != nil {
			return 0, err
		}
		if !more {
			return 0, io.ErrUnexpectedEOF
		}
	}
}

func (s *objectScanner) expect(want byte) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("expected %q, found %q", want, c)
	}
	return nil
}

// end checks that nothing but white space follows the array.
func (s *objectScanner) end() error {
	_, err := s.next()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil
	case err != nil:
		return err
	}
	return errors.New("data after the JSON array")
}

// object reads the object whose '{' was just consumed and returns its
// bytes, brace to brace.
func (s *objectScanner) object() ([]byte, error) {
	start := s.pos - 1
	i, depth, inStr := s.pos, 1, false
	for {
		for i < len(s.data) {
			if inStr {
				// Strings are most of a page: jump to the next quote and
				// count the backslashes before it.
				j := bytes.IndexByte(s.data[i:], '"')
				if j < 0 {
					i = len(s.data)
					break
				}
				i += j
				bs := 0
				for k := i - 1; k > start && s.data[k] == '\\'; k-- {
					bs++
				}
				i++
				inStr = bs%2 == 1
				continue
			}
			switch s.data[i] {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.pos = i + 1
					return s.data[start : i+1], nil
				}
			}
			i++
		}
		more, err := s.fill(start)
		if err != nil {
			return nil, err
		}
		i -= start
		start = 0
		if !more {
			return nil, io.ErrUnexpectedEOF
		}
	}
}
