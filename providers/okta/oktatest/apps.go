package oktatest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

func (s *Server) appJSON(j int, base string) map[string]any {
	label := appLabel(j)
	id := s.t.appID(j)
	created := s.t.base.Add(-time.Duration(400+j) * 24 * time.Hour)
	return map[string]any{
		"id": id, "name": appName(label), "label": label, "status": "ACTIVE",
		"created": created.Format(tsFormat), "lastUpdated": created.Format(tsFormat),
		"signOnMode": "SAML_2_0", "features": []any{},
		"accessibility": map[string]any{"selfService": false, "errorRedirectUrl": nil, "loginRedirectUrl": nil},
		"visibility":    map[string]any{"autoSubmitToolbar": false, "hide": map[string]any{"iOS": false, "web": false}},
		"_links": map[string]any{"users": map[string]any{"href": base + "/api/v1/apps/" + id + "/users"},
			"logo": []any{map[string]any{"name": "medium", "href": base + "/assets/img/logos/" + appName(label) + ".png", "type": "image/png"}}},
	}
}

func appName(label string) string {
	return strings.ReplaceAll(strings.ToLower(label), " ", "_")
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, start, ok := s.pageParams(w, q, 20, 200, "0oa")
	if !ok {
		return
	}
	if f := q.Get("filter"); f != "" && f != `status eq "ACTIVE"` && f != `status eq "INACTIVE"` {
		writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", "Invalid search syntax.")
		return
	}
	var out []any
	j := start
	if q.Get("filter") != `status eq "INACTIVE"` {
		for ; j < s.t.nApps && len(out) < limit; j++ {
			out = append(out, s.appJSON(j, baseURL(r)))
		}
	}
	var next url.Values
	if len(out) == limit && j < s.t.nApps {
		next = nextPage(r, s.t.appID(j-1))
	}
	s.setLinks(w, r, next)
	if out == nil {
		out = []any{}
	}
	writeJSON(w, out)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, id string) {
	j, ok := s.t.indexOf("0oa", id)
	if !ok || j >= s.t.nApps {
		notFound(w, id, "AppInstance")
		return
	}
	writeJSON(w, s.appJSON(j, baseURL(r)))
}

func (s *Server) appUsers(w http.ResponseWriter, r *http.Request, appID string) {
	j, ok := s.t.indexOf("0oa", appID)
	if !ok || j >= s.t.nApps {
		notFound(w, appID, "AppInstance")
		return
	}
	limit, start, ok := s.pageParams(w, r.URL.Query(), 50, 500, "00u")
	if !ok {
		return
	}
	b := make([]byte, 0, 512*limit) // an app user is some 450 bytes: a page grown once at most, not from nothing
	b = append(b, '[')
	n, total, last := 0, s.t.total(), ""
	base := baseURL(r)
	appHref := base + "/api/v1/apps/" + appID
	i := start
	for ; i < total && n < limit; i++ {
		if !s.t.mayHaveApp(i, j) {
			continue
		}
		u := s.t.get(i)
		if u == nil {
			continue
		}
		has, group := s.t.assigned(u, j)
		if !has {
			continue
		}
		scope := "USER"
		if group {
			scope = "GROUP"
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, u.id)
		b = append(b, `,"created":`...)
		b = appendTime(b, u.created)
		b = append(b, `,"lastUpdated":`...)
		b = appendTime(b, u.lastUpdated)
		b = append(b, `,"scope":"`+scope+`","status":"PROVISIONED","statusChanged":`...)
		b = appendTime(b, u.created)
		b = append(b, `,"syncState":"DISABLED","credentials":{"userName":`...)
		b = appendString(b, u.login())
		b = append(b, `},"profile":{},"_links":{"app":{"href":`...)
		b = appendString(b, appHref)
		b = append(b, `},"user":{"href":`...)
		b = appendString(b, base+"/api/v1/users/"+u.id)
		b = append(b, `}}}`...)
		n++
		last = u.id
	}
	var next url.Values
	if n == limit && i < total {
		next = nextPage(r, last)
	}
	s.setLinks(w, r, next)
	writeBody(w, append(b, ']'))
}

