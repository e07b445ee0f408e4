package sink

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"neurons-connector/store"
)

// csvModel is what the drop must hold: the users and their cells, applied
// batch by batch in order, with a column for every attribute some user has
// a value in, as the drop has always been defined.
type csvModel map[string]map[string]string

func (m csvModel) apply(b *Batch) {
	for _, u := range b.Upserts {
		var attrs map[string]any
		d := json.NewDecoder(bytes.NewReader(u.Attributes))
		d.UseNumber()
		if err := d.Decode(&attrs); err != nil {
			panic(err)
		}
		row := map[string]string{}
		for k, v := range attrs {
			if c := cell(v); c != "" {
				row[k] = safeCell(c)
			}
		}
		m[u.SourceID] = row
	}
	for _, d := range b.Deletes {
		delete(m, d.SourceID)
	}
}

// file renders the model with encoding/csv, the reference writer.
func (m csvModel) file() string {
	set := map[string]bool{}
	for _, row := range m {
		for k := range row {
			set[k] = true
		}
	}
	cols := slices.Sorted(maps.Keys(set))
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(append([]string{"SourceID"}, cols...))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		rec := []string{safeCell(id)}
		for _, c := range cols {
			rec = append(rec, m[id][c])
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.String()
}

// randomValue is a cell's worth of trouble: commas, quotes, line breaks,
// leading spaces, formulas, non-ASCII letters, lists, numbers, nulls.
func randomValue(r *rand.Rand) any {
	pieces := []string{"a", "Zoë", ",", `"`, "\n", "\r\n", " lead", "=SUM(1)", "-1", "x y", "日本", `\.`, ""}
	switch r.IntN(8) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return json.Number(fmt.Sprint(r.IntN(100000)))
	case 3:
		return []string{pieces[r.IntN(len(pieces))], pieces[r.IntN(len(pieces))]}
	}
	var b strings.Builder
	for range 1 + r.IntN(3) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// The drop equals the model after every run, through random batches of
// upserts and deletes, attributes that come and go (columns appear and
// disappear), batches sent twice, process restarts between batches, and
// crashes that tear the journal's last segment or stop a final batch
// after the merge.
func TestCSVDropMatchesTheModelThroughCrashes(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			if seed%2 == 1 { // merge in pairs: runs of runs
				defer func(n int) { fanIn = n }(fanIn)
				fanIn = 2
			}
			r := rand.New(rand.NewPCG(seed, 7))
			dir, state := t.TempDir(), t.TempDir()
			c := &CSV{Dir: dir, State: state}
			model := csvModel{}
			attrs := []string{"User.FirstName", "User.JobTitle", "User.Groups", "User.Active", "User.Number", "Custom.X"}
			for run := range 6 {
				// Later runs use fewer attributes now and then: a column
				// nobody has a value in any more must go.
				use := attrs[:2+r.IntN(len(attrs)-1)]
				batches := 1 + r.IntN(9)
				for seq := 1; seq <= batches; seq++ {
					b := Batch{SchemaVersion: 1, DataType: "User", Connector: Connector{ID: "c_1", Name: "Okta prod", Type: "okta"},
						Info: BatchInfo{RunID: fmt.Sprint("r", run), Sequence: seq, Mode: "full", Final: seq == batches}, Deletes: []Delete{}}
					for range r.IntN(40) {
						id := fmt.Sprintf("00u%03d", r.IntN(120))
						if r.IntN(5) == 0 {
							b.Deletes = append(b.Deletes, Delete{SourceID: id, Reason: ReasonDeletedAtSource})
							continue
						}
						a := map[string]any{}
						for _, k := range use {
							if r.IntN(4) > 0 {
								a[k] = randomValue(r)
							}
						}
						body, _ := json.Marshal(a)
						b.Upserts = append(b.Upserts, Upsert{SourceID: id, Attributes: body})
					}
					key := fmt.Sprintf("k-%d-%d", run, seq)
					p := pack(t, &b)
					switch r.IntN(6) {
					case 0: // a restart before the batch
						c = &CSV{Dir: dir, State: state}
					case 1: // a crash while appending it: a torn segment, never acknowledged
						tear(t, filepath.Join(state, "c_1.journal"), mustSegment(t, key, p))
						c = &CSV{Dir: dir, State: state}
					}
					if err := c.Push(context.Background(), key, p); err != nil {
						t.Fatal(err)
					}
					if r.IntN(4) == 0 { // acknowledged, but the outbox sends it again
						if err := c.Push(context.Background(), key, p); err != nil {
							t.Fatal(err)
						}
					}
					model.apply(&b)
				}
				got, err := os.ReadFile(filepath.Join(dir, "Okta prod-users.csv"))
				if err != nil {
					t.Fatal(err)
				}
				if want := model.file(); string(got) != want {
					t.Fatalf("run %d: drop differs from the model\ngot:\n%s\nwant:\n%s", run, got, want)
				}
			}
		})
	}
}

