package onelogintest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// listUsers answers GET /api/2/users: a bare array sorted by id, paged by
// limit and page or by a cursor (never both), the paging in headers, with
// the filters and fields of onelogin-api.md §2.1 read from the query of
// every request, cursor requests included. Paging is by offset, as
// OneLogin's is: a delete between pages shifts the rows after it.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page := s.opts.MaxLimit, 1
	if c := q.Get("cursor"); c != "" {
		if q.Has("limit") || q.Has("page") {
			badRequest(w, "Requests can only have cursor xor pagination arguments")
			return
		}
		var ok bool
		if limit, page, ok = decodeCursor(c); !ok {
			badRequest(w, "Invalid pagination cursor")
			return
		}
	} else {
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				badRequest(w, "limit must be a positive integer")
				return
			}
			if s.opts.RefuseLimitOver > 0 && n > s.opts.RefuseLimitOver {
				badRequest(w, fmt.Sprintf("limit must be between 1 and %d", s.opts.RefuseLimitOver))
				return
			}
			limit = min(n, s.opts.MaxLimit)
		}
		if v := q.Get("page"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				badRequest(w, "page must be a positive integer")
				return
			}
			page = n
		}
	}
	match, err := s.filter(q)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	fields := listFields
	if f := q.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	}

	// An updated_since listing looks only at the users updated after the
	// bound (from an index of the generated users' updated_at) and those
	// changed since: an incremental listing of a large account must not
	// generate every user for every page.
	var since *time.Time
	if v := q.Get("updated_since"); v != "" {
		if at, err := time.Parse(time.RFC3339Nano, v); err == nil {
			since = &at
		}
	}
	s.mu.Lock()
	s.pageSizes[q.Get("limit")] = true
	total, rows := s.page(match, since, (page-1)*limit, limit)
	pages := max(1, (total+limit-1)/limit)
	from, to := min((page-1)*limit, total), min(page*limit, total)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, u := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(u.render(fields, s.opts.ManagerAsString))
	}
	buf.WriteByte(']')
	s.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Total-Count", itoa(total))
	h.Set("Total-Pages", itoa(pages))
	h.Set("Current-Page", itoa(page))
	h.Set("Page-Items", itoa(to-from))
	h.Set("Cursor", cursor(limit, page))
	h.Set("Link", "")
	if page > 1 {
		h.Set("Before-Cursor", cursor(limit, page-1))
	}
	if page < pages {
		h.Set("After-Cursor", cursor(limit, page+1))
	}
	h.Set("Content-Length", itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// page returns how many users match and the limit of them after offset.
// Without filters only the page's users are generated, so a listing costs
// the simulator pages, not pages times users; with since, only the users
// updated after it are candidates. Callers hold mu.
func (s *Server) page(match func(*User, time.Time) bool, since *time.Time, offset, limit int) (int, []*User) {
	var rows []*User
	if match == nil {
		total := s.n - len(s.deleted)
		start := 0
		if len(s.deleted) == 0 {
			start = offset // nothing to skip over: jump to the page
		}
		for idx, skipped := start, start; idx < s.n && len(rows) < limit; idx++ {
			if s.deleted[idx] {
				continue
			}
			if skipped < offset {
				skipped++
				continue
			}
			rows = append(rows, s.user(idx))
		}
		return total, rows
	}
	now, total := s.clock.Now(), 0
	candidates := s.live
	if since != nil {
		candidates = func() []*User { return s.updatedAfter(*since) }
	}
	for _, u := range candidates() {
		if match(u, now) {
			if total >= offset && len(rows) < limit {
				rows = append(rows, u)
			}
			total++
		}
	}
	return total, rows
}

// cursorNonce is a cursor to the same page as cursor(limit, page) that no
// client has seen: the endless-cursor fault's.
func cursorNonce(limit, page, nonce int) string {
	raw, _ := base64.StdEncoding.DecodeString(cursor(limit, page))
	return base64.StdEncoding.EncodeToString(append(raw, []byte("&n="+itoa(nonce))...))
}

func decodeCursor(c string) (limit, page int, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	v, err := url.ParseQuery(string(raw))
	if err != nil {
		return 0, 0, false
	}
	limit, err1 := strconv.Atoi(v.Get("limit"))
	page, err2 := strconv.Atoi(v.Get("page"))
	return limit, page, err1 == nil && err2 == nil && limit > 0 && page > 0
}

// filter compiles the query's filters. Time bounds are exclusive ("after",
// "before"); a change is seen by updated_since only once Lag has passed.
func (s *Server) filter(q url.Values) (func(*User, time.Time) bool, error) {
	var checks []func(*User, time.Time) bool
	for _, b := range []struct {
		param string
		since bool
		get   func(*User) *time.Time
	}{
		{"updated_since", true, func(u *User) *time.Time { return &u.Updated }},
		{"updated_until", false, func(u *User) *time.Time { return &u.Updated }},
		{"created_since", true, func(u *User) *time.Time { return &u.Created }},
		{"created_until", false, func(u *User) *time.Time { return &u.Created }},
		{"last_login_since", true, func(u *User) *time.Time { return u.LastLogin }},
		{"last_login_until", false, func(u *User) *time.Time { return u.LastLogin }},
	} {
		v := q.Get(b.param)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, err
		}
		get, since, lagged := b.get, b.since, b.param == "updated_since"
		checks = append(checks, func(u *User, now time.Time) bool {
			t := get(u)
			if t == nil {
				return false
			}
			if lagged && now.Before(u.visible) {
				return false // the change is still queued
			}
			if since {
				return t.After(at)
			}
			return t.Before(at)
		})
	}
	for param, get := range map[string]func(*User) string{
		"email": func(u *User) string { return u.Email }, "username": func(u *User) string { return u.Username },
		"firstname": func(u *User) string { return u.First }, "lastname": func(u *User) string { return u.Last },
		"external_id": func(u *User) string { return u.ExternalID },
	} {
		if pat := q.Get(param); pat != "" {
			checks = append(checks, func(u *User, _ time.Time) bool {
				ok, _ := path.Match(strings.ToLower(pat), strings.ToLower(get(u)))
				return ok
			})
		}
	}
	if v := q.Get("user_ids"); v != "" {
		want := map[int64]bool{}
		for _, part := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				return nil, err
			}
			want[id] = true
		}
		checks = append(checks, func(u *User, _ time.Time) bool { return want[u.ID] })
	}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "custom_attributes."); ok {
			want := vs[0]
			checks = append(checks, func(u *User, _ time.Time) bool { v := u.Custom[name]; return v != nil && *v == want })
		}
	}
	if len(checks) == 0 {
		return nil, nil
	}
	return func(u *User, now time.Time) bool {
		for _, c := range checks {
			if !c(u, now) {
				return false
			}
		}
		return true
	}, nil
}
