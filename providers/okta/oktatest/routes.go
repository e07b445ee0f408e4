package oktatest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"neurons-connector/internal/simpad"
	"neurons-connector/internal/splitmix"
)

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/api/v1/"), "/")
	get := r.Method == http.MethodGet
	switch {
	case p == "/api/v1/users" && get:
		s.listUsers(w, r)
	case len(parts) == 2 && parts[0] == "users" && get:
		s.getUser(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "users" && r.Method == http.MethodDelete:
		s.deleteUser(w, parts[1])
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "lifecycle" && parts[3] == "deactivate" && r.Method == http.MethodPost:
		s.deactivate(w, parts[1])
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "appLinks" && get:
		s.appLinks(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "devices" && get:
		s.userDevices(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "factors" && get:
		s.factors(w, r, parts[1])
	case p == "/api/v1/apps" && get:
		s.listApps(w, r)
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "users" && get:
		s.appUsers(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "apps" && get:
		s.getApp(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "users" && get:
		s.groupUsers(w, r, parts[1])
	case p == "/api/v1/devices" && get:
		s.listDevices(w, r)
	case p == "/api/v1/logs" && get:
		s.listLogs(w, r)
	case p == "/api/v1/org" && get:
		s.org(w, r)
	default:
		writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path+" (Route)")
	}
}

// pageParams reads limit and after. limit defaults to def, and above max is
// clamped (unless HonourLimit); a non-number or a value below 1 is a 400.
// after is an ID with the given prefix (00u, 0oa, guo); start is the index
// after it. An after that is not such an ID is a 400 (an assumption: Okta
// does not document it). It answers the 400s itself.
func (s *Server) pageParams(w http.ResponseWriter, q url.Values, def, maxLimit int, prefix string) (limit, start int, ok bool) {
	limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit",
				"limit: The limit must be a positive number.")
			return 0, 0, false
		}
		limit = n
		if n > maxLimit && !s.opts.HonourLimit {
			limit = maxLimit
		}
	}
	if after := q.Get("after"); after != "" && prefix != "" {
		i, ok := s.t.indexOf(prefix, after)
		if !ok {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after", "after: Invalid cursor.")
			return 0, 0, false
		}
		start = i + 1
	}
	return limit, start, true
}

func omitCreds(r *http.Request) bool {
	for _, h := range []string{r.Header.Get("Content-Type"), r.Header.Get("Accept")} {
		if strings.Contains(h, "okta-response=") && strings.Contains(h, "omitCredentials") {
			return true
		}
	}
	return false
}

// nextPage builds the next link's query: the request's own, with after.
func nextPage(r *http.Request, after string) url.Values {
	q := r.URL.Query()
	if loopNext(r) {
		return q // the injected fault: next is this very page
	}
	q.Set("after", after)
	return q
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if qs := q.Get("q"); qs != "" {
		s.findUsers(w, r, qs)
		return
	}
	limit, start, ok := s.pageParams(w, q, 200, 200, "00u")
	if !ok {
		return
	}
	var match expr
	var err error
	switch {
	case q.Get("search") != "":
		match, err = parseExpr(q.Get("search"), true)
	case q.Get("filter") != "":
		match, err = parseExpr(q.Get("filter"), false)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", "Invalid search syntax.")
		return
	}
	base, omit := baseURL(r), omitCreds(r)
	b := make([]byte, 0, 1024*limit)
	b = append(b, '[')
	n, total, last := 0, s.t.total(), ""
	var spans [][2]int // each user's bytes in b, to shuffle
	lagged := q.Get("search") != "" && s.opts.SearchLag > 0
	seenAt := s.now().Add(-s.opts.SearchLag)
	i := start
	for ; i < total && n < limit; i++ {
		u := s.t.get(i)
		if lagged {
			u = s.t.asOf(i, seenAt) // the search store, behind by SearchLag
		}
		if u == nil {
			continue
		}
		if match == nil && u.status == "DEPROVISIONED" {
			continue // the default listing hides deactivated users
		}
		if match != nil && !match.eval(u) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		from := len(b)
		b = s.appendUser(b, u, base, false, omit)
		spans = append(spans, [2]int{from, len(b)})
		n++
		last = u.id
	}
	b = append(b, ']')
	if !s.opts.Ordered {
		b = shuffled(b, spans, uint64(start))
	}
	var next url.Values
	switch {
	case noNext(r):
	case endlessNext(r):
		// A fresh link each time, to the same position: the listing
		// never ends and no link repeats.
		next = r.URL.Query()
		if last != "" {
			next.Set("after", last)
		}
		next.Set("page", strconv.FormatInt(s.nonce.Add(1), 10))
	case n == limit && i < total:
		next = nextPage(r, last)
	case loopNext(r):
		next = r.URL.Query()
	}
	s.setLinks(w, r, next)
	if pad := padding(r); pad > 0 {
		writePadded(w, b, pad)
		return
	}
	writeBody(w, b)
}

