package onelogintest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"neurons-connector/clock"
)

func start(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	}
	s := New(o)
	ts := s.Start()
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// token gets an access token in one of the three documented forms.
func token(t *testing.T, ts *httptest.Server, form int) (int, string) {
	t.Helper()
	var req *http.Request
	switch form {
	case 0:
		req, _ = http.NewRequest(http.MethodPost, ts.URL+"/auth/oauth2/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("sim-client", "sim-secret")
	case 1:
		req, _ = http.NewRequest(http.MethodPost, ts.URL+"/auth/oauth2/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "client_id:sim-client,client_secret:sim-secret")
	default:
		req, _ = http.NewRequest(http.MethodPost, ts.URL+"/auth/oauth2/v2/token",
			strings.NewReader("grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, body := do(t, req)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	_ = json.Unmarshal(body, &tok)
	if resp.StatusCode == 200 && (tok.ExpiresIn != 36000 || tok.TokenType != "bearer") {
		t.Errorf("token answer %s", body)
	}
	return resp.StatusCode, tok.AccessToken
}

func get(t *testing.T, ts *httptest.Server, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	req.Header.Set("Authorization", auth)
	return do(t, req)
}

func TestTokenFormsGiveTheSameToken(t *testing.T) {
	t.Parallel()
	_, ts := start(t, Options{})
	var first string
	for form := range 3 {
		status, tok := token(t, ts, form)
		if status != 200 || tok == "" || first != "" && tok != first {
			t.Errorf("form %d: %d %q (first %q)", form, status, tok, first)
		}
		first = tok
	}
	for _, auth := range []string{"bearer:" + first, "bearer " + first, "Bearer " + first} {
		if resp, body := get(t, ts, "/api/2/users?limit=1", auth); resp.StatusCode != 200 {
			t.Errorf("%q: %d %s", auth, resp.StatusCode, body)
		}
	}
	resp, body := get(t, ts, "/api/2/users", "Bearer nope")
	if resp.StatusCode != 401 || !strings.Contains(string(body), "UnauthorizedError") {
		t.Errorf("bad token: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/auth/oauth2/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("sim-client", "wrong")
	if resp, _ := do(t, req); resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d", resp.StatusCode)
	}
}

func TestCursorPagingAndItsErrors(t *testing.T) {
	t.Parallel()
	_, ts := start(t, Options{Users: 120})
	_, tok := token(t, ts, 0)
	auth := "Bearer " + tok
	resp, body := get(t, ts, "/api/2/users?limit=50", auth)
	h := resp.Header
	if h.Get("Total-Count") != "120" || h.Get("Total-Pages") != "3" || h.Get("Current-Page") != "1" || h.Get("Page-Items") != "50" {
		t.Errorf("headers %v", h)
	}
	raw, _ := base64.StdEncoding.DecodeString(h.Get("After-Cursor"))
	if string(raw) != "limit=50&sort=id&page=2&sort_direction=asc" {
		t.Errorf("after-cursor decodes to %q", raw)
	}
	var page []map[string]any
	_ = json.Unmarshal(body, &page)
	if len(page) != 50 || page[0]["custom_attributes"] != nil || page[0]["title"] != nil {
		t.Errorf("default fields: %v", page[0])
	}
	if _, has := page[0]["updated_at"]; !has {
		t.Errorf("no updated_at in the default list fields")
	}
	c := url.QueryEscape(h.Get("After-Cursor"))
	if resp, body := get(t, ts, "/api/2/users?limit=50&cursor="+c, auth); resp.StatusCode != 400 || !strings.Contains(string(body), "cursor xor pagination") {
		t.Errorf("cursor with limit: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, ts, "/api/2/users?cursor=%21%21", auth); resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid pagination cursor") {
		t.Errorf("bad cursor: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, ts, "/api/2/users?fields=id,manager_user_id&cursor="+url.QueryEscape(cursor(50, 3)), auth)
	page = nil
	_ = json.Unmarshal(body, &page)
	if resp.Header.Get("After-Cursor") != "" || len(page) != 20 || len(page[0]) > 2 {
		t.Errorf("last page: %v, %d users, %v", resp.Header, len(page), page[0])
	}
	resp, body = get(t, ts, "/api/2/users/"+strconv.Itoa(firstID+200), auth)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "NotFoundError") {
		t.Errorf("unknown id: %d %s", resp.StatusCode, body)
	}
}

func TestThrottleAnswersTheLoadBalancersPage(t *testing.T) {
	t.Parallel()
	_, ts := start(t, Options{HourlyLimit: 3})
	_, tok := token(t, ts, 0) // counts in no budget (onelogin-api.md §7.2)
	for range 3 {
		if resp, _ := get(t, ts, "/api/2/users", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("within the throttle: %d", resp.StatusCode)
		}
	}
	resp, body := get(t, ts, "/api/2/users", "Bearer "+tok)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || !strings.HasPrefix(string(body), "<html>") {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}

// TestResponsesMatchTheVendorSpec validates what the simulator serves
// against OneLogin's OpenAPI document (testdata/openapi, a copy of
// shared/reference/vendor). The fields whose real types differ from the
// spec (onelogin-api.md §3.2: manager_user_id, manager_ad_id, member_of and
// external_id arrive as numbers or arrays) are left out of the check, as
// are the types the spec gets wrong for timestamps' nullability.
func TestResponsesMatchTheVendorSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile("../../../testdata/openapi/onelogin-openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, ts := start(t, Options{Users: 60})
	_, tok := token(t, ts, 0)
	check := func(schema string, v map[string]any) {
		t.Helper()
		for _, k := range []string{"manager_user_id", "manager_ad_id", "member_of", "external_id"} {
			delete(v, k)
		}
		for k, x := range v {
			if x == nil {
				delete(v, k) // the spec marks no field nullable; OneLogin sends null for unset ones
			}
		}
		if err := doc.Components.Schemas[schema].Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not match the spec: %v", schema, err)
		}
	}
	_, body := get(t, ts, "/api/2/users?limit=50&fields="+strings.Join(AllFields, ","), "Bearer "+tok)
	var users []map[string]any
	if err := json.Unmarshal(body, &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		check("user", u)
	}
	_, body = get(t, ts, "/api/2/users/"+strconv.FormatInt(s.IDs(3)[0], 10), "Bearer "+tok)
	var one map[string]any
	_ = json.Unmarshal(body, &one)
	check("user", one)
	// The event type catalogue (onelogin-api.md §9 item 16), with the type
	// of a user deleted that the log's events carry.
	resp, body := get(t, ts, "/api/1/events/types", "Bearer "+tok)
	var types map[string]any
	if err := json.Unmarshal(body, &types); err != nil || resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("event types: %d %s", resp.StatusCode, body)
	}
	check("getEventTypes_200_response", types)
	if !strings.Contains(string(body), `{"description":"%actor_user% deleted user %user%","id":17,"name":"USER_DELETED"}`) {
		t.Errorf("no type 17 in %s", body)
	}
	if resp, _ := get(t, ts, "/api/1/events/types", "Bearer wrong"); resp.StatusCode != 401 {
		t.Errorf("event types without a token: %d", resp.StatusCode)
	}
}

// The event log as onelogin-api.md §5.3 and the vendor's spec describe it:
// the v1 envelope, 50 events a page, the next page by after_cursor (also
// as next_link), filters on type and created_at, and the v1 rate headers.
func TestEventLog(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile("../../../testdata/openapi/onelogin-openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	s, ts := start(t, Options{Users: 80, Clock: clk})
	_, tok := token(t, ts, 0)
	ids := s.IDs()
	s.Delete(ids[0])
	clk.Advance(time.Hour)
	cut := clk.Now()
	for _, id := range ids[1:56] {
		s.Delete(id)
	}
	s.AddEvent(5, ids[60]) // another type, about a user still there

	type page struct {
		Status     map[string]any   `json:"status"`
		Pagination map[string]any   `json:"pagination"`
		Data       []map[string]any `json:"data"`
	}
	read := func(path string) (page, *http.Response) {
		t.Helper()
		resp, body := get(t, ts, path, "Bearer "+tok)
		var p page
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return p, resp
	}
	first, resp := read("/api/1/events?event_type_id=17")
	if resp.Header.Get("X-RateLimit-Limit") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Error("a v1 answer without the rate headers")
	}
	if len(first.Data) != 50 || first.Status["code"] != float64(200) || first.Pagination["after_cursor"] == nil || first.Pagination["before_cursor"] != nil {
		t.Fatalf("first page: %d events, pagination %v", len(first.Data), first.Pagination)
	}
	next, _ := url.Parse(first.Pagination["next_link"].(string))
	if next.Query().Get("after_cursor") != first.Pagination["after_cursor"] || next.Query().Get("event_type_id") != "17" {
		t.Errorf("next_link %s", next)
	}
	second, _ := read(next.RequestURI())
	if len(second.Data) != 6 || second.Pagination["after_cursor"] != nil || second.Pagination["next_link"] != nil {
		t.Fatalf("second page: %d events, pagination %v", len(second.Data), second.Pagination)
	}
	deleted := map[float64]bool{}
	for _, e := range append(first.Data, second.Data...) {
		if e["event_type_id"] != float64(17) || deleted[e["user_id"].(float64)] {
			t.Errorf("event %v", e)
		}
		deleted[e["user_id"].(float64)] = true
		for k, v := range e {
			if v == nil {
				delete(e, k)
			}
		}
		if err := doc.Components.Schemas["event"].Value.VisitJSON(e, openapi3.MultiErrors()); err != nil {
			t.Errorf("an event does not match the spec: %v", err)
		}
	}
	if len(deleted) != 56 {
		t.Errorf("%d users' deletions, want 56", len(deleted))
	}
	since, _ := read("/api/1/events?event_type_id=17&since=" + url.QueryEscape(cut.Format(time.RFC3339)))
	if len(since.Data) != 50 {
		t.Errorf("since the cut: %d on the first page", len(since.Data))
	}
	all, _ := read("/api/1/events?user_id=" + strconv.FormatInt(ids[60], 10))
	if len(all.Data) != 1 || all.Data[0]["event_type_id"] != float64(5) {
		t.Errorf("by user: %v", all.Data)
	}
	if resp, body := get(t, ts, "/api/1/events?after_cursor=%21%21", "Bearer "+tok); resp.StatusCode != 400 || !strings.Contains(string(body), `"code":400`) {
		t.Errorf("a bad cursor: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, ts, "/api/1/events", "Bearer wrong"); resp.StatusCode != 401 || !strings.Contains(string(body), `"Authentication Failure"`) {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}

	s2, ts2 := start(t, Options{Users: 5, EventNullStrings: true, EventTypeAsString: true})
	_, tok2 := token(t, ts2, 0)
	s2.Delete(s2.IDs()[0])
	_, body := get(t, ts2, "/api/1/events", "Bearer "+tok2)
	if !strings.Contains(string(body), `"next_link":"null"`) || !strings.Contains(string(body), `"event_type_id":"17"`) {
		t.Errorf("the spec example's forms: %s", body)
	}
}

// An index of updated_at built ahead (IndexUpdates, as bench-serve does
// before any run) still answers updated_since listings right once users
// changed: the same as an index built by the listing itself, afterwards.
func TestAnIndexBuiltAheadAnswersAsOneBuiltAfterChanges(t *testing.T) {
	t.Parallel()
	ahead, ats := start(t, Options{Users: 300})
	after, afts := start(t, Options{Users: 300})
	ahead.IndexUpdates()
	ids := after.IDs()
	var bound string
	for _, u := range after.live() {
		if u.ID == ids[150] { // any user's updated_at splits the account
			bound = u.Updated.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano)
		}
	}
	for _, s := range []*Server{ahead, after} {
		s.SetTitle(ids[0], "Changed") // an early user, now updated after the bound
		s.Delete(ids[299])
	}
	_, atok := token(t, ats, 0)
	_, ftok := token(t, afts, 0)
	path := "/api/2/users?limit=100&updated_since=" + url.QueryEscape(bound)
	ar, ab := get(t, ats, path, "Bearer "+atok)
	fr, fb := get(t, afts, path, "Bearer "+ftok) // builds its index now
	var page []map[string]any
	_ = json.Unmarshal(fb, &page)
	if fr.StatusCode != 200 || len(page) == 0 || page[0]["id"] != float64(ids[0]) {
		t.Fatalf("the listing answered %d with %d users, the changed one first: %v", fr.StatusCode, len(page), page)
	}
	if string(ab) != string(fb) || ar.Header.Get("Total-Count") != fr.Header.Get("Total-Count") {
		t.Errorf("an index built ahead answered %s users, one built after the changes %s",
			ar.Header.Get("Total-Count"), fr.Header.Get("Total-Count"))
	}
}
