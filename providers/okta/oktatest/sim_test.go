package oktatest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"neurons-connector/clock"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const token = "sim-test-token"

func start(t *testing.T, o Options) (*Server, *httptest.Server, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	if o.Clock == nil {
		o.Clock = fc
	}
	o.Token = token
	s := New(o)
	ts := s.Start()
	t.Cleanup(ts.Close)
	return s, ts, fc
}

func call(t *testing.T, ts *httptest.Server, method, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json; okta-response=omitCredentials")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func ok(t *testing.T, ts *httptest.Server, path string) (http.Header, []map[string]any) {
	t.Helper()
	resp, body := call(t, ts, http.MethodGet, path, "SSWS "+token)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.Header, out
}

func TestEveryResponseCarriesOktaHeaders(t *testing.T) {
	t.Parallel()
	_, ts, _ := start(t, Options{Users: 20})
	for _, c := range []struct{ path, auth string }{{"/api/v1/users", "SSWS " + token}, {"/api/v1/users", "Bearer " + token},
		{"/api/v1/users", "SSWS wrong"}, {"/api/v1/nope", "SSWS " + token}} {
		resp, body := call(t, ts, http.MethodGet, c.path, c.auth)
		if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(t0) {
			t.Errorf("%s: Date %q", c.path, resp.Header.Get("Date"))
		}
		if resp.Header.Get("X-Okta-Request-Id") == "" {
			t.Errorf("%s: no request id", c.path)
		}
		if resp.Header.Get("X-Rate-Limit-Remaining") == "" {
			t.Errorf("%s %s: no rate headers", c.path, c.auth)
		}
		if c.auth == "SSWS wrong" {
			if resp.StatusCode != 401 || !strings.Contains(string(body), `"errorCode":"E0000011"`) {
				t.Errorf("bad token: %d %s", resp.StatusCode, body)
			}
			continue
		}
		if resp.Header.Get("X-Rate-Limit-Limit") == "" || resp.Header.Get("X-Rate-Limit-Reset") == "" {
			t.Errorf("%s: no rate headers: %v", c.path, resp.Header)
		}
	}
	if resp, _ := call(t, ts, http.MethodGet, "/api/v1/users", ""); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}

func TestPaginationSeparateLinkLinesAndLimits(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 450, NoLimits: true})
	h, page := ok(t, ts, "/api/v1/users?limit=1000&filter="+url.QueryEscape(`status eq "ACTIVE" or status eq "DEPROVISIONED"`))
	if len(page) != 200 {
		t.Errorf("limit 1000 gave %d users; Okta clamps at 200", len(page))
	}
	links := h.Values("Link")
	if len(links) != 2 || !strings.HasSuffix(links[0], `rel="self"`) || !strings.HasSuffix(links[1], `rel="next"`) {
		t.Fatalf("links %q", links)
	}
	if resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=0", "SSWS "+token); resp.StatusCode != 400 || !strings.Contains(string(body), "E0000001") {
		t.Errorf("limit=0: %d %s", resp.StatusCode, body)
	}
	// The default listing pages through everyone but DEPROVISIONED, with
	// no next link on the last page.
	seen, next := 0, "/api/v1/users?limit=100"
	for next != "" {
		h, page := ok(t, ts, next)
		seen += len(page)
		next = ""
		for _, l := range h.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				u, _ := url.Parse(strings.Trim(strings.Split(l, ";")[0], "<>"))
				next = u.RequestURI()
			}
		}
	}
	want := len(s.IDs("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"))
	if seen != want {
		t.Errorf("default listing: %d users, want %d", seen, want)
	}
	_, q := ok(t, ts, "/api/v1/users?q=a")
	if len(q) > 10 {
		t.Errorf("q returned %d users; its default limit is 10", len(q))
	}
}

