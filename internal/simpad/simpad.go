// Package simpad writes the huge pages the simulators serve for tests of a
// client's memory: every object of a JSON array gets an extra string field
// of a given size, written piece by piece so that the simulator itself
// never holds the body.
package simpad

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
)

// field is the name of the padding field.
const field = `,"x-padding":"`

var chunk = []byte(strings.Repeat("a", 64<<10))

// Len is the length of page once padded.
func Len(page []byte, pad int) int {
	return len(page) + len(Objects(page))*(len(field)+pad+1)
}

// ContentLength is Len as a header value.
func ContentLength(page []byte, pad int) string { return strconv.Itoa(Len(page, pad)) }

// Write writes page, a JSON array of objects, with pad bytes of padding in
// every object.
func Write(w io.Writer, page []byte, pad int) error {
	if _, err := w.Write([]byte{'['}); err != nil {
		return err
	}
	for k, obj := range Objects(page) {
		if k > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if _, err := w.Write(obj[:len(obj)-1]); err != nil { // without the closing brace
			return err
		}
		if _, err := io.WriteString(w, field); err != nil {
			return err
		}
		for left := pad; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, `"}`); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte{']'})
	return err
}

// Objects cuts a JSON array of objects into its objects.
func Objects(page []byte) [][]byte {
	var out [][]byte
	depth, start, inStr, esc := 0, 0, false, false
	for i, c := range page {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{':
			if depth == 0 {
				start = i
			}
			depth++
		case c == '}':
			if depth--; depth == 0 {
				out = append(out, page[start:i+1])
			}
		}
	}
	return out
}

// Repeat writes body with the objects of its list written times times
// over, piece by piece: what a broken server or a proxy that loops over a
// list sends, an answer that never ends for practical purposes. The list
// is body itself when body is a JSON array, or its "data" array when body
// is an object (OneLogin's v1 envelope); the envelope's other members are
// written as they are, before it. It stops at the first failed write (the
// client hung up).
func Repeat(w io.Writer, body []byte, times int) error {
	list := body
	var env map[string]json.RawMessage
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &env); err != nil {
			return err
		}
		list = env["data"]
		if _, err := w.Write([]byte{'{'}); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(env)) {
			if k == "data" {
				continue
			}
			if _, err := fmt.Fprintf(w, "%q:%s,", k, env[k]); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, `"data":`); err != nil {
			return err
		}
	}
	objs := Objects(list)
	if _, err := w.Write([]byte{'['}); err != nil {
		return err
	}
	for n := 0; n < times; n++ {
		for k, obj := range objs {
			if n+k > 0 {
				if _, err := w.Write([]byte{','}); err != nil {
					return err
				}
			}
			if _, err := w.Write(obj); err != nil {
				return err
			}
		}
	}
	_, err := w.Write([]byte{']'})
	if err == nil && env != nil {
		_, err = w.Write([]byte{'}'})
	}
	return err
}

// RepeatAnswer writes rec, a handler's recorded answer, to w with its list
// written times times over (Repeat): the simulators' Repeat fault.
func RepeatAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder, times int) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_ = Repeat(w, rec.Body.Bytes(), times)
}
