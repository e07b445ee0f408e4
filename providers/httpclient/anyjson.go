package httpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"neurons-connector/internal/jsonstr"
)

// anyDecoder decodes JSON into the values encoding/json gives an any with
// UseNumber: map[string]any, []any, string, json.Number, bool and nil. It
// is the listings' decoder because it costs a fraction of a reflective one
// (a profile of a full Okta run put goccy/go-json's generic decoding at a
// quarter of the run's CPU): one pass, no reflection, the keys of a page's
// objects (the same few dozen in every user) allocated once. It is as
// strict as encoding/json (TestAnyDecoderAgreesWithEncodingJSON and the
// fuzz targets hold it to that).
type anyDecoder struct {
	b     []byte
	src   string // b as a string, when shapes is set: values are its substrings
	i     int
	depth int
	// keys and shapes are kept across the objects of a page (when set):
	keys   map[string]string // interned keys
	shapes map[string]*shape // the last object under each key: the next one's likely shape
	// slab holds the headers of the object's boxed strings; slabSize is how
	// many the last object had, the next slab's size.
	slab     []string
	slabSize int
	boxed    int // strings boxed in this object so far
	// keep, when set, names the top-level fields to decode; the values of
	// the others are skipped.
	keep map[string]bool
}

// shape is what the last object under a key looked like. The objects of a
// listing have the same keys in the same order, so comparing a key's bytes
// with the one at its position last time finds the interned key without
// hashing it, and the map is made large enough at once.
type shape struct {
	size int
	keys []string
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errJSON = errors.New("invalid JSON")

func (d *anyDecoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errJSON, what, d.i)
}

// object decodes b, which must hold one JSON object and nothing else.
func (d *anyDecoder) object(b []byte) (map[string]any, error) {
	d.b, d.i, d.depth = b, 0, 0
	if d.shapes != nil {
		// One string for the whole object, of which every value is a
		// substring: one allocation per object instead of one per value.
		// A value kept for long keeps the object's bytes: callers clone
		// what they retain beyond the page (IDs of pending deletes).
		d.src = string(b)
		d.slab, d.slabSize, d.boxed = nil, d.boxed, 0
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		if d.literal("null") {
			return nil, errors.New("null instead of an object")
		}
		return nil, d.fail("object expected")
	}
	v, err := d.value("")
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, d.fail("data after the object")
	}
	return v.(map[string]any), nil
}

func (d *anyDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *anyDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// value decodes the value under key (of its object; "" at the top and in
// arrays).
func (d *anyDecoder) value(key string) (any, error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, d.fail("value expected")
	}
	switch c := d.b[d.i]; c {
	case '{':
		return d.obj(key)
	case '[':
		return d.arr()
	case '"':
		s, err := d.strValue()
		if err != nil || d.src == "" {
			return s, err
		}
		return d.box(s, stringType), nil
	case 't':
		if d.literal("true") {
			return true, nil
		}
	case 'f':
		if d.literal("false") {
			return false, nil
		}
	case 'n':
		if d.literal("null") {
			return nil, nil
		}
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
	}
	return nil, d.fail("value expected")
}

func (d *anyDecoder) nest() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nested too deeply")
	}
	return nil
}

func (d *anyDecoder) obj(under string) (any, error) {
	if err := d.nest(); err != nil {
		return nil, err
	}
	d.i++ // {
	hint := 8
	sh := d.shapes[under] // nil when there are no shapes
	if sh != nil {
		hint = sh.size // a map made large enough once, instead of grown twice
	} else if d.shapes != nil && len(d.shapes) < 4096 {
		sh = &shape{}
		d.shapes[under] = sh
	}
	m := make(map[string]any, hint)
	n := 0 // keys read so far: the next one's position
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.fail("key expected")
		}
		k, err := d.key(sh, n)
		n++
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.fail("':' expected")
		}
		d.i++
		if d.keep != nil && d.depth == 1 && !d.keep[k] {
			if err := d.skip(); err != nil {
				return nil, err
			}
		} else {
			v, err := d.value(k)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			d.depth--
			if sh != nil {
				sh.size = len(m)
			}
			return m, nil
		}
		return nil, d.fail("',' or '}' expected")
	}
}

func (d *anyDecoder) arr() (any, error) {
	if err := d.nest(); err != nil {
		return nil, err
	}
	d.i++ // [
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return []any{}, nil
	}
	// Room for the few values users' arrays hold (roles, phone numbers):
	// one allocation instead of one per doubling.
	a := make([]any, 0, 4)
	for {
		v, err := d.value("")
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			d.depth--
			return a, nil
		}
		return nil, d.fail("',' or ']' expected")
	}
}

// key decodes the object key at d.i, the object's n-th, interned: the key
// at the same position in the last object of this shape, or the page's.
func (d *anyDecoder) key(sh *shape, n int) (string, error) {
	raw, ok := d.plain()
	if !ok {
		return d.str()
	}
	if sh != nil && n < len(sh.keys) && sh.keys[n] == string(raw) { // compared, not converted
		return sh.keys[n], nil
	}
	var k string
	if d.keys != nil {
		k, ok = d.keys[string(raw)]
		if !ok {
			k = string(raw)
			if len(d.keys) < 4096 {
				d.keys[k] = k
			}
		}
	} else {
		k = string(raw)
	}
	if sh != nil && n <= len(sh.keys) && n < 1024 {
		sh.keys = append(sh.keys[:n], k)
	}
	return k, nil
}