func TestFilterAndSearchSemantics(t *testing.T) {
	t.Parallel()
	s, ts, fc := start(t, Options{Users: 300, NoLimits: true})
	id := s.IDs("ACTIVE")[0]
	fc.Advance(time.Hour)
	if err := s.EditProfile(id, map[string]any{"title": "Tester"}); err != nil {
		t.Fatal(err)
	}
	since := t0.Add(30 * time.Minute).Format(tsFormat)
	_, got := ok(t, ts, "/api/v1/users?filter="+url.QueryEscape(`lastUpdated ge "`+since+`"`))
	if len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("lastUpdated filter: %d users", len(got))
	}
	_, lower := ok(t, ts, "/api/v1/users?filter="+url.QueryEscape(`status eq "active"`))
	if len(lower) != 0 {
		t.Error("filter values are case-sensitive in Okta")
	}
	_, found := ok(t, ts, "/api/v1/users?search="+url.QueryEscape(`status eq "active" and profile.title eq "tester"`))
	if len(found) != 1 {
		t.Errorf("search is case-insensitive: %d", len(found))
	}
	_, pr := ok(t, ts, "/api/v1/users?search="+url.QueryEscape("status pr"))
	if len(pr) != 200 {
		t.Errorf("status pr: %d", len(pr))
	}
	for _, bad := range []string{`status eq ACTIVE`, `profile.title eq "x"`, `lastUpdated gt "yesterday"`, `status eq "A" or`, `(status eq "A"`} {
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users?filter="+url.QueryEscape(bad), "SSWS "+token)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"errorCode":"E0000031"`) || !strings.Contains(string(body), "Invalid search syntax.") {
			t.Errorf("filter %q: %d %s", bad, resp.StatusCode, body)
		}
	}
}

func TestMutationsBumpLastUpdated(t *testing.T) {
	t.Parallel()
	s, ts, fc := start(t, Options{Users: 50, NoLimits: true})
	id := s.IDs("ACTIVE")[1]
	before, _ := s.LastUpdated(id)
	fc.Advance(90 * time.Second)
	if err := s.SetStatus(id, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	after, _ := s.LastUpdated(id)
	if !after.Equal(t0.Add(90*time.Second)) || !after.After(before) {
		t.Errorf("lastUpdated %v -> %v", before, after)
	}
	// Delete: the first call deactivates, the second removes for good.
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := s.User(id); st != "DEPROVISIONED" {
		t.Errorf("after one delete: %s", st)
	}
	resp, _ := call(t, ts, http.MethodDelete, "/api/v1/users/"+id, "SSWS "+token)
	if resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp, body := call(t, ts, http.MethodGet, "/api/v1/users/"+id, "SSWS "+token); resp.StatusCode != 404 || !strings.Contains(string(body), "E0000007") {
		t.Errorf("deleted user: %d %s", resp.StatusCode, body)
	}
	assigned := s.IDs("ACTIVE")[2]
	lu, _ := s.LastUpdated(assigned)
	_ = s.Assign(assigned, 3)
	if lu2, _ := s.LastUpdated(assigned); !lu2.Equal(lu) {
		t.Error("an app assignment changed lastUpdated")
	}
}

func TestRateLimitsPerBucketAndToken(t *testing.T) {
	t.Parallel()
	_, ts, fc := start(t, Options{Users: 10, Limits: map[string]int{"users": 10}})
	var codes []int
	for range 7 {
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users", "SSWS "+token)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 {
			if !strings.Contains(string(body), "E0000047") || resp.Header.Get("X-Rate-Limit-Remaining") != "0" {
				t.Errorf("429: %s %v", body, resp.Header)
			}
			reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
			if reset != t0.Truncate(time.Minute).Add(time.Minute).Unix() {
				t.Errorf("reset %d", reset)
			}
		}
	}
	// The token may use half of the bucket: 5 of 10.
	if codes[4] != 200 || codes[5] != 429 {
		t.Fatalf("codes %v", codes)
	}
	fc.Advance(time.Minute)
	if resp, _ := call(t, ts, http.MethodGet, "/api/v1/users", "SSWS "+token); resp.StatusCode != 200 {
		t.Errorf("after the window: %d", resp.StatusCode)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 10, Concurrency: 2, NoLimits: true})
	s.Inject(Fault{Path: "/api/v1/org", Times: 6, Delay: 200 * time.Millisecond})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := call(t, ts, http.MethodGet, "/api/v1/org", "SSWS "+token)
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] == 0 {
		t.Errorf("codes %v", codes)
	}
}

