package oktatest

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// Search is served from an eventually consistent store (okta-api.md
// §2.1): with SearchLag, a change shows in search only that much later,
// while filter and GET by ID see it at once. A new user and a deleted one
// lag the same way.
func TestSearchSeesChangesLate(t *testing.T) {
	t.Parallel()
	s, ts, fc := start(t, Options{Users: 30, SearchLag: time.Minute})
	ids := s.IDs("ACTIVE")
	edited, gone := ids[0], ids[1]
	_, prof, _ := s.User(edited)
	old := prof["email"].(string)
	fc.Advance(time.Hour)
	if err := s.EditProfile(edited, map[string]any{"email": "moved@example.com"}); err != nil {
		t.Fatal(err)
	}
	added := s.AddUser(map[string]any{"login": "new@example.com", "email": "new@example.com", "firstName": "N", "lastName": "U"}, "ACTIVE")
	_ = s.Delete(gone)
	_ = s.Delete(gone)

	find := func(how, expr string) []string {
		_, users := ok(t, ts, "/api/v1/users?"+url.Values{how: {expr}}.Encode())
		var out []string
		for _, u := range users {
			out = append(out, u["id"].(string))
		}
		return out
	}
	eq := func(got []string, want ...string) bool { return slices.Equal(got, want) || len(got)+len(want) == 0 }
	byEmail := func(e string) string { return `profile.email eq "` + e + `"` }
	byID := func(id string) string { return `id eq "` + id + `"` }
	if got := find("filter", byEmail("moved@example.com")); !eq(got, edited) {
		t.Errorf("filter on the new e-mail: %v", got)
	}
	if got := find("search", byEmail("moved@example.com")); !eq(got) {
		t.Errorf("search found the new e-mail at once: %v", got)
	}
	if got := find("search", byEmail(old)); !eq(got, edited) {
		t.Errorf("search on the old e-mail, within the lag: %v", got)
	}
	if got := find("search", byID(added)); !eq(got) {
		t.Errorf("search found a user created within the lag: %v", got)
	}
	if got := find("search", byID(gone)); !eq(got, gone) {
		t.Errorf("search lost a user deleted within the lag: %v", got)
	}
	if got := find("filter", byID(gone)); !eq(got) {
		t.Errorf("filter found a deleted user: %v", got)
	}
	fc.Advance(time.Minute + time.Second)
	if got := find("search", byEmail("moved@example.com")); !eq(got, edited) {
		t.Errorf("search on the new e-mail after the lag: %v", got)
	}
	if got := find("search", byID(added)); !eq(got, added) {
		t.Errorf("search on the new user after the lag: %v", got)
	}
	if got := find("search", byID(gone)); !eq(got) {
		t.Errorf("search on the deleted user after the lag: %v", got)
	}
}
