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
		var want []map[string]any
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
