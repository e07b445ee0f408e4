package mapping_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"neurons-connector/mapping"
)

// withAll is what AppendWith must write: the record with each set applied
// in turn by With, encoded.
func withAll(rec mapping.Record, sets []mapping.Set) mapping.Record {
	rec = slices.Clone(rec)
	for _, s := range sets {
		rec = rec.With(s.Name, s.Value)
	}
	return rec
}

// A record AppendJSON wrote comes out byte for byte as AppendJSON writes it
// with the attributes set: values that need escapes, invalid UTF-8, lists,
// names set twice, set empty (removed) and set where no attribute was.
func TestAppendWithWritesWhatWithWould(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	pieces := []string{"a", "Zé", "€", "\"", "\\", "\\\"", "\n", "\x01", "\xff", " ", "ü", "]", ",", ":"}
	str := func() string {
		var b strings.Builder
		for range r.IntN(5) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	names := []string{"A", "Fa", "Fb", "Fc", "Fd", "Fe", "Ff", "User.Manager", "User.ManagerEmail", "Z"}
	for range 5000 {
		var rec mapping.Record
		for _, name := range names[1:7] {
			switch r.IntN(4) {
			case 0: // absent
			case 1:
				rec = append(rec, mapping.Field{Name: name, List: []string{str(), str()}[:r.IntN(3)]})
				if rec[len(rec)-1].List == nil {
					rec[len(rec)-1].List = []string{}
				}
			default:
				rec = append(rec, mapping.Field{Name: name, Str: str()})
			}
		}
		var sets []mapping.Set
		for range r.IntN(4) {
			v := str()
			if r.IntN(4) == 0 {
				v = ""
			}
			sets = append(sets, mapping.Set{Name: names[r.IntN(len(names))], Value: v})
		}
		data := rec.AppendJSON(nil)
		want := withAll(rec, sets).AppendJSON([]byte("prefix"))
		got, ok := mapping.AppendWith([]byte("prefix"), data, sets)
		if !ok || string(got) != string(want) {
			t.Fatalf("%q with %q:\n got %q (%v)\nwant %q", data, sets, got, ok, want)
		}
	}
}

// What AppendJSON did not write, or wrote under a key with an escape, is
// left to the caller to parse: dst comes back as it was.
func TestAppendWithRefusesWhatItCannotCopy(t *testing.T) {
	sets := []mapping.Set{{Name: "B", Value: "x"}}
	for _, s := range []string{
		``, `{`, `}`, `[]`, `null`, `{"a":"1","a":"2"}`, `{"b":"1","a":"2"}`, `{"a":1}`, `{"a":null}`,
		`{"a":true}`, `{"a":{"b":"c"}}`, `{"a":["x",]}`, `{"a":["x"],}`, `{"a":"x",}`, `{,"a":"x"}`,
		`{"a" :"x"}`, `{ "a":"x"}`, `{"a":"x" }`, `{"a":[ "x"]}`, `{"\u0041":"x"}`, `{"a\"b":"x"}`,
		`{"a":"x\"}`, `{"a":"x}`, `{"a"}`, `{"a":}`, `{"a":[}`, `{"a":["x"}`, `{"a":["x" "y"]}`, `{"a""x"}`,
		"{\"\x8f\":\"x\"}", "{\"a\":\"\xff\"}",
	} {
		got, ok := mapping.AppendWith([]byte("dst"), []byte(s), sets)
		if ok || string(got) != "dst" {
			t.Errorf("%q: got %q, ok %v; want it refused and dst unchanged", s, got, ok)
		}
	}
	// A name that needs an escape, in the record or in sets, is refused,
	// not misplaced: names are ordered as they are, not as they are written.
	for _, name := range []string{`a"b`, "a\\b", "a\nb", "\xff"} {
		rec := mapping.Record{{Name: name, Str: "x"}}
		if got, ok := mapping.AppendWith(nil, rec.AppendJSON(nil), sets); ok {
			t.Errorf("a record whose key %q needs an escape was spliced: %q", name, got)
		}
		if got, ok := mapping.AppendWith(nil, []byte(`{"a":"x"}`), []mapping.Set{{Name: name, Value: "y"}}); ok {
			t.Errorf("a name %q that needs an escape was spliced: %q", name, got)
		}
	}
}

// FuzzAppendWith holds AppendWith to ParseRecord and With on any input: it
// never panics, refuses without touching dst, and what it writes reads back
// as the input read back with the attribute set.
func FuzzAppendWith(f *testing.F) {
	for _, s := range recordSeeds {
		f.Add([]byte(s), "b", "v")
	}
	f.Add([]byte(`{"a":"x","c":["y","z"]}`), "b", "")
	f.Add([]byte(`{"a":"x","c":["y","z"]}`), "c", "w")
	f.Add([]byte("{\"a\":\"\\ufffd\",\"d\":\"\xff\"}"), "e", "\xff")
	f.Fuzz(func(t *testing.T, data []byte, name, value string) {
		sets := []mapping.Set{{Name: name, Value: value}}
		got, ok := mapping.AppendWith([]byte("dst"), data, sets)
		if !ok {
			if string(got) != "dst" {
				t.Fatalf("%q refused, dst became %q", data, got)
			}
			return
		}
		in, err := mapping.ParseRecord(data)
		if err != nil {
			return // copied as it was: a value the parser refuses stays refused
		}
		out, err := mapping.ParseRecord(got[len("dst"):])
		if err != nil {
			t.Fatalf("%q with %q=%q wrote %q, which does not read back: %v", data, name, value, got, err)
		}
		// Compared as read back: a value set with invalid UTF-8 is written
		// as \ufffd, as AppendJSON writes it.
		want, err := mapping.ParseRecord(withAll(in, sets).AppendJSON(nil))
		if err != nil || !reflect.DeepEqual(fields(out), fields(want)) {
			t.Fatalf("%q with %q=%q:\n got %v\nwant %v", data, name, value, fields(out), fields(want))
		}
	})
}

func spliceBenchRecord() []byte {
	rec := mapping.Record{}
	for i := range 60 {
		rec = append(rec, mapping.Field{Name: "Application.Okta.Profile.attribute" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Str: "a value of some forty bytes, like most ones"})
	}
	rec = append(rec, mapping.Field{Name: "User.AssignedApps", List: []string{"Google Workspace", "Jira", "Workday"}})
	slices.SortFunc(rec, func(a, b mapping.Field) int { return strings.Compare(a.Name, b.Name) })
	return rec.AppendJSON(nil)
}

var spliceSets = []mapping.Set{{Name: "User.ManagerEmail", Value: "ada.lovelace@example.com"}, {Name: "User.ManagerName", Value: "Ada Lovelace"}}

// BenchmarkAppendWith completes a spilled report the way fixManagers does;
// BenchmarkAppendWithParsing the way it did, and does for a record
// AppendWith refuses.
func BenchmarkAppendWith(b *testing.B) {
	data := spliceBenchRecord()
	b.SetBytes(int64(len(data)))
	var out []byte
	for b.Loop() {
		var ok bool
		if out, ok = mapping.AppendWith(out[:0], data, spliceSets); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkAppendWithParsing(b *testing.B) {
	data := spliceBenchRecord()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rec, err := mapping.ParseRecord(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range spliceSets {
			rec = rec.With(s.Name, s.Value)
		}
		if _, err := rec.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
