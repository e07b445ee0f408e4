package mapping

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"neurons-connector/internal/jsonstr"
)

// Set is one string attribute to set on an encoded record (AppendWith),
// removed when Value is empty, as With does.
type Set struct{ Name, Value string }

// AppendWith appends to dst the JSON of the record rec encodes, in
// AppendJSON's form, with sets applied in turn as With applies them. It is
// how a report spilled before its manager is completed when the pass ends
// (about half the users of a real org's first full run): the record's
// members are copied as they are and only the manager's attributes are
// written, where parsing the record, setting them and encoding it again
// was a ninth of such a run. A record written by AppendJSON comes out byte
// for byte as AppendJSON would write the record with the attributes set,
// an invalid UTF-8 value's \ufffd included (a parsed one would come back
// as U+FFFD itself).
//
// ok is false, and dst unchanged, unless rec is an object of strings and
// lists of strings under keys written as they are (valid UTF-8, no escape)
// in strictly ascending order, and every name in sets can be written so
// too: what AppendJSON writes for every table whose targets need no escape.
// Otherwise a name's place among the others would depend on how it is
// written, and the caller parses the record instead. It checks the
// record's form, not what its strings hold: a string that is no JSON (a
// raw control character) is copied as it was, and stays no JSON.
func AppendWith(dst, rec []byte, sets []Set) ([]byte, bool) {
	for _, s := range sets {
		if !jsonstr.Plain(s.Name) {
			return dst, false
		}
	}
	sets = lastOfEachName(sets)
	// Valid UTF-8 as a whole, as AppendJSON writes it, so that a key with
	// no backslash is its name (utf8.Valid takes eight ASCII bytes a step;
	// a key's bytes checked one by one were a third of this).
	if len(rec) < 2 || rec[0] != '{' || rec[len(rec)-1] != '}' || !utf8.Valid(rec) {
		return dst, false
	}
	out := append(dst, '{')
	body := rec[1 : len(rec)-1]
	var prev []byte
	k := 0 // the next of sets to place
	for i := 0; i < len(body); {
		if i > 0 {
			if body[i] != ',' || i+1 == len(body) {
				return dst, false
			}
			i++
		}
		key, end, ok := plainKey(body, i)
		if !ok || prev != nil && bytes.Compare(prev, key) >= 0 {
			return dst, false
		}
		prev = key
		to, ok := skipValue(body, end+1)
		if !ok {
			return dst, false
		}
		for ; k < len(sets) && sets[k].Name < string(key); k++ {
			out = appendSet(out, sets[k])
		}
		if k < len(sets) && sets[k].Name == string(key) {
			out = appendSet(out, sets[k])
			k++
		} else {
			out = appendMember(out, body[i:to])
		}
		i = to
	}
	for ; k < len(sets); k++ {
		out = appendSet(out, sets[k])
	}
	return append(out, '}'), true
}

// lastOfEachName orders sets by name, keeping each name's last: what
// applying them in turn with With leaves.
func lastOfEachName(sets []Set) []Set {
	if len(sets) < 2 {
		return sets
	}
	out := make([]Set, 0, len(sets))
	for i := len(sets) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(out, func(s Set) bool { return s.Name == sets[i].Name }) {
			out = append(out, sets[i])
		}
	}
	slices.SortFunc(out, func(a, b Set) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// plainKey reads the key of the member at body[i] and the colon after it:
// the key's bytes, which are its name when they hold no backslash (the
// record is valid UTF-8, and a control character in a key makes it no
// JSON at all), and where the colon is.
func plainKey(body []byte, i int) (key []byte, colon int, ok bool) {
	if i >= len(body) || body[i] != '"' {
		return nil, 0, false
	}
	n := bytes.IndexByte(body[i+1:], '"')
	if n < 0 {
		return nil, 0, false
	}
	key = body[i+1 : i+1+n]
	colon = i + 2 + n
	if bytes.IndexByte(key, '\\') >= 0 || colon >= len(body) || body[colon] != ':' {
		return nil, 0, false
	}
	return key, colon, true
}

// skipValue returns where the value at body[i], a string or a list of
// strings, ends.
func skipValue(body []byte, i int) (int, bool) {
	if i >= len(body) {
		return 0, false
	}
	if body[i] == '"' {
		return skipString(body, i)
	}
	if body[i] != '[' {
		return 0, false
	}
	i++
	if i < len(body) && body[i] == ']' {
		return i + 1, true
	}
	for {
		end, ok := skipString(body, i)
		if !ok || end >= len(body) {
			return 0, false
		}
		switch body[end] {
		case ']':
			return end + 1, true
		case ',':
			i = end + 1
		default:
			return 0, false
		}
	}
}

// skipString returns where the string at body[i] ends: after the first
// quote not escaped by a backslash.
func skipString(body []byte, i int) (int, bool) {
	if i >= len(body) || body[i] != '"' {
		return 0, false
	}
	for j := i + 1; ; {
		n := bytes.IndexByte(body[j:], '"')
		if n < 0 {
			return 0, false
		}
		q := j + n
		esc := 0
		for p := q - 1; p > i && body[p] == '\\'; p-- {
			esc++
		}
		if esc%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}

func appendMember(out, member []byte) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	return append(out, member...)
}

func appendSet(out []byte, s Set) []byte {
	if s.Value == "" {
		return out
	}
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = jsonstr.Append(out, s.Name)
	out = append(out, ':')
	return jsonstr.Append(out, s.Value)
}
