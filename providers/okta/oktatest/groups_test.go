package oktatest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Groups as Okta's API has them (listGroupUsers in the OpenAPI document):
// the members as full users, paged with after and limit, a 404 for an
// unknown group; an app assigned to a group reaches every member (app links,
// the app's users with scope GROUP) and the log records one event with the
// group and the app as targets, and none per member.
func TestGroupsMembersAndGroupApps(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 60, NoLimits: true})
	ids := s.IDs("ACTIVE")[:5]
	g, err := s.AddGroup("Sales", ids...)
	if err != nil || !strings.HasPrefix(g, "00g") {
		t.Fatalf("group %q: %v", g, err)
	}
	var got []string
	next := "/api/v1/groups/" + g + "/users?limit=2"
	for pages := 0; next != ""; pages++ {
		h, page := ok(t, ts, next)
		for _, u := range page {
			if _, full := u["profile"].(map[string]any); !full {
				t.Fatalf("a member is not a full user: %v", u)
			}
			got = append(got, u["id"].(string))
		}
		next = ""
		for _, l := range h.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				u, _ := url.Parse(strings.Trim(strings.Split(l, ";")[0], "<>"))
				next = u.RequestURI()
			}
		}
		if pages > 5 {
			t.Fatal("the members listing does not end")
		}
	}
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	resp, body := call(t, ts, http.MethodGet, "/api/v1/groups/00gnosuchgroup0000/users", "SSWS "+token) //nolint:bodyclose // call closes it
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown group: HTTP %d %s", resp.StatusCode, body)
	}
	before := s.EventCount()
	j := 5 // a well-known app some users have, not all
	if err := s.AssignGroup(g, j); err != nil {
		t.Fatal(err)
	}
	if n := s.EventCount() - before; n != 1 {
		t.Errorf("%d events for a group's app, want one", n)
	}
	for _, id := range ids {
		_, links := ok(t, ts, "/api/v1/users/"+id+"/appLinks")
		if !slices.ContainsFunc(links, func(l map[string]any) bool { return l["appInstanceId"] == s.AppID(j) }) {
			t.Errorf("member %s lacks the group's app", id)
		}
	}
	_, appUsers := ok(t, ts, "/api/v1/apps/"+s.AppID(j)+"/users?limit=500")
	for _, id := range ids {
		if !slices.ContainsFunc(appUsers, func(u map[string]any) bool { return u["id"] == id && u["scope"] == "GROUP" }) {
			t.Errorf("member %s is not among the app's users with scope GROUP", id)
		}
	}
}
