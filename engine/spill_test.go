package engine

import (
	"io"
	"os"
	"reflect"
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
