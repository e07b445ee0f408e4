package oktatest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The System Log (okta-api.md §5.6): every mutation of the simulator
// records the events Okta records for it, and GET /api/v1/logs serves them
// with Okta's parameters and its polling behaviour.

// logRetention is how long Okta keeps events.
const logRetention = 90 * 24 * time.Hour

// logEvent is one System Log event, as LogEvent describes it.
type logEvent struct {
	uuid      string
	published time.Time
	eventType string
	display   string
	targets   []logTarget
}

// logTarget is one target[] entry.
type logTarget struct {
	ID, Type, AlternateID, DisplayName string
}

// syslog holds the events in order of publication.
type syslog struct {
	mu     sync.Mutex
	events []logEvent
	seq    int
}

// emit records an event published now.
func (s *Server) emit(eventType, display string, targets ...logTarget) {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.seq++
	n := s.log.seq
	// A version-1-looking UUID, unique per simulator and event.
	uuid := fmt.Sprintf("%08x-%04x-11ef-9d39-%012x", n, s.opts.Seed&0xffff, uint64(n)*0x9e3779b9)
	s.log.events = append(s.log.events, logEvent{uuid: uuid, published: s.now(), eventType: eventType,
		display: display, targets: targets})
}

// EventCount is how many events the log holds, for tests.
func (s *Server) EventCount() int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return len(s.log.events)
}

// Noise records n events a connector does not read (sign-ins), as a busy
// org's log is mostly made of.
func (s *Server) Noise(n int) {
	for range n {
		s.emit("user.session.start", "User login to Okta", s.userTarget(s.t.get(0)))
	}
}

func (s *Server) userTarget(u *user) logTarget {
	first, last, login, _ := u.summary()
	return logTarget{ID: u.id, Type: "User", AlternateID: fmt.Sprint(login), DisplayName: fmt.Sprintf("%v %v", first, last)}
}

func (s *Server) appTargets(u *user, j int) []logTarget {
	return []logTarget{
		{ID: "0ua" + s.t.tag + pad(u.idx*16+j, 10), Type: "AppUser", AlternateID: u.login(), DisplayName: fmt.Sprint(u.prof()["firstName"])},
		{ID: s.t.appID(j), Type: "AppInstance", AlternateID: appLabel(j), DisplayName: appLabel(j)},
		s.userTarget(u),
	}
}

func (s *Server) deviceTarget(u *user, k int) logTarget {
	_, _, model := s.t.device(u.idx, k)
	return logTarget{ID: s.t.deviceID(u.idx, k), Type: "Device", AlternateID: model, DisplayName: model}
}

// logFilter is the subset of the SCIM filter the log takes that a sync
// uses: eventType eq "...", joined with or.
var logFilter = regexp.MustCompile(`^\s*eventType eq "([a-z0-9_.]+)"\s*$`)

func parseLogFilter(f string) (map[string]bool, bool) {
	if strings.TrimSpace(f) == "" {
		return nil, true
	}
	types := map[string]bool{}
	for _, part := range strings.Split(f, " or ") {
		m := logFilter.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		types[m[1]] = true
	}
	return types, true
}

// listLogs is GET /api/v1/logs. Without until it is a polling query: the
// answer always carries a next link, also when it is empty (its after then
// comes back unchanged). Events older than the retention are gone; events
// are visible LogLag after they are published, as Okta's log lags a little.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	if s.noLogs.Load() {
		writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	q := r.URL.Query()
	now := s.now()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit", "limit: must be between 0 and 1000.")
			return
		}
		limit = n
	}
	parseTime := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: "+name, name+": not an ISO 8601 timestamp.")
			return time.Time{}, false
		}
		return t, true
	}
	since, ok1 := parseTime("since")
	until, ok2 := parseTime("until")
	if !ok1 || !ok2 {
		return
	}
	polling := until.IsZero()
	if since.IsZero() {
		ref := until
		if polling {
			ref = now
		}
		since = ref.Add(-7 * 24 * time.Hour)
	}
	types, ok := parseLogFilter(q.Get("filter"))
	if !ok {
		writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", "Invalid filter syntax.")
		return
	}
	if q.Get("sortOrder") != "" && q.Get("sortOrder") != "ASCENDING" && q.Get("sortOrder") != "DESCENDING" {
		writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: sortOrder")
		return
	}
	start := 0
	if a := q.Get("after"); a != "" {
		n, err := decodeAfter(a)
		if err != nil {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after", "after: Invalid cursor.")
			return
		}
		start = n
	}
	s.log.mu.Lock()
	var out []any
	pos := start
	for ; pos < len(s.log.events) && len(out) < limit; pos++ {
		e := s.log.events[pos]
		if e.published.Add(s.opts.LogLag).After(now) {
			break // not visible yet: the next poll will see it
		}
		if e.published.Before(since) || e.published.Before(now.Add(-logRetention)) ||
			(!polling && !e.published.Before(until)) || (types != nil && !types[e.eventType]) {
			continue
		}
		out = append(out, e.json())
	}
	s.log.mu.Unlock()
	if q.Get("sortOrder") == "DESCENDING" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	var next url.Values
	if polling || len(out) == limit {
		next = r.URL.Query()
		next.Set("after", encodeAfter(pos))
	}
	s.setLinks(w, r, next)
	if out == nil {
		out = []any{}
	}
	writeJSON(w, out)
}

// encodeAfter makes the opaque after of the next link.
func encodeAfter(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1:" + strconv.Itoa(pos)))
}

func decodeAfter(a string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(string(b), "1:")
	if !ok {
		return 0, fmt.Errorf("bad cursor")
	}
	return strconv.Atoi(v)
}

func (e logEvent) json() map[string]any {
	targets := make([]any, 0, len(e.targets))
	for _, t := range e.targets {
		targets = append(targets, map[string]any{"id": t.ID, "type": t.Type, "alternateId": t.AlternateID,
			"displayName": t.DisplayName})
	}
	// Okta's answers carry nulls (detailEntry, outcome.reason ...) that its
	// OpenAPI document does not allow; the simulator leaves those fields
	// out, which a client must read the same way.
	return map[string]any{
		"uuid": e.uuid, "published": e.published.UTC().Format(tsFormat), "eventType": e.eventType, "version": "0",
		"severity": "INFO", "displayMessage": e.display,
		"actor": map[string]any{"id": "00uadmin0000000000a1", "type": "User", "alternateId": "admin@example.com",
			"displayName": "Sim Admin"},
		"client":                map[string]any{"zone": "null", "device": "Unknown", "ipAddress": "127.0.0.1"},
		"outcome":               map[string]any{"result": "SUCCESS"},
		"transaction":           map[string]any{"type": "WEB", "id": "sim-" + e.uuid[:8], "detail": map[string]any{}},
		"debugContext":          map[string]any{"debugData": map[string]any{}},
		"authenticationContext": map[string]any{"authenticationStep": 0, "externalSessionId": "sim"},
		"target":                targets,
	}
}
