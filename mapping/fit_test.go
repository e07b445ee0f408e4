package mapping

import (
	"strings"
	"testing"
)

// Fit leaves out the largest attributes, as few as it takes, and says
// which; a record that fits is returned as it is.
func TestFitLeavesOutTheLargestAttributes(t *testing.T) {
	rec := Record{
		{Name: "A", Str: strings.Repeat("a", 100)},
		{Name: "B", Str: strings.Repeat("\"", 3000)}, // two bytes each once escaped
		{Name: "C", List: []string{strings.Repeat("c", 2000), "d"}},
		{Name: "D", Str: "small"},
	}
	full := len(rec.AppendJSON(nil))
	if got, dropped := rec.Fit(full); len(got) != 4 || dropped != nil {
		t.Fatalf("a record that fits: %d fields, dropped %v", len(got), dropped)
	}
	got, dropped := rec.Fit(5000)
	if strings.Join(dropped, ",") != "B" || len(got) != 3 || len(got.AppendJSON(nil)) > 5000 {
		t.Fatalf("dropped %v, kept %d fields of %d bytes", dropped, len(got), len(got.AppendJSON(nil)))
	}
	got, dropped = rec.Fit(200)
	if strings.Join(dropped, ",") != "B,C" || len(got.AppendJSON(nil)) > 200 {
		t.Fatalf("dropped %v, %s", dropped, got.AppendJSON(nil))
	}
	if f, ok := got.Get("D"); !ok || f.Str != "small" {
		t.Fatalf("kept %v", got)
	}
}
