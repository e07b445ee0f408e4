package sink

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestBodyIsTheContractsJSON(t *testing.T) {
	b := &Batch{Key: "c_1:7", Connector: Connector{ID: "c_1", Name: "Okta \"prod\"", Type: "okta", Server: "Cloud"},
		Info:    BatchInfo{RunID: "r_1", Sequence: 3, Mode: "full", Final: true},
		Upserts: []Upsert{{SourceID: "00u1", Attributes: json.RawMessage(`{"User.Email":"a@x","User.AssignedApps":["A","B"]}`)}},
		Deletes: []Delete{{SourceID: "00u9", Reason: ReasonStatusNotSelected}}}
	body, err := b.Body()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", body, err)
	}
	want := map[string]any{
		"schemaVersion": 1.0, "dataType": "User",
		"connector": map[string]any{"id": "c_1", "name": "Okta \"prod\"", "type": "okta", "server": "Cloud"},
		"batch":     map[string]any{"runId": "r_1", "sequence": 3.0, "mode": "full", "final": true},
		"upserts":   []any{map[string]any{"sourceId": "00u1", "attributes": map[string]any{"User.Email": "a@x", "User.AssignedApps": []any{"A", "B"}}}},
		"deletes":   []any{map[string]any{"sourceId": "00u9", "reason": "status-not-selected"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %s", body)
	}
	back, err := Parse(b.Key, body)
	if err != nil || back.Records() != 2 || back.Info != b.Info || back.Connector != b.Connector {
		t.Fatalf("parse: %+v %v", back, err)
	}
	empty, _ := (&Batch{Connector: b.Connector, Info: b.Info}).Body()
	if err := json.Unmarshal(empty, &got); err != nil || len(got["upserts"].([]any)) != 0 || len(got["deletes"].([]any)) != 0 {
		t.Errorf("an empty batch: %s", empty)
	}
}

func TestSplitKeepsSequenceAndDerivesKeys(t *testing.T) {
	b := &Batch{Key: "c:5", Info: BatchInfo{RunID: "r", Sequence: 5, Mode: "full", Final: true}}
	for i := range 3 {
		b.Upserts = append(b.Upserts, Upsert{SourceID: string(rune('a' + i)), Attributes: json.RawMessage(`{}`)})
	}
	b.Deletes = []Delete{{SourceID: "z", Reason: ReasonDeletedAtSource}}
	first, second, err := b.Split()
	if err != nil {
		t.Fatal(err)
	}
	if first.Key != "c:5.1" || second.Key != "c:5.2" || first.Info.Sequence != 5 || second.Info.Sequence != 5 {
		t.Errorf("keys %s %s", first.Key, second.Key)
	}
	if first.Info.Final || !second.Info.Final || first.Records()+second.Records() != 4 || first.Records() != 2 {
		t.Errorf("halves %+v %+v", first, second)
	}
	if _, _, err := (&Batch{Upserts: b.Upserts[:1]}).Split(); err == nil {
		t.Error("a single record was split")
	}
}

// Every payload form gives its body back: small bodies plain, large ones
// gzipped for the wire, S2 for a sink in this process; and a payload the
// outbox kept in one form still reads after the sink changed.
func TestPayloadsRoundTrip(t *testing.T) {
	small := []byte(`{"a":1}`)
	large := bytes.Repeat([]byte(`{"sourceId":"00u1","attributes":{"User.Email":"a@x"}},`), 2000)
	for name, p := range map[string]func([]byte) (Payload, error){
		"pack":  Pack,
		"local": func(b []byte) (Payload, error) { return PackLocal(b), nil },
	} {
		for _, body := range [][]byte{small, large, {}} {
			payload, err := p(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := payload.JSON()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s of %d bytes: %d bytes back, %v", name, len(body), len(got), err)
			}
			got, err = payload.AppendJSON([]byte("prefix"))
			if err != nil || !bytes.Equal(got, append([]byte("prefix"), body...)) {
				t.Fatalf("%s of %d bytes, appended: %d bytes back, %v", name, len(body), len(got), err)
			}
			if name == "local" && len(body) == len(large) && len(payload) > len(body)/3 {
				t.Errorf("S2 kept %d of %d bytes", len(payload), len(body))
			}
		}
	}
	if _, err := (Payload{'s', 0xff, 0xff}).JSON(); err == nil {
		t.Error("a damaged S2 payload was read")
	}
}