// plain returns the bytes of the string at d.i and moves past it when it
// holds no escape, no control character and valid UTF-8: nearly every
// string, which is then used as it is.
func (d *anyDecoder) plain() ([]byte, bool) {
	start := d.i + 1
	j := start
	b := d.b
	high := false
	for {
		for j < len(b) && jsonstr.Class[b[j]] == 0 {
			j++
		}
		if j < len(b) && jsonstr.Class[b[j]] == 2 {
			high = true
			j++
			continue
		}
		break
	}
	if j >= len(b) || b[j] != '"' || high && !utf8.Valid(b[start:j]) {
		return nil, false
	}
	d.i = j + 1
	return b[start:j], true
}

// text returns the string of b[from:to], a substring of the object's when
// there is one.
func (d *anyDecoder) text(from, to int) string {
	if d.src != "" {
		return d.src[from:to]
	}
	return string(d.b[from:to])
}

// strValue decodes a string value at d.i.
func (d *anyDecoder) strValue() (string, error) {
	start := d.i + 1
	if raw, ok := d.plain(); ok {
		return d.text(start, start+len(raw)), nil
	}
	return d.str()
}

// str decodes the string at d.i the slow way, for strings with escapes or
// invalid UTF-8 (jsonstr.Unquote).
func (d *anyDecoder) str() (string, error) {
	s, end, err := jsonstr.Unquote(d.b, d.i+1)
	if err != nil {
		return "", d.fail(err.Error())
	}
	d.i = end + 1
	return s, nil
}

// skip moves past the value at d.i, checked as value checks it, built
// into nothing.
func (d *anyDecoder) skip() error {
	d.ws()
	if d.i >= len(d.b) {
		return d.fail("value expected")
	}
	switch c := d.b[d.i]; c {
	case '{', '[':
		return d.skipContainer(c)
	case '"':
		if _, ok := d.plain(); ok {
			return nil
		}
		_, err := d.str()
		return err
	case 't':
		if d.literal("true") {
			return nil
		}
	case 'f':
		if d.literal("false") {
			return nil
		}
	case 'n':
		if d.literal("null") {
			return nil
		}
	default:
		if c == '-' || c >= '0' && c <= '9' {
			_, err := d.scanNumber()
			return err
		}
	}
	return d.fail("value expected")
}

// skipContainer moves past the object or array at d.i.
func (d *anyDecoder) skipContainer(open byte) error {
	if err := d.nest(); err != nil {
		return err
	}
	end := byte('}')
	if open == '[' {
		end = ']'
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == end {
		d.i++
		d.depth--
		return nil
	}
	for {
		if open == '{' {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return d.fail("key expected")
			}
			if _, ok := d.plain(); !ok {
				if _, err := d.str(); err != nil {
					return err
				}
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return d.fail("':' expected")
			}
			d.i++
		}
		if err := d.skip(); err != nil {
			return err
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == end {
			d.i++
			d.depth--
			return nil
		}
		return d.fail("',' or '" + string(end) + "' expected")
	}
}

// number reads a number as encoding/json's grammar has it, as its text.
func (d *anyDecoder) number() (any, error) {
	start, err := d.scanNumber()
	if err != nil {
		return nil, err
	}
	if d.src != "" {
		return d.box(d.text(start, d.i), numberType), nil
	}
	return json.Number(d.text(start, d.i)), nil
}

// scanNumber moves past the number at d.i and returns where it started.
func (d *anyDecoder) scanNumber() (int, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return 0, d.fail("bad number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return 0, d.fail("bad number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return 0, d.fail("bad number")
		}
	}
	return start, nil
}

// eface is the layout of an any: its dynamic type and a pointer to the value.
type eface struct{ typ, data unsafe.Pointer }

// The dynamic types box gives its values.
var (
	stringType = typeOf("")
	numberType = typeOf(json.Number(""))
)

func typeOf(v any) unsafe.Pointer {
	return (*eface)(unsafe.Pointer(&v)).typ //nolint:gosec // G103: reads an any's type word, the layout eface mirrors
}

// box makes an any of a string (typ: stringType or numberType) whose header
// lives in the object's slab instead of an allocation of its own: a string
// put in an interface costs an allocation, and a user has dozens. The slab
// is never written again where a value points, so the values stay immutable
// as Go's interfaces require; a value kept keeps its slab (a few hundred
// bytes) and the object's text, which its string is a part of anyway.
func (d *anyDecoder) box(s string, typ unsafe.Pointer) any {
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]string, 0, max(d.slabSize, 16))
	}
	d.slab = append(d.slab, s)
	d.boxed++
	var v any
	// An any whose value is the slab's element: the element is never
	// written again, and the pointer keeps the slab alive for the collector.
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: typ, data: unsafe.Pointer(&d.slab[len(d.slab)-1])} //nolint:gosec // G103: see above; TestBoxedValuesOutliveTheirPage
	return v
}
