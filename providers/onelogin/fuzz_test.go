package onelogin

import (
	"bytes"
	"strconv"
	"testing"

	"neurons-connector/providers/httpclient"
)

// FuzzDecodeUsersPage feeds arbitrary bytes to the page decoder and the
// per-user normalisation: never a panic, and a user that passes has its id
// (and manager id, when it has one) as a canonical decimal string, the
// sourceId the sink keys on. Seeds: OneLogin's type quirks (onelogin-api.md
// §3.2) and the corpus under testdata/fuzz/FuzzDecodeUsersPage.
func FuzzDecodeUsersPage(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{"id":123,"status":1,"manager_user_id":456,"updated_at":"2026-01-02T03:04:05.678Z"}]`,
		`[{"id":"123","status":"1","manager_user_id":"0"}]`, `[{"id":"\"123\"","status":3,"manager_user_id":null}]`,
		`[{"id":12.5,"status":1}]`, `[{"id":-1,"status":1}]`, `[{"id":99999999999999999999,"status":1}]`,
		`[{"id":1,"status":1,"updated_at":"yesterday"}]`, `{"status":{"error":true,"code":401}}`, `[null, 1, "x"]`,
		`[{"id":" 007 ","status":" 2 ","manager_user_id":" 08 "}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		users, err := httpclient.DecodeObjectsFrom(bytes.NewReader(body), 0) // as a streamed page is decoded
		if err != nil {
			return
		}
		for _, u := range users {
			got, err := checkUser(u)
			if err != nil {
				continue
			}
			canonical := func(what string, v any) {
				s, ok := v.(string)
				n, err := strconv.ParseInt(s, 10, 64)
				if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
					t.Fatalf("%s %#v is not a canonical decimal string (user %v)", what, v, u)
				}
			}
			canonical("id", u["id"])
			if got.id != u["id"] {
				t.Fatalf("facts id %q differs from the record's %v", got.id, u["id"])
			}
			if m := u["manager_user_id"]; m != nil {
				canonical("manager_user_id", m)
			}
		}
	})
}
