package simpad

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWritePadsEveryObject(t *testing.T) {
	page := []byte(`[{"id":"a","s":"x}{\"y"},{"id":"b","n":{"k":[1,{"z":2}]}}]`)
	var buf bytes.Buffer
	if err := Write(&buf, page, 100_000); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != Len(page, 100_000) {
		t.Fatalf("wrote %d bytes, Len says %d", buf.Len(), Len(page, 100_000))
	}
	var out []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0]["id"] != "a" || out[0]["s"] != `x}{"y` || out[1]["id"] != "b" {
		t.Fatalf("objects changed: %v", out)
	}
	for _, o := range out {
		if p, _ := o["x-padding"].(string); p != strings.Repeat("a", 100_000) {
			t.Fatalf("padding of %v is %d bytes", o["id"], len(p))
		}
	}
}

func TestRepeatWritesTheListOver(t *testing.T) {
	var buf bytes.Buffer
	if err := Repeat(&buf, []byte(`[{"id":"a"},{"id":"b"}]`), 3); err != nil {
		t.Fatal(err)
	}
	var list []map[string]string
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil || len(list) != 6 || list[4]["id"] != "a" {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	buf.Reset()
	env := `{"status":{"code":200},"pagination":{"after_cursor":null},"data":[{"user_id":1}]}`
	if err := Repeat(&buf, []byte(env), 4); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Status     struct{ Code int }
		Pagination map[string]any
		Data       []map[string]int
	}
	if err := json.Unmarshal(buf.Bytes(), &page); err != nil || len(page.Data) != 4 || page.Status.Code != 200 {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
}
