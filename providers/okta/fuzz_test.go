package okta

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unsafe"

	"neurons-connector/providers/okta/oktatest"
)

// FuzzNextLink feeds arbitrary Link header lines to the parser: it must
// never panic, and a next URL it finds must be one the header holds between
// angle brackets. Seeds: the forms Okta and folding proxies send, and the
// corpus under testdata/fuzz/FuzzNextLink.
func FuzzNextLink(f *testing.F) {
	for _, s := range []string{
		`<https://acme.okta.com/api/v1/users?limit=200>; rel="self"`,
		`<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel="next"`,
		`<https://a.okta.com/api/v1/users?filter=status eq "A",x>; rel="self", <https://a.okta.com/api/v1/users?after=1>; rel="next"`,
		`<https://a>; rel="prev next"`, `<>; rel=next`, `<https://a>; REL = "Next"`, `<<https://a>>; rel="next"`, `;;,,<`,
	} {
		f.Add(s, "")
	}
	f.Add(`<https://a/self>; rel="self"`, `<https://a/next>; rel="next"`)
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{}
		for _, l := range []string{line1, line2} {
			if l != "" {
				h.Add("Link", l)
			}
		}
		next := nextLink(h)
		if next != "" && !strings.Contains(line1+"\n"+line2, "<"+next+">") {
			t.Fatalf("next %q is not a <URL> of the header %q / %q", next, line1, line2)
		}
	})
}

// FuzzDecodeUsersPage feeds arbitrary bytes to the page decoder and the
// per-user checks the sync relies on: never a panic, and a user that passes
// has an id, a status and a profile object. Seeds: a page of simulated
// users, edge cases, and the corpus under testdata/fuzz/FuzzDecodeUsersPage.
func FuzzDecodeUsersPage(f *testing.F) {
	sim := oktatest.New(oktatest.Options{Users: 3, Seed: 9, NoLimits: true})
	srv := sim.Start()
	req, _ := http.NewRequestWithContext(f.Context(), http.MethodGet, srv.URL+"/api/v1/users", nil)
	req.Header.Set("Authorization", "SSWS sim-token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		f.Add(body)
	}
	srv.Close()
	for _, s := range []string{`[]`, `[{}]`, `[{"id":"00u1","status":"ACTIVE","profile":{}}]`,
		`[{"id":"00u1","status":"ACTIVE","lastUpdated":"2026-01-02T03:04:05.000Z","profile":{"n":1e400}}]`,
		`[{"id":1,"status":"ACTIVE","profile":{}}]`, `[{"id":"00u\n1","status":"ACTIVE","profile":{}}]`, `{"errorCode":"E0000011"}`, `[null]`, `[{"id":"x","status":"A","profile":null}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := decodeArray(body)
		if err != nil {
			return
		}
		for _, u := range items {
			got, err := checkUser(u)
			if err != nil {
				continue
			}
			if got.id == "" || got.status == "" || !plainID(got.id) {
				t.Fatalf("a user passed without id or status, or with an id that is no ID: %v", u)
			}
			if _, ok := u["profile"].(map[string]any); !ok {
				t.Fatalf("a user passed without a profile object: %v", u)
			}
		}
	})
}

// A listed user's ID is kept past its page (in the sets of a pass), so it
// must not share memory with the decoded record: a substring would keep the
// whole record alive with it.
func TestCheckedIDDoesNotHoldTheRecord(t *testing.T) {
	items, err := decodeArray([]byte(`[{"id":"00u1abcdefghijklmnop","status":"ACTIVE","lastUpdated":"2026-01-02T03:04:05.000Z","profile":{"login":"a@example.com"}}]`))
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	f, err := checkUser(items[0])
	if err != nil {
		t.Fatal(err)
	}
	decoded := items[0]["id"].(string)
	if f.id != decoded {
		t.Fatalf("id %q, want %q", f.id, decoded)
	}
	if unsafe.StringData(f.id) == unsafe.StringData(decoded) { //nolint:gosec // G103: compares the two strings' memory, which is the point
		t.Error("the checked ID is the decoded string itself, a part of the record's memory")
	}
}

// An ID that no Okta would send (a newline, a control character, a path,
// a megabyte) is a malformed answer: the pass fails rather than keep it as
// a database key, a line of a sink's remembered users or a path segment.
func TestAnIDThatIsNoIDFailsThePass(t *testing.T) {
	for id, ok := range map[string]bool{
		"00u1abcdefghijklmnop":   true,
		"00u1-a_b.c":             true,
		"00u1\nforged\tline":     false,
		"00u1\u001b[2J":          false,
		"../../api/v1/org":       false,
		"00u 1":                  false,
		strings.Repeat("a", 101): false,
	} {
		quoted, _ := json.Marshal(id)
		items, err := decodeArray([]byte(`[{"id":` + string(quoted) + `,"status":"ACTIVE","profile":{}}]`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = checkUser(items[0])
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "is not an Okta ID")) {
			t.Errorf("id %q: %v", id, err)
		}
	}
}
