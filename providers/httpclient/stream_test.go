package httpclient

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func collect(t *testing.T, body string, limit int, chunked bool) ([]map[string]any, error) {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = iotest.OneByteReader(r) // every boundary falls inside a token somewhere
	}
	out := []map[string]any{}
	err := EachObject(r, limit, func(obj []byte) error {
		var m map[string]any
		if err := json.Unmarshal(obj, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

func TestEachObjectMatchesAWholeDecode(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`[]`, ` [ ] `, `[{}]`,
		`[{"id":"a","s":"}{][\"\\","n":{"k":[1,{"z":[]}]}},{"id":"b"}]`,
		"\n[\r\n\t{\"id\":\"c\",\"t\":\"\\\\\"} ,\n{\"id\":\"d\",\"u\":\"\\u00e9\\\"\"}\n]\n",
		`[{"big":"` + strings.Repeat("x", 200_000) + `"},{"id":"after"}]`,
	}
	for _, body := range bodies {
		want := []map[string]any{}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("test body %q: %v", body, err)
		}
		for _, chunked := range []bool{false, true} {
			got, err := collect(t, body, 0, chunked)
			if err != nil {
				t.Fatalf("%.60q (chunked %v): %v", body, chunked, err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if len(got) != len(want) || string(g) != string(w) {
				t.Fatalf("%.60q: got %s, want %s", body, g, w)
			}
		}
	}
}

func TestEachObjectRefusesWhatIsNotAnArrayOfObjects(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, `{}`, `[`, `[{"a":1}`, `[{"a":1},]`, `[{"a":1} {"b":2}]`, `[1]`, `[{"a":1},null]`,
		`[{"a":"unterminated}]`, `[{"a":1}] trailing`, `[{"a":1}][]`, `<html>upstream error</html>`,
		`[{"id":"00u1","status":"ACTIVE","profile":{"login":<html>upstream error</html>`,
	} {
		for _, chunked := range []bool{false, true} {
			if _, err := collect(t, body, 0, chunked); err == nil {
				t.Errorf("%q (chunked %v) was accepted", body, chunked)
			}
		}
	}
}

func TestEachObjectLimitsItems(t *testing.T) {
	t.Parallel()
	if got, err := collect(t, `[{"a":1},{"a":2}]`, 2, false); err != nil || len(got) != 2 {
		t.Fatalf("two items under a limit of 2: %v %v", got, err)
	}
	if _, err := collect(t, `[{"a":1},{"a":2},{"a":3}]`, 2, false); !errors.Is(err, ErrTooManyItems) {
		t.Fatalf("three items under a limit of 2: %v", err)
	}
}

// FuzzEachObjectAgreesWithAWholeDecode holds the scanner to encoding/json:
// a body is an array of objects, read whole or a byte at a time, exactly
// when encoding/json reads it as one, and the objects are the same. The
// scanner finds each object's end through its strings' quotes and escapes,
// so the seeds put quotes, backslashes and braces inside strings, runs of
// backslashes before a quote, and strings longer than a machine word.
func FuzzEachObjectAgreesWithAWholeDecode(f *testing.F) {
	for _, s := range []string{
		`[{"a":"}{][\"\\","b":{"c":[1,{"d":[]}]}},{"e":"\\\\"}]`,
		`[{"long":"0123456789abcdef\"0123456789\\\\abcdef\\"},{"x":"\u00e9"}]`,
		`[{"a":"1234567\\"},{"b":"12345678\""}]`, `[{"a":"\\\\\\\""}]`, ` [ ] `, `[{"a":1},null]`, `null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var raw []json.RawMessage
		trimmed := strings.TrimLeft(body, " \t\r\n")
		wantOK := strings.HasPrefix(trimmed, "[") && json.Unmarshal([]byte(body), &raw) == nil
		want := []map[string]any{}
		for _, r := range raw {
			var m map[string]any
			if !wantOK || !strings.HasPrefix(string(r), "{") || json.Unmarshal(r, &m) != nil {
				wantOK = false
				break
			}
			want = append(want, m)
		}
		for _, chunked := range []bool{false, true} {
			got, err := collect(t, body, 0, chunked)
			if (err == nil) != wantOK {
				t.Fatalf("%q (chunked %v): error %v, encoding/json reads it: %v", body, chunked, err, wantOK)
			}
			if !wantOK {
				continue
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if len(got) != len(want) || string(g) != string(w) {
				t.Fatalf("%q (chunked %v): got %s, want %s", body, chunked, g, w)
			}
		}
	})
}