// TestResponsesMatchTheVendorSpec validates what the simulator serves
// against Okta's own OpenAPI document (testdata/openapi, a copy of
// shared/reference/vendor).
func TestResponsesMatchTheVendorSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile("../../../testdata/openapi/okta-management-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, ts, _ := start(t, Options{Users: 120, NoLimits: true})
	check := func(schema string, v any) {
		t.Helper()
		ref := doc.Components.Schemas[schema]
		if ref == nil {
			t.Fatalf("no schema %s", schema)
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not match the spec: %v", schema, err)
		}
	}
	asAny := func(body []byte) any {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	_, users := ok(t, ts, "/api/v1/users?search=status+pr")
	for _, u := range users {
		check("User", map[string]any(u))
	}
	_, one := call(t, ts, http.MethodGet, "/api/v1/users/"+s.IDs("ACTIVE")[0], "SSWS "+token)
	check("User", asAny(one))
	_, org := call(t, ts, http.MethodGet, "/api/v1/org", "SSWS "+token)
	check("OrgSetting", asAny(org))
	_, appUsers := ok(t, ts, "/api/v1/apps/"+s.AppID(0)+"/users?limit=50")
	for _, au := range appUsers {
		check("AppUser", map[string]any(au))
	}
	_, devices := ok(t, ts, "/api/v1/devices?expand=user&limit=20")
	for _, d := range devices {
		check("DeviceList", map[string]any(d))
	}
	_, userDevices := ok(t, ts, "/api/v1/users/"+s.IDs("ACTIVE")[0]+"/devices")
	for _, d := range userDevices {
		check("UserDevice", map[string]any(d))
	}
	pushes := 0
	for _, id := range s.IDs("ACTIVE")[:40] {
		_, factors := ok(t, ts, "/api/v1/users/"+id+"/factors")
		for _, f := range factors {
			check("UserFactor", map[string]any(f))
			if f["factorType"] == "push" {
				check("UserFactorPush", map[string]any(f))
				pushes++
			}
		}
	}
	if pushes == 0 {
		t.Error("no push factor among 40 users")
	}
	id := s.IDs("ACTIVE")[1]
	if err := s.Assign(id, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDevice(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Deactivate(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	_, events := ok(t, ts, "/api/v1/logs?since=2026-01-01T00:00:00.000Z")
	if len(events) != 5 {
		t.Errorf("%d events", len(events))
	}
	for _, e := range events {
		check("LogEvent", map[string]any(e))
	}
}

// By default each page's users come out of ID order, the same ones, and
// page on from the same cursor as an Ordered listing's.
func TestPagesAreShuffledUnlessOrdered(t *testing.T) {
	ids := func(users []map[string]any) []string {
		var out []string
		for _, u := range users {
			out = append(out, u["id"].(string))
		}
		return out
	}
	_, ordered, _ := start(t, Options{Users: 450, NoLimits: true, Ordered: true})
	_, unordered, _ := start(t, Options{Users: 450, NoLimits: true})
	hOrd, pOrd := ok(t, ordered, "/api/v1/users?limit=200")
	hUn, pUn := ok(t, unordered, "/api/v1/users?limit=200")
	want, got := ids(pOrd), ids(pUn)
	if !sort.StringsAreSorted(want) {
		t.Fatal("the ordered listing is not by ID")
	}
	if sort.StringsAreSorted(got) {
		t.Fatal("the unordered page came in ID order")
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatal("the unordered page holds other users")
	}
	strip := func(h http.Header) string { // the host differs, the cursor must not
		for _, l := range h.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				return l[strings.Index(l, "after="):]
			}
		}
		return ""
	}
	if a, b := strip(hOrd), strip(hUn); a == "" || a != b {
		t.Fatalf("next cursors %q and %q", a, b)
	}
}

// An org can have hundreds of apps, as enterprises do: listed 200 a page,
// the well-known sixteen first, then numbered copies ("Slack 2") that
// each belong to a small team (one user in fifty).
func TestManyApps(t *testing.T) {
	t.Parallel()
	_, ts, _ := start(t, Options{Users: 1000, Apps: 300, NoLimits: true})
	h, first := ok(t, ts, "/api/v1/apps?limit=200")
	next := ""
	for _, l := range h.Values("Link") {
		if strings.Contains(l, `rel="next"`) {
			next = l[strings.Index(l, "/api/v1/apps"):strings.Index(l, ">")]
		}
	}
	if len(first) != 200 || next == "" {
		t.Fatalf("first page: %d apps, next %q", len(first), next)
	}
	_, second := ok(t, ts, next)
	apps := append(first, second...)
	labels := map[string]bool{}
	for _, a := range apps {
		labels[a["label"].(string)] = true
	}
	if len(apps) != 300 || len(labels) != 300 || !labels["Slack"] || !labels["Slack 2"] {
		t.Fatalf("%d apps, %d labels", len(apps), len(labels))
	}
	_, small := ok(t, ts, "/api/v1/apps/"+apps[250]["id"].(string)+"/users?limit=500")
	_, big := ok(t, ts, "/api/v1/apps/"+apps[3]["id"].(string)+"/users?limit=500")
	if len(small) < 5 || len(small) > 40 || len(big) < 150 || len(big) > 250 {
		t.Errorf("a team app has %d users of 1000, a well-known one %d", len(small), len(big))
	}
}
