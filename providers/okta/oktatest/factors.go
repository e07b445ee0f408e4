package oktatest

import (
	"net/http"
	"strings"
)

// factors is GET /api/v1/users/{id}/factors (okta-api.md §5.4, the
// vendor's listFactors and UserFactor schemas): GA on both engines, so a
// Classic org, which has no devices API, answers it too. Each phone or
// tablet a user has (iOS, Android) is an Okta Verify enrolment: a push
// factor whose profile names the device (name, platform, deviceType) and
// carries Okta Verify's own version, not the OS's (UserFactorPushProfile),
// paired with its TOTP factor; a user with a mobile phone in the profile
// also has an SMS factor. Computers enrol no push factor here. The "other
// /api/v1" rate-limit bucket counts it (okta-api.md §7.3, an assumption).
func (s *Server) factors(w http.ResponseWriter, r *http.Request, key string) {
	u := s.lookup(key)
	if u == nil {
		notFound(w, key, "User")
		return
	}
	base := baseURL(r) + "/api/v1/users/" + u.id + "/factors/"
	_, _, login, _ := u.summary()
	created := u.created.Format(tsFormat)
	factor := func(id, kind string, profile map[string]any, verify bool) map[string]any {
		links := map[string]any{
			"self": map[string]any{"href": base + id, "hints": map[string]any{"allow": []any{"GET", "DELETE"}}},
			"user": map[string]any{"href": baseURL(r) + "/api/v1/users/" + u.id, "hints": map[string]any{"allow": []any{"GET"}}},
		}
		if verify {
			links["verify"] = map[string]any{"href": base + id + "/verify", "hints": map[string]any{"allow": []any{"POST"}}}
		}
		return map[string]any{"id": id, "factorType": kind, "provider": "OKTA", "vendorName": "OKTA", "status": "ACTIVE",
			"created": created, "lastUpdated": created, "profile": profile, "_links": links}
	}
	out := []any{}
	for k := range 4 {
		if !s.t.hasDevice(u, k) {
			continue
		}
		platform, _, model := s.t.device(u.idx, k)
		if platform != "IOS" && platform != "ANDROID" {
			continue
		}
		n := u.idx*4 + k
		out = append(out,
			factor("opf"+s.t.tag+pad(n, 10), "push", map[string]any{"credentialId": login, "deviceType": deviceType(platform, model),
				"name": deviceName(platform, model, n), "platform": platform, "version": []string{"9.27.0", "9.31.2"}[n%2],
				"deviceToken": "fw" + s.t.tag + pad(n, 10)}, true),
			factor("ost"+s.t.tag+pad(n, 10), "token:software:totp", map[string]any{"credentialId": login}, true))
	}
	if mobile, _ := u.prof()["mobilePhone"].(string); mobile != "" {
		out = append(out, factor("sms"+s.t.tag+pad(u.idx, 10), "sms", map[string]any{"phoneNumber": mobile}, true))
	}
	writeJSON(w, out)
}

// deviceType is Okta Verify's name for the kind of device a push factor
// is on (UserFactorPushProfile's example: SmartPhone_IPhone).
func deviceType(platform, model string) string {
	switch {
	case strings.HasPrefix(model, "iPad"):
		return "Tablet_IPad"
	case platform == "IOS":
		return "SmartPhone_IPhone"
	}
	return "SmartPhone_Android"
}