// appLinks lists a user's app links, unpaginated; the id of every element
// is the user's ID, and the first app has two links (okta-api.md §5.2).
func (s *Server) appLinks(w http.ResponseWriter, r *http.Request, key string) {
	u := s.lookup(key)
	if u == nil {
		notFound(w, key, "User")
		return
	}
	out := []any{}
	for j := 0; j < s.t.nApps; j++ {
		if has, _ := s.t.assigned(u, j); !has {
			continue
		}
		labels := []string{appLabel(j)}
		if j == 0 {
			labels = []string{"Google Mail", "Google Drive"}
		}
		for _, label := range labels {
			out = append(out, map[string]any{
				"id": u.id, "label": label, "linkUrl": baseURL(r) + "/home/" + appName(appLabel(j)) + "/" + s.t.appID(j),
				"logoUrl": baseURL(r) + "/img/logos/" + appName(appLabel(j)) + ".png", "appName": appName(appLabel(j)),
				"appInstanceId": s.t.appID(j), "appAssignmentId": "0ua" + s.t.tag + pad(u.idx*16+j, 10),
				"credentialsSetup": false, "hidden": false, "sortOrder": len(out),
			})
		}
	}
	writeJSON(w, out)
}

// deviceName is a device's display name: a Windows computer's name, which
// is its own (DESKTOP-1A2B3C4), or the model the phone or Mac reports
// ("Pixel", as okta-api.md's sample has it). Real orgs hold as many names
// as Windows computers, so a client that keys anything on the name holds
// as much.
func deviceName(platform, model string, n int) string {
	if platform != "WINDOWS" {
		return model
	}
	return "DESKTOP-" + strings.ToUpper(pad(n, 7))
}

// serialNumber is device n's serial number, its own as a computer's name
// is, in the form of its maker's (Apple's twelve characters, a PC maker's
// eight).
func serialNumber(platform string, n int) string {
	switch platform {
	case "IOS", "MACOS":
		return "C02" + strings.ToUpper(pad(n, 9))
	case "ANDROID":
		return "R5C" + strings.ToUpper(pad(n, 8))
	}
	return "PF" + strings.ToUpper(pad(n, 6))
}