func pack(t *testing.T, b *Batch) Payload {
	t.Helper()
	body, err := b.Body()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Pack(body)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSegment(t *testing.T, key string, p Payload) []byte {
	t.Helper()
	body, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	_, _, seg, err := newSegBuilder().readBatch(key, body)
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

// tear appends the first part of seg to the journal, as a crash while
// writing it would leave it.
func tear(t *testing.T, path string, seg []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(seg[:len(seg)/2]); err != nil {
		t.Fatal(err)
	}
}

// A final batch that fails after the merge (here: the drop folder cannot be
// written) is sent again and gives the same drop: folding the journal into
// a state that already holds it changes nothing.
func TestCSVDropFinalBatchAgainAfterTheMerge(t *testing.T) {
	state := t.TempDir()
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := Batch{Connector: Connector{ID: "c_1", Name: "Okta"}, Info: BatchInfo{Final: true}, Deletes: []Delete{{SourceID: "u2"}}}
	for _, id := range []string{"u1", "u2", "u3"} {
		b.Upserts = append(b.Upserts, Upsert{SourceID: id, Attributes: json.RawMessage(`{"User.JobTitle":"T ` + id + `"}`)})
	}
	p := pack(t, &b)
	c := &CSV{Dir: filepath.Join(blocked, "csv"), State: state}
	if err := c.Push(context.Background(), "k1", p); err == nil {
		t.Fatal("a drop folder under a file was written")
	}
	dir := t.TempDir()
	c = &CSV{Dir: dir, State: state}
	for range 2 {
		if err := c.Push(context.Background(), "k1", p); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(dir, "Okta-users.csv"))
		if want := "SourceID,User.JobTitle\nu1,T u1\nu3,T u3\n"; string(got) != want {
			t.Fatalf("drop:\n%s\nwant:\n%s", got, want)
		}
	}
}

// The users an older version kept in the database reach the drop, once,
// with the run's changes on top, and leave the database.
func TestCSVDropMovesUsersOutOfTheDatabase(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.Update(func(tx *store.Tx) error {
		for i := range 2500 {
			attrs := fmt.Sprintf(`{"User.JobTitle":"Title %d","User.Active":true,"User.Number":12345678901234567890}`, i)
			if err := tx.PutSinkRecord("c_1", fmt.Sprintf("u%04d", i), []byte(attrs)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &CSV{Dir: dir, State: t.TempDir(), DB: db}
	b := Batch{Connector: Connector{ID: "c_1", Name: "Okta"}, Info: BatchInfo{Final: true},
		Upserts: []Upsert{{SourceID: "u0001", Attributes: json.RawMessage(`{"User.JobTitle":"Changed"}`)}},
		Deletes: []Delete{{SourceID: "u0002"}}}
	if err := c.Push(context.Background(), "k1", pack(t, &b)); err != nil {
		t.Fatal(err)
	}
	rows := readDrop(t, filepath.Join(dir, "Okta-users.csv"))
	if len(rows) != 2500 || strings.Join(rows[0], ",") != "SourceID,User.Active,User.JobTitle,User.Number" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if got := strings.Join(rows[1], ","); got != "u0000,true,Title 0,12345678901234567890" {
		t.Errorf("first user %s", got)
	}
	if got := strings.Join(rows[2], ","); got != "u0001,,Changed," {
		t.Errorf("changed user %s", got)
	}
	if rows[3][0] != "u0003" {
		t.Errorf("deleted user still there: %v", rows[3])
	}
	_ = db.View(func(tx *store.Tx) error {
		if tx.HasSinkRecords("c_1") {
			t.Error("the records are still in the database")
		}
		return nil
	})
}

// Temporary files a crash left (a merge's runs and new state, a copy to
// the drop) are removed by the next run, and other files are left alone.
func TestCSVDropRemovesWhatACrashLeft(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	stale := []string{filepath.Join(state, ".c_1.csv.123"), filepath.Join(state, ".c_1.csv.runs.456"), filepath.Join(dir, ".Okta-users.csv.789"), filepath.Join(dir, ".c_1-users.csv.790")}
	kept := []string{filepath.Join(state, ".c_2.csv.123"), filepath.Join(dir, ".Okta 2-users.csv.1"), filepath.Join(dir, ".c_2-users.csv.1"), filepath.Join(dir, "notes.txt")}
	for _, p := range append(stale, kept...) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := Batch{Connector: Connector{ID: "c_1", Name: "Okta"}, Info: BatchInfo{Final: true},
		Upserts: []Upsert{{SourceID: "u1", Attributes: json.RawMessage(`{"A":"b"}`)}}}
	if err := (&CSV{Dir: dir, State: state}).Push(context.Background(), "k1", pack(t, &b)); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// A damaged state is refused with the path and the way out; the journal
// keeps the run's batches.
func TestCSVDropDamagedStateIsAClearError(t *testing.T) {
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "c_1.csv"), []byte("SourceID\nu1\n{not json\n0000000000000000011\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := Batch{Connector: Connector{ID: "c_1", Name: "Okta"}, Info: BatchInfo{Final: true},
		Upserts: []Upsert{{SourceID: "u2", Attributes: json.RawMessage(`{"A":"b"}`)}}}
	err := (&CSV{Dir: t.TempDir(), State: state}).Push(context.Background(), "k1", pack(t, &b))
	if err == nil || !strings.Contains(err.Error(), "c_1.csv is damaged") || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("err = %v", err)
	}
}

// splitRow and appendField read and write what encoding/csv does.
func TestCSVRowsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var rec []string
		for range 1 + r.IntN(6) {
			v, _ := randomValue(r).(string)
			rec = append(rec, v)
		}
		var ref bytes.Buffer
		w := csv.NewWriter(&ref)
		_ = w.Write(rec)
		w.Flush()
		var cells [][]byte
		for _, c := range rec {
			cells = append(cells, []byte(c))
		}
		if got := string(appendRow(nil, cells)); got != ref.String() {
			t.Fatalf("appendRow(%q) = %q, encoding/csv %q", rec, got, ref.String())
		}
		var got []string
		for _, c := range splitRow(ref.Bytes(), nil) {
			got = append(got, string(c))
		}
		lone := len(rec) == 1 && rec[0] == "" && len(got) == 1 // encoding/csv writes a lone empty cell as an empty line
		if !slices.Equal(got, rec) && !lone {
			t.Fatalf("splitRow(%q) = %q", ref.String(), got)
		}
		if got := string(idOf(ref.Bytes())); got != rec[0] {
			t.Fatalf("idOf(%q) = %q", ref.String(), got)
		}
	}
}

// eachCell gives every value the cell that decoding it and cell would:
// escapes, invalid UTF-8, nested lists and objects, numbers as sent.
func TestEachCellAgreesWithDecoding(t *testing.T) {
	for _, obj := range []string{
		`{}`,
		` { "a" : "x" , "b":[ "1" ,"2"] } `,
		`{"a":"tab\there \"quoted\" \u00e9 \ud83d\ude00 \/"}`,
		"{\"a\":\"bad \xff\xfe utf8\",\"b\":[\"\xc3\"]}",
		`{"a":[["x","y"],null,true,1.5e3,{"k":"v"}],"b":{"z":1,"a":[2,"3"]},"c":-0.25,"d":null,"e":false}`,
		`{"a":12345678901234567890123}`,
	} {
		var want map[string]any
		d := json.NewDecoder(strings.NewReader(obj))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		if err := eachCell([]byte(obj), func(k, c []byte) { got[string(k)] = string(c) }); err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d attributes, want %d", obj, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != cell(v) {
				t.Errorf("%s: %s = %q, want %q", obj, k, got[k], cell(v))
			}
		}
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":}`, `{"a":"x"`, `{"a":"x"} x`, `{"a":[1,}`, `{"a":tru}`} {
		if err := eachCell([]byte(bad), func(_, _ []byte) {}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
