package engine

import (
	"io"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/klauspost/compress/s2"

	"neurons-connector/mapping"
)

// A spill gives back what was added, in order; a damaged file fails the
// pass with an error instead of handing back something else.
func TestSpillGivesBackItsEntries(t *testing.T) {
	in := []spilled{
		{ID: "00u1abcdEFGH2345ijkl", Known: true, Attrs: []byte(`{"User.Email":"ada@example.com"}`),
			Refs: []mapping.ManagerRef{{Target: "User.ManagerEmail", Field: "email", ID: "00u9zyxwVUTS8765rqpo"}}},
		{ID: "short", Attrs: []byte(`{}`)},
		{ID: "00u2", Known: false, Attrs: []byte(`{"User.FullName":"Zoë \"Z\" Ødegård"}`),
			Refs: []mapping.ManagerRef{{Target: "A", Field: "name", ID: "m1"}, {Target: "B", Field: "phone", ID: "m2"}}},
	}
	dir := t.TempDir()
	s, err := newSpill(dir, "c", "r")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for _, e := range in {
		if err := s.add(e); err != nil {
			t.Fatal(err)
		}
	}
	var out []spilled
	if err := s.each(func(e spilled) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("read back %+v, want %+v", out, in)
	}

	// The same file cut short, and with a byte changed.
	data, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	for name, damaged := range map[string][]byte{
		"cut short":    data[:len(data)-5],
		"byte changed": append(append([]byte{}, data[:len(data)/2]...), append([]byte{data[len(data)/2] ^ 0xff}, data[len(data)/2+1:]...)...),
	} {
		d, err := newSpill(dir, "c", name)
		if err != nil {
			t.Fatal(err)
		}
		_ = d.zw.Close()
		if err := os.WriteFile(d.path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		d.zw = s2.NewWriter(io.Discard) // each closes it: nothing more reaches the file
		d.n = len(in)
		got := 0
		err = d.each(func(spilled) error { got++; return nil })
		d.close()
		if err == nil {
			t.Errorf("%s: %d entries read back without an error", name, got)
		}
	}
}

// A spilled record is completed by copying its members; one under a key
// that needs an escape (a table target with a quote) is parsed instead,
// and both come out as the record with the manager's fields set.
func TestCompletedSetsTheManagersFields(t *testing.T) {
	sets := []mapping.Set{{Name: "User.ManagerEmail", Value: "boss@example.com"}, {Name: "User.Title", Value: ""}}
	for _, rec := range []mapping.Record{
		{{Name: "User.Email", Str: "a@example.com"}, {Name: "User.Title", Str: "Engineer"}},
		{{Name: `User."Nick"`, Str: "Al"}, {Name: "User.Title", Str: "Engineer"}},
	} {
		want := slices.Clone(rec)
		for _, s := range sets {
			want = want.With(s.Name, s.Value)
		}
		got, err := completed([]byte("x"), rec.AppendJSON(nil), sets)
		if err != nil || string(got) != "x"+string(want.AppendJSON(nil)) {
			t.Errorf("%v completed as %q (%v), want %q", rec, got, err, want.AppendJSON(nil))
		}
	}
	if _, err := completed(nil, []byte(`{"a":1}`), sets); err == nil {
		t.Error("a record that is not one was completed")
	}
}
