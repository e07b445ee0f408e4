package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The CSV drop reads batch bodies with a scanner of its own instead of
// decoding them into maps of interfaces, which was most of its CPU: it
// turns each attribute straight into its cell (see cell), and most cells
// are the bytes of the body as they are.

// eachCell calls fn with each attribute of a mapped record (a JSON object)
// and its value as a CSV cell; both are valid only during the call.
func eachCell(obj []byte, fn func(key, cell []byte)) error {
	s := scanner{b: obj}
	if err := s.cells(fn); err != nil {
		return err
	}
	return s.end()
}

// cells reads an object of attributes, as eachCell.
func (s *scanner) cells(fn func(key, cell []byte)) error {
	return s.object(func(key []byte) error {
		c, err := s.cell()
		if err == nil {
			fn(key, c)
		}
		return err
	})
}

type scanner struct {
	b       []byte
	i       int
	scratch []byte // a list's cell
}

var errSyntax = errors.New("not the JSON of a batch")

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

// object reads an object, calling member after each key with the scanner
// at the key's value, which member must read.
func (s *scanner) object(member func(key []byte) error) error {
	if !s.eat('{') {
		return errSyntax
	}
	if s.eat('}') {
		return nil
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.eat(':') {
			return errSyntax
		}
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		if s.eat('}') {
			return nil
		}
		if !s.eat(',') {
			return errSyntax
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (s *scanner) array(elem func() error) error {
	if !s.eat('[') {
		return errSyntax
	}
	if s.eat(']') {
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		if s.eat(']') {
			return nil
		}
		if !s.eat(',') {
			return errSyntax
		}
	}
}

// cell reads any value as its cell: a string's bytes, a list's cells
// joined with "; ", a number as sent, true/false, "" for null, an object
// as compact JSON with sorted keys (no target holds one; what the drop
// always wrote).
func (s *scanner) cell() ([]byte, error) {
	if s.i < len(s.b) && s.b[s.i] == '"' {
		return s.str()
	}
	var err error
	s.scratch, err = s.appendCell(s.scratch[:0])
	return s.scratch, err
}

func (s *scanner) appendCell(dst []byte) ([]byte, error) {
	if s.i >= len(s.b) {
		return dst, errSyntax
	}
	switch c := s.b[s.i]; {
	case c == '"':
		v, err := s.str()
		return append(dst, v...), err
	case c == '[':
		n := 0
		err := s.array(func() error {
			if n > 0 {
				dst = append(dst, "; "...)
			}
			n++
			var err error
			dst, err = s.appendCell(dst)
			return err
		})
		return dst, err
	case c == '{':
		start := s.i
		if err := s.skip(); err != nil {
			return dst, err
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(s.b[start:s.i]))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return dst, err
		}
		return append(dst, cell(v)...), nil
	case s.literal("true"):
		return append(dst, "true"...), nil
	case s.literal("false"):
		return append(dst, "false"...), nil
	case s.literal("null"):
		return dst, nil
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.b) && bytes.IndexByte([]byte("+-.eE0123456789"), s.b[s.i]) >= 0 {
			s.i++
		}
		return append(dst, s.b[start:s.i]...), nil
	}
	return dst, errSyntax
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a string. Most have no escape and are valid UTF-8: their bytes
// in the body are the value. The rest go through encoding/json (which
// turns each invalid byte into U+FFFD).
func (s *scanner) str() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, errSyntax
	}
	start := s.i + 1
	end := bytes.IndexByte(s.b[start:], '"')
	if end < 0 {
		return nil, errSyntax
	}
	raw := s.b[start : start+end]
	if bytes.IndexByte(raw, '\\') < 0 {
		s.i = start + end + 1
		if utf8.Valid(raw) {
			return raw, nil
		}
		var v string
		err := json.Unmarshal(s.b[start-1:s.i], &v)
		return []byte(v), err
	}
	s.i = start
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	if s.i >= len(s.b) {
		return nil, errSyntax
	}
	s.i++
	var v string
	err := json.Unmarshal(s.b[start-1:s.i], &v)
	return []byte(v), err
}

// skip passes over any value.
func (s *scanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.str()
		return err
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		return s.array(s.skip)
	}
	_, err := s.appendCell(nil)
	return err
}
