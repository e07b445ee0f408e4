package onelogintest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The account's event log, GET /api/1/events (onelogin-api.md §5.3): the
// v1 envelope, pagination in the body (after_cursor, next_link), up to 50
// events a page, filters on event type, user and created_at (since,
// until). A user deleted for good leaves an event of type 17, the only
// trace of the deletion. Newest first: the order is not documented, and a
// client must not depend on one.

// EventUserDeleted is the event type of a user deleted.
const EventUserDeleted = 17

// eventsPageSize is the most events a page holds.
const eventsPageSize = 50

// firstEventID numbers the account's events, as OneLogin's large ids.
const firstEventID = 900_000_000

// event is one entry of the log.
type event struct {
	id       int64
	created  time.Time
	typeID   int
	userID   int64
	userName string
}

// recordEvent adds an event about user u; callers hold mu.
func (s *Server) recordEvent(typeID int, u *User) {
	e := event{id: firstEventID + int64(len(s.events)), created: s.clock.Now().Truncate(time.Second), typeID: typeID}
	if u != nil {
		e.userID, e.userName = u.ID, u.First+" "+u.Last
	}
	s.events = append(s.events, e)
}

// AddEvent records an event of typeID about user id (which need not be
// deleted): an entry a client must check before it trusts it, as a user
// deleted and restored from a directory would leave.
func (s *Server) AddEvent(typeID int, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *User
	if idx, ok := s.index(id); ok {
		u = s.user(idx)
	}
	s.recordEvent(typeID, u)
	if u == nil {
		s.events[len(s.events)-1].userID = id
	}
}

// listEvents answers GET /api/1/events.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var types []int
	for _, v := range q["event_type_id"] {
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				v1BadRequest(w, "event_type_id must be a list of integers")
				return
			}
			types = append(types, n)
		}
	}
	var since, until time.Time
	for name, t := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			p, err := time.Parse(time.RFC3339, v)
			if err != nil {
				v1BadRequest(w, name+" must be an ISO 8601 time")
				return
			}
			*t = p
		}
	}
	var userID int64
	if v := q.Get("user_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			v1BadRequest(w, "user_id must be an integer")
			return
		}
		userID = n
	}
	below := int64(-1) // after_cursor: the next page holds events below this id
	if c := q.Get("after_cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "id:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "id:") {
			v1BadRequest(w, "Invalid after_cursor")
			return
		}
		below = n
	}
	s.mu.Lock()
	var page []event
	more := false
	for _, e := range slices.Backward(s.events) {
		switch {
		case below >= 0 && e.id >= below,
			len(types) > 0 && !slices.Contains(types, e.typeID),
			userID != 0 && e.userID != userID,
			!since.IsZero() && e.created.Before(since),
			!until.IsZero() && e.created.After(until):
			continue
		}
		if len(page) == eventsPageSize {
			more = true
			break
		}
		page = append(page, e)
	}
	account, nullStrings, typeAsString := s.accountID, s.opts.EventNullStrings, s.opts.EventTypeAsString
	s.mu.Unlock()

	absent := any(nil)
	if nullStrings {
		absent = "null" // as the spec's example writes absent links
	}
	pagination := map[string]any{"before_cursor": absent, "previous_link": absent, "after_cursor": absent, "next_link": absent}
	if more {
		next := base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatInt(page[len(page)-1].id, 10)))
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after_cursor", next)
		pagination["after_cursor"] = next
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		pagination["next_link"] = scheme + "://" + r.Host + "/api/1/events?" + nq.Encode()
	}
	data := make([]map[string]any, 0, len(page))
	for _, e := range page {
		var typeID any = e.typeID
		if typeAsString {
			typeID = strconv.Itoa(e.typeID)
		}
		item := map[string]any{"id": e.id, "created_at": e.created.UTC().Format("2006-01-02T15:04:05.000Z"), "event_type_id": typeID,
			"account_id": account, "user_id": e.userID, "user_name": e.userName, "actor_user_id": firstID, "actor_user_name": "Admin",
			"actor_system": "", "ipaddr": "203.0.113.7", "notes": nil, "custom_message": nil, "app_id": nil, "role_id": nil, "group_id": nil}
		if e.userID == 0 {
			item["user_id"], item["user_name"] = nil, nil
		}
		data = append(data, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":     map[string]any{"error": false, "code": 200, "type": "success", "message": "Success"},
		"pagination": pagination, "data": data})
}

// eventTypes is the catalogue GET /api/1/events/types serves: the types
// OneLogin's documents attest, not its whole list. Type 2 and its text are
// the OpenAPI document's example; 17 is a user deleted (onelogin-api.md
// §5.3, from public detection rules), whose name no document gives, so
// the simulator's is an assumption a client must not depend on
// (onelogin-api.md asks clients to resolve names here at run time).
var eventTypes = []map[string]any{
	{"id": 2, "name": "APP_REMOVED_FROM_ROLE", "description": "App %app% removed from role %role%"},
	{"id": EventUserDeleted, "name": "USER_DELETED", "description": "%actor_user% deleted user %user%"},
}

// listEventTypes answers GET /api/1/events/types: the v1 envelope, the
// whole catalogue at once (the spec gives it no paging).
func (s *Server) listEventTypes(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status": map[string]any{"error": false, "code": 200, "type": "success", "message": "Success"},
		"data":   eventTypes})
}

// v1BadRequest is a 400 in the v1 shape.
func v1BadRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": map[string]any{"error": true, "code": 400, "type": "bad request", "message": msg}})
}
