package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"neurons-connector/internal/jsonstr"
)

// ParseRecord reads a record back from its JSON (MarshalJSON's output): an
// object of strings and lists of strings. A first full run reads back every
// report that came before its manager (spilled, then completed when the
// pass ends): about half the users of a real org, whose listing has no
// order, and encoding/json took some 30 µs a record, more than the rest of
// a user's run. This reads one object in one pass, its values substrings of
// one copy of data. It agrees with encoding/json on what it accepts and
// what each field holds (TestParseRecordAgreesWithEncodingJSON,
// FuzzParseRecord): a null is an empty string, a repeated name keeps its
// last value.
func ParseRecord(data []byte) (Record, error) {
	p := recordParser{s: string(data)}
	rec, err := p.record()
	if err != nil {
		return nil, fmt.Errorf("parse record: %w", err)
	}
	return rec, nil
}

type recordParser struct {
	s string
	i int
}

var errRecord = errors.New("not a record")

func (p *recordParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errRecord, what, p.i)
}

func (p *recordParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// eat consumes c if it is next.
func (p *recordParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *recordParser) record() (Record, error) {
	p.ws()
	if strings.HasPrefix(p.s[p.i:], "null") { // encoding/json: an empty map
		p.i += len("null")
		return p.end(Record{})
	}
	if !p.eat('{') {
		return nil, p.fail("'{' expected")
	}
	rec := make(Record, 0, strings.Count(p.s, `":`)) // at least one a field: no growing
	if p.ws(); p.eat('}') {
		return p.end(rec)
	}
	for {
		p.ws()
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		if p.ws(); !p.eat(':') {
			return nil, p.fail("':' expected")
		}
		p.ws()
		f := Field{Name: name}
		if p.eat('[') {
			if f.List, err = p.list(); err != nil {
				return nil, err
			}
		} else if f.Str, err = p.scalar(); err != nil {
			return nil, err
		}
		rec = append(rec, f)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end(rec)
		}
		return nil, p.fail("',' or '}' expected")
	}
}

// end checks that nothing follows the record, and puts its fields in
// order: a canonical record is in order already, without a name twice.
func (p *recordParser) end(rec Record) (Record, error) {
	if p.ws(); p.i != len(p.s) {
		return nil, p.fail("data after the record")
	}
	if slices.IsSortedFunc(rec, func(a, b Field) int { return strings.Compare(a.Name, b.Name) }) && !repeats(rec) {
		return rec, nil
	}
	slices.SortStableFunc(rec, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	out := rec[:0]
	for i, f := range rec {
		if i+1 < len(rec) && rec[i+1].Name == f.Name {
			continue // a later value of the same name wins, as in a map
		}
		out = append(out, f)
	}
	return out, nil
}

// repeats reports whether a sorted record has a name twice.
func repeats(rec Record) bool {
	for i := 1; i < len(rec); i++ {
		if rec[i].Name == rec[i-1].Name {
			return true
		}
	}
	return false
}

// list reads the rest of a list whose '[' was consumed.
func (p *recordParser) list() ([]string, error) {
	out := []string{}
	if p.ws(); p.eat(']') {
		return out, nil
	}
	for {
		p.ws()
		v, err := p.scalar()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return out, nil
		}
		return nil, p.fail("',' or ']' expected")
	}
}

// scalar reads a string, or a null as an empty one.
func (p *recordParser) scalar() (string, error) {
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += len("null")
		return "", nil
	}
	return p.str()
}

// str reads a string: a substring of the record's when it holds no escape
// and is valid UTF-8 (nearly every one), else decoded by encoding/json.
func (p *recordParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.fail("a string expected")
	}
	start, j := p.i, p.i
	high := false
	for {
		for j < len(p.s) && jsonstr.Class[p.s[j]] == 0 {
			j++
		}
		if j < len(p.s) && jsonstr.Class[p.s[j]] == 2 {
			high = true
			j++
			continue
		}
		break
	}
	switch {
	case j >= len(p.s):
		return "", p.fail("unterminated string")
	case p.s[j] != '"' || high && !utf8.ValidString(p.s[start:j]):
		return p.escaped(start)
	}
	p.i = j + 1
	return p.s[start:j], nil
}

// escaped decodes the string whose contents start at start the slow way
// (jsonstr.Unquote).
func (p *recordParser) escaped(start int) (string, error) {
	s, end, err := jsonstr.Unquote(p.s, start)
	if err != nil {
		return "", p.fail(err.Error())
	}
	p.i = end + 1
	return s, nil
}
