package mapping_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"neurons-connector/mapping"
)

// parseWithEncodingJSON is what ParseRecord must agree with: the record as
// encoding/json reads the object (a map, so a repeated name keeps its last
// value), each value a string or a list of strings.
func parseWithEncodingJSON(data []byte) (mapping.Record, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return nil, false
	}
	rec := mapping.Record{}
	for name, raw := range m {
		f := mapping.Field{Name: name}
		if len(raw) > 0 && raw[0] == '[' {
			if json.Unmarshal(raw, &f.List) != nil {
				return nil, false
			}
		} else if json.Unmarshal(raw, &f.Str) != nil {
			return nil, false
		}
		rec = append(rec, f)
	}
	slices.SortFunc(rec, func(a, b mapping.Field) int { return strings.Compare(a.Name, b.Name) })
	return rec, true
}

func checkParseRecord(t *testing.T, data []byte) {
	t.Helper()
	want, ok := parseWithEncodingJSON(data)
	got, err := mapping.ParseRecord(data)
	if (err == nil) != ok {
		t.Fatalf("%q: error %v, encoding/json reads it: %v", data, err, ok)
	}
	if ok && !reflect.DeepEqual(fields(got), fields(want)) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

// fields compares records by what they hold (the encoded keys a table
// fills in are not part of a record read back).
func fields(r mapping.Record) [][3]any {
	out := [][3]any{}
	for _, f := range r {
		out = append(out, [3]any{f.Name, f.Str, f.List})
	}
	return out
}

// ParseRecord reads back what MarshalJSON writes, whatever the values hold,
// and agrees with encoding/json on everything else.
func TestParseRecordAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range recordSeeds {
		checkParseRecord(t, []byte(s))
	}
	r := rand.New(rand.NewPCG(7, 11))
	pieces := []string{"a", "Zé", "€", "\"", "\\", "\n", "\x01", "\xff", " ", "User.Email", "ü"}
	for range 2000 {
		var rec mapping.Record
		for k := range r.IntN(6) {
			var b strings.Builder
			for range r.IntN(5) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			name := "F" + string(rune('a'+k))
			if r.IntN(3) == 0 {
				rec = append(rec, mapping.Field{Name: name, List: []string{b.String(), "x"}})
			} else {
				rec = append(rec, mapping.Field{Name: name, Str: b.String()})
			}
		}
		data, _ := rec.MarshalJSON()
		checkParseRecord(t, data)
		back, err := mapping.ParseRecord(data)
		again, _ := back.MarshalJSON()
		// Invalid UTF-8 was written as \ufffd, which reads back as U+FFFD
		// and is then written as itself.
		if err != nil || string(again) != strings.ReplaceAll(string(data), `\ufffd`, "\ufffd") {
			t.Fatalf("%q read back as %q (%v)", data, again, err)
		}
	}
}

var recordSeeds = []string{
	`{}`, ` { } `, `null`, `{"a":"x","b":["y","z"],"c":[]}`, `{"b":"1","a":"2"}`, `{"a":"1","a":"2"}`,
	`{"a":null,"b":[null,"x"]}`, `{"a":"\u00e9\"\\\n"}`, "{\"a\":\"\xff\"}", `{"\u0041":"key escaped"}`,
	`{"a":1}`, `{"a":{"b":"c"}}`, `{"a":[1]}`, `{"a":[["x"]]}`, `{"a":true}`, `{"a":"x",}`, `{"a":"x"} x`,
	`{"a":"x"`, `{"a" "x"}`, `["a"]`, `"a"`, ``, `{"a":"` + "\x01" + `"}`, `{"a":"\q"}`, `{"a":nul}`,
	`{"a":[null}`, `{"a":["x",]}`, `{"a":"x" , "b" : [ "y" , "z" ] }`,
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range recordSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkParseRecord)
}

func BenchmarkParseRecord(b *testing.B) {
	rec := mapping.Record{}
	for i := range 60 {
		rec = append(rec, mapping.Field{Name: "Application.Okta.Profile.attribute" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Str: "a value of some forty bytes, like most ones"})
	}
	rec = append(rec, mapping.Field{Name: "User.AssignedApps", List: []string{"Google Workspace", "Jira", "Workday"}})
	slices.SortFunc(rec, func(a, b mapping.Field) int { return strings.Compare(a.Name, b.Name) })
	data, _ := rec.MarshalJSON()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := mapping.ParseRecord(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRecordEncodingJSON(b *testing.B) {
	rec := mapping.Record{}
	for i := range 60 {
		rec = append(rec, mapping.Field{Name: "Application.Okta.Profile.attribute" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Str: "a value of some forty bytes, like most ones"})
	}
	data, _ := rec.MarshalJSON()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		parseWithEncodingJSON(data)
	}
}
