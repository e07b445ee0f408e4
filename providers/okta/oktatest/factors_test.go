package oktatest

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// Each phone or tablet of a user is an Okta Verify push factor naming it,
// with Okta Verify's version, not the OS's; computers enrol none. A Classic
// org, which has no devices API, still answers factors; an unknown user is
// Okta's 404; the calls count in the "other /api/v1" bucket.
func TestFactorsNameTheUsersPhones(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 60})
	_, classic, _ := start(t, Options{Users: 60, Classic: true})
	phones, computers := 0, 0
	for _, id := range s.IDs("ACTIVE") {
		_, devices := ok(t, ts, "/api/v1/users/"+id+"/devices")
		var want []string
		for _, d := range devices {
			p := d["device"].(map[string]any)["profile"].(map[string]any)
			if p["platform"] == "IOS" || p["platform"] == "ANDROID" {
				want = append(want, p["platform"].(string)+" "+p["displayName"].(string))
			} else {
				computers++
			}
		}
		h, factors := ok(t, ts, "/api/v1/users/"+id+"/factors")
		if h.Get("X-Rate-Limit-Limit") != strconv.Itoa(s.Limit("other")) {
			t.Fatalf("factors counted in a bucket of limit %s", h.Get("X-Rate-Limit-Limit"))
		}
		var got []string
		for _, f := range factors {
			if f["factorType"] != "push" {
				continue
			}
			p := f["profile"].(map[string]any)
			got = append(got, p["platform"].(string)+" "+p["name"].(string))
			if v := p["version"].(string); v != "9.27.0" && v != "9.31.2" {
				t.Errorf("push factor version %q: Okta Verify's, not the OS's", v)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("user %s: push factors %v, phones and tablets %v", id, got, want)
		}
		phones += len(want)
		if _, body := call(t, classic, http.MethodGet, "/api/v1/users/"+id+"/factors", "SSWS "+token); string(body) == "[]" && len(want) > 0 { //nolint:bodyclose // call closes it
			t.Errorf("the Classic org lists no factors for %s", id)
		}
	}
	if phones == 0 || computers == 0 {
		t.Fatalf("the tenant has %d phones and %d computers: the test needs both", phones, computers)
	}
	if resp, _ := call(t, classic, http.MethodGet, "/api/v1/users/"+s.IDs("ACTIVE")[0]+"/devices", "SSWS "+token); resp.StatusCode != http.StatusNotFound { //nolint:bodyclose // call closes it
		t.Errorf("the Classic org's devices API answered %d", resp.StatusCode)
	}
	if resp, body := call(t, ts, http.MethodGet, "/api/v1/users/00unknown0000000000/factors", "SSWS "+token); resp.StatusCode != http.StatusNotFound { //nolint:bodyclose // call closes it
		t.Errorf("an unknown user's factors: %d %s", resp.StatusCode, body)
	}
}