// writePadded sends a users page whose every user carries an extra field
// of pad bytes (simpad), so that the simulator never holds the huge body.
func writePadded(w http.ResponseWriter, page []byte, pad int) {
	w.Header().Set("Content-Length", simpad.ContentLength(page, pad))
	_ = simpad.Write(w, page, pad)
}

// findUsers is the q parameter: startsWith on first name, last name or
// email, no DEPROVISIONED, no pagination, 10 by default.
func (s *Server) findUsers(w http.ResponseWriter, r *http.Request, prefix string) {
	limit, _, ok := s.pageParams(w, r.URL.Query(), 10, 200, "")
	if !ok {
		return
	}
	prefix = strings.ToLower(prefix)
	b := []byte{'['}
	n, base, omit := 0, baseURL(r), omitCreds(r)
	for i, total := 0, s.t.total(); i < total && n < limit; i++ {
		u := s.t.get(i)
		if u == nil || u.status == "DEPROVISIONED" {
			continue
		}
		hit := false
		for _, k := range []string{"firstName", "lastName", "email"} {
			v, _ := u.prof()[k].(string)
			hit = hit || strings.HasPrefix(strings.ToLower(v), prefix)
		}
		if !hit {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = s.appendUser(b, u, base, false, omit)
		n++
	}
	s.setLinks(w, r, nil)
	writeBody(w, append(b, ']'))
}

// lookup finds a user by ID or (URL-decoded) login.
func (s *Server) lookup(key string) *user {
	if i, ok := s.t.indexOf("00u", key); ok {
		return s.t.get(i)
	}
	key = strings.ToLower(key)
	for i, total := 0, s.t.total(); i < total; i++ {
		if u := s.t.get(i); u != nil {
			if l, _ := u.prof()["login"].(string); strings.ToLower(l) == key {
				return u
			}
		}
	}
	return nil
}

func notFound(w http.ResponseWriter, key, kind string) {
	writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+key+" ("+kind+")")
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, key string) {
	u := s.lookup(key)
	if u == nil {
		notFound(w, key, "User")
		return
	}
	_, _ = w.Write(s.appendUser(nil, u, baseURL(r), true, omitCreds(r)))
}

func (s *Server) deleteUser(w http.ResponseWriter, id string) {
	if err := s.Delete(id); err != nil {
		notFound(w, id, "User")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deactivate(w http.ResponseWriter, id string) {
	if err := s.Deactivate(id); err != nil {
		notFound(w, id, "User")
		return
	}
	writeJSON(w, map[string]any{})
}

// shuffled is the page b with its users, at spans, in an order drawn from
// seed (the page's position, so the same page comes the same way again).
func shuffled(b []byte, spans [][2]int, seed uint64) []byte {
	r := splitmix.Rand{S: seed}
	for i := len(spans) - 1; i > 0; i-- { // Fisher-Yates
		j := r.N(i + 1)
		spans[i], spans[j] = spans[j], spans[i]
	}
	out := make([]byte, 0, len(b))
	out = append(out, '[')
	for k, sp := range spans {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, b[sp[0]:sp[1]]...)
	}
	return append(out, ']')
}