// appendDevice writes a device as /api/v1/devices lists it; expand
// ("user" or "userSummary") embeds its user.
func (s *Server) appendDevice(b []byte, i, k int, u *user, base, expand string) []byte {
	platform, osVersion, model := s.t.device(i, k)
	id := s.t.deviceID(i, k)
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"status":"ACTIVE","created":`...)
	b = appendTime(b, u.created)
	b = append(b, `,"lastUpdated":`...)
	b = appendTime(b, u.created)
	name := deviceName(platform, model, i*4+k)
	b = append(b, `,"profile":{"displayName":`...)
	b = appendString(b, name)
	b = append(b, `,"platform":`...)
	b = appendString(b, platform)
	b = append(b, `,"manufacturer":`...)
	b = appendString(b, manufacturer(platform))
	b = append(b, `,"model":`...)
	b = appendString(b, model)
	b = append(b, `,"serialNumber":`...)
	b = appendString(b, serialNumber(platform, i*4+k))
	b = append(b, `,"osVersion":`...)
	b = appendString(b, osVersion)
	b = append(b, `,"registered":true,"secureHardwarePresent":false},"resourceType":"UDDevice","resourceDisplayName":{"value":`...)
	b = appendString(b, name)
	b = append(b, `,"sensitive":false},"resourceId":`...)
	b = appendString(b, id)
	b = append(b, `,"_links":{"self":{"href":`...)
	b = appendString(b, base+"/api/v1/devices/"+id)
	b = append(b, `}}`...)
	if expand == "user" || expand == "userSummary" {
		b = append(b, `,"_embedded":{"users":[{"managementStatus":"`...)
		b = append(b, []string{"MANAGED", "NOT_MANAGED"}[k%2]...)
		b = append(b, `","created":`...)
		b = appendTime(b, u.created)
		b = append(b, `,"screenLockType":"`...)
		b = append(b, []string{"BIOMETRIC", "PASSCODE", "NONE"}[(i+k)%3]...)
		b = append(b, `","user":`...)
		if expand == "user" {
			b = s.appendUser(b, u, base, false, true)
		} else {
			first, last, login, email := u.summary()
			b = append(b, `{"id":`...)
			b = appendString(b, u.id)
			b = append(b, `,"realmId":"guo1bfiNtSnZYILxO0g4","profile":{"firstName":`...)
			b = appendValue(b, first)
			b = append(b, `,"lastName":`...)
			b = appendValue(b, last)
			b = append(b, `,"login":`...)
			b = appendValue(b, login)
			b = append(b, `,"email":`...)
			b = appendValue(b, email)
			b = append(b, `}}`...)
		}
		b = append(b, `}]}`...)
	}
	return append(b, '}')
}

func manufacturer(platform string) string {
	switch platform {
	case "IOS", "MACOS":
		return "Apple"
	case "ANDROID":
		return "Google"
	}
	return "Lenovo"
}

// rawJSON embeds already-encoded JSON in a value passed to writeJSON.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	if s.opts.Classic {
		notFound(w, r.URL.Path, "Route")
		return
	}
	q := r.URL.Query()
	limit, start, ok := s.pageParams(w, q, 200, 200, "guo")
	if !ok {
		return
	}
	b := make([]byte, 0, 1024*limit)
	b = append(b, '[')
	n, total, lastID, base, expand := 0, s.t.total(), "", baseURL(r), q.Get("expand")
	pos := start
	for ; pos/4 < total && n < limit; pos++ {
		i, k := pos/4, pos%4
		if (k < 2 && k >= s.t.deviceCount(i)) || (k >= 2 && !s.t.mayHaveAddedDevices(i)) {
			continue // cheap tests first: most slots hold no device
		}
		u := s.t.get(i)
		if u == nil || !s.t.hasDevice(u, k) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = s.appendDevice(b, i, k, u, base, expand)
		n++
		lastID = s.t.deviceID(i, k)
	}
	var next url.Values
	if n == limit && pos/4 < total {
		next = nextPage(r, lastID)
	}
	s.setLinks(w, r, next)
	writeBody(w, append(b, ']'))
}

func (s *Server) userDevices(w http.ResponseWriter, r *http.Request, key string) {
	if s.opts.Classic {
		notFound(w, r.URL.Path, "Route")
		return
	}
	u := s.lookup(key)
	if u == nil {
		notFound(w, key, "User")
		return
	}
	out := []any{}
	for k := range 4 {
		if !s.t.hasDevice(u, k) {
			continue
		}
		out = append(out, map[string]any{"created": u.created.Format(tsFormat), "deviceUserId": "dvu" + s.t.tag + pad(u.idx*4+k, 10),
			"device": rawJSON(s.appendDevice(nil, u.idx, k, u, baseURL(r), ""))})
	}
	writeJSON(w, out)
}

func (s *Server) org(w http.ResponseWriter, r *http.Request) {
	created := s.t.base.Add(-5 * 365 * 24 * time.Hour).Format(tsFormat)
	writeJSON(w, map[string]any{
		"id": s.OrgID(), "subdomain": "acme", "companyName": "Acme (simulated)",
		"status": "ACTIVE", "created": created, "lastUpdated": created,
		"website": "https://acme.example", "phoneNumber": "+1 555 0100", "address1": "301 Brannan St",
		"city": "San Francisco", "state": "CA", "country": "United States", "postalCode": "94107",
		"_links": map[string]any{"contacts": map[string]any{"href": baseURL(r) + "/api/v1/org/contacts"}},
	})
}

// wellKnown is GET /.well-known/okta-organization: the org's id and
// pipeline, served without authentication (WellKnownOrgMetadata).
func (s *Server) wellKnown(w http.ResponseWriter, r *http.Request) {
	pipeline := "idx"
	if s.opts.Classic {
		pipeline = "v1"
	}
	writeJSON(w, map[string]any{"id": s.OrgID(), "pipeline": pipeline,
		"_links": map[string]any{"organization": map[string]any{"href": baseURL(r)}}})
}
