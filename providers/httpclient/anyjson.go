package httpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
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
	i     int
	depth int
	keys  map[string]string // interned keys, kept across the objects of a page
	sizes map[string]int    // the last size of the object under each key: the next one's likely size
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
		s, err := d.str(false)
		return s, err
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
	if n, ok := d.sizes[under]; ok {
		hint = n // a map made large enough once, instead of grown twice
	}
	m := make(map[string]any, hint)
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
		k, err := d.str(true)
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.fail("':' expected")
		}
		d.i++
		v, err := d.value(k)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			d.depth--
			if d.sizes != nil && d.keys != nil && len(d.sizes) < 4096 {
				d.sizes[under] = len(m)
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
	a := []any{}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
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

// str decodes the string at d.i. Most strings hold no escape and are valid
// UTF-8: one copy (none for a key seen before). The rest go through
// encoding/json, which decodes escapes and turns invalid bytes into U+FFFD.
func (d *anyDecoder) str(key bool) (string, error) {
	start := d.i + 1
	j := start
	for ; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
	}
	if j < len(d.b) && d.b[j] == '"' && utf8.Valid(d.b[start:j]) {
		d.i = j + 1
		raw := d.b[start:j]
		if key && d.keys != nil {
			if k, ok := d.keys[string(raw)]; ok {
				return k, nil
			}
			k := string(raw)
			if len(d.keys) < 4096 {
				d.keys[k] = k
			}
			return k, nil
		}
		return string(raw), nil
	}
	// The slow way: find the closing quote, then let encoding/json decode.
	for j = start; j < len(d.b) && d.b[j] != '"'; j++ {
		if d.b[j] == '\\' {
			j++
		}
	}
	if j >= len(d.b) {
		return "", d.fail("unterminated string")
	}
	var s string
	if err := json.Unmarshal(d.b[d.i:j+1], &s); err != nil {
		return "", d.fail("bad string")
	}
	d.i = j + 1
	return s, nil
}

// number reads a number as encoding/json's grammar has it, as its text.
func (d *anyDecoder) number() (any, error) {
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
		return nil, d.fail("bad number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, d.fail("bad number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.fail("bad number")
		}
	}
	return json.Number(d.b[start:d.i]), nil
}
