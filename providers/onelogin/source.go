package onelogin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/httpclient"
)

// Overlap is how far before the watermark an incremental pass starts:
// OneLogin applies queued changes up to 5 minutes late, and does not say
// whether updated_since is inclusive (onelogin-api.md §2.3, §8). Users read
// twice cost nothing downstream: the engine skips unchanged records.
const Overlap = 10 * time.Minute

// Fields is what every listing asks for: every attribute of the user
// object, because the list's default set leaves out custom_attributes,
// manager_user_id, title, department and more (onelogin-api.md §3.3). One
// field list for all tables keeps an edited mapping table from needing a
// code change.
var Fields = []string{"id", "username", "email", "firstname", "lastname", "title", "department", "company", "comment",
	"phone", "status", "state", "group_id", "role_ids", "directory_id", "trusted_idp_id", "manager_user_id",
	"manager_ad_id", "member_of", "samaccountname", "userprincipalname", "distinguished_name", "external_id",
	"preferred_locale_code", "invalid_login_attempts", "created_at", "activated_at", "updated_at", "last_login",
	"invitation_sent_at", "password_changed_at", "locked_until", "custom_attributes"}

// cursor is the OneLogin connector's stored position.
type cursor struct {
	Version int `json:"v"`
	// Watermark: changes after it are still to be read. It comes from
	// OneLogin's data and Date headers, never the local clock.
	Watermark time.Time `json:"watermark"`
	// PageSize is set once the account refused pageSize: the size that
	// works, asked for directly from then on.
	PageSize int `json:"pageSize,omitempty"`
	// Events: the next incremental pass reads the event log's deletions
	// from here, less Overlap (events.go). The server's time when the last
	// pass read the log, or began, if full; a cursor of an earlier version
	// has none, and the log is read from the watermark.
	Events time.Time `json:"events,omitzero"`
	// Suspect says why the position cannot be trusted (engine.AheadOfClock:
	// it is later than OneLogin's clock): the next run is full, and its
	// cursor has none.
	Suspect string `json:"suspect,omitempty"`
}

// statusName maps a status code to its canonical name ("" if unknown).
func statusName(code int) string {
	for _, s := range Spec.Statuses {
		if s.Code == code {
			return s.Name
		}
	}
	return ""
}

// FullRunNeeded implements engine.FullRunChecker: a position the last
// pass found dated ahead of OneLogin's clock (Suspect) skipped changes.
func (c *Client) FullRunNeeded(raw []byte, _ time.Time) string {
	var cur cursor
	if json.Unmarshal(raw, &cur) != nil {
		return ""
	}
	return cur.Suspect
}

// Fetch implements engine.Provider. A full pass lists every user (OneLogin
// has no status filter) and hands them all to the engine, which keeps
// those of the selected statuses: a user it delivered who is now outside
// them is then deleted as "status not selected", not "deleted at source",
// at no extra cost since the page was downloaded anyway. An
// incremental pass lists the users updated since the watermark less
// Overlap, whatever their status, so that a user who left the selection is
// seen. The watermark moves only forward and only when a pass completes.
// Hard deletes leave no trace in updated_since: full passes find them by
// absence, incremental ones in the event log (events.go).
func (c *Client) Fetch(ctx context.Context, req engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	var cur cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			if req.Mode != engine.Full {
				return nil, fmt.Errorf("onelogin: stored cursor is unreadable (%w); run a full sync", err)
			}
			cur = cursor{} // a full pass needs none
		}
	}
	c.limit = pageSize
	if cur.PageSize > 0 {
		c.limit = cur.PageSize
	}
	q := url.Values{}
	switch {
	case req.Mode == engine.Full:
		if len(req.Statuses) == 0 {
			return nil, errors.New("onelogin: no user status selected")
		}
	case cur.Watermark.IsZero():
		return nil, errors.New("onelogin: an incremental pass needs the cursor of a full pass")
	default:
		q.Set("updated_since", cur.Watermark.Add(-Overlap).UTC().Format(TimeFormat))
	}
	full := req.Mode == engine.Full
	c.maxPages = req.MaxPages
	seen := map[string]struct{}{}
	var passStart, maxSeen time.Time
	created := 0 // users read that were created after the pass began
	emit := func(items []map[string]any, h http.Header) error {
		if passStart.IsZero() {
			passStart, _ = http.ParseTime(h.Get("Date"))
		}
		users := make([]engine.User, 0, len(items))
		for _, raw := range items {
			f, err := checkUser(raw)
			if err != nil {
				return fmt.Errorf("onelogin: malformed user list: %w (%w)", err, fault.ErrTransient)
			}
			if _, dup := seen[f.id]; dup {
				continue // offset paging repeats a row after an insert
			}
			seen[f.id] = struct{}{}
			maxSeen = later(maxSeen, f.updated)
			// A second's grace: created_at and Date may round apart.
			if !passStart.IsZero() && !f.created.Before(passStart.Add(-time.Second)) {
				created++
			}
			name := statusName(f.status)
			if name == "" {
				c.warnOnce("status "+strconv.Itoa(f.status), fmt.Sprintf("onelogin: user %s has unknown status code %d; treated as not selected", f.id, f.status))
			}
			users = append(users, engine.User{ID: f.id, Status: name, Raw: raw})
		}
		if len(users) == 0 {
			return nil
		}
		return page(users)
	}
	total, final, err := c.list(ctx, q, emit)
	if err != nil {
		return nil, err
	}
	// Users deleted while the pass ran: the count it began with, plus the
	// users created meanwhile (new ids come last, so the pass read them),
	// less the count it ended with.
	if deleted := total + created - final; full && (len(seen) < total || deleted > 0) {
		// A delete during the pass shifts the pages after it by one row,
		// so the user at the next page's start is skipped (onelogin-api.md
		// §2.2 rule 5), and a full pass that misses a user deletes it from
		// Neurons. Counting read users against Total-Count is not enough:
		// a user created meanwhile (an admin offboards one person and
		// onboards another) makes the numbers meet. Walk again, emitting
		// only users not seen; a pass that still falls short is not
		// trusted for deletes.
		c.log.Info("onelogin: users were deleted during the pass; listing again for skipped users", "read", len(seen),
			"total", total, "deleted", deleted)
		total, _, err = c.list(ctx, q, emit)
		if err != nil {
			return nil, err
		}
		if len(seen) < total {
			return nil, fmt.Errorf("onelogin: the user list kept changing during the pass (%d read, %d announced); the next run tries again (%w)",
				len(seen), total, fault.ErrTransient)
		}
	}
	// A change made while the pass ran may sit on a page already read: the
	// next pass starts no later than this one's first answer.
	next := maxSeen
	if next.IsZero() || (!passStart.IsZero() && passStart.Before(next)) {
		next = passStart
	}
	if !full {
		// A full pass read everything: its own answers' times are the next
		// position, even when the stored one is later (a server clock that
		// was ahead, AheadOfClock), which an incremental pass keeps.
		next = later(next, cur.Watermark)
	}
	if next.IsZero() {
		return nil, errors.New("onelogin: the pass ended without a server time to start the next one from (no users and no Date header)")
	}
	out := cursor{Version: 1, Watermark: next.UTC(), Events: passStart.UTC()}
	if passStart.IsZero() {
		out.Events = next.UTC()
	}
	if c.limit != pageSize {
		out.PageSize = c.limit
	}
	if !full {
		out.Suspect = cmp.Or(engine.AheadOfClock("OneLogin's answers", later(cur.Watermark, cur.Events), passStart), cur.Suspect)
		known, _ := req.State.(knownUsers)
		events, err := c.readDeletions(ctx, cur, seen, known, page)
		if err != nil {
			return nil, err
		}
		out.Events = events
	}
	if req.Again != nil {
		if err := c.readAgain(ctx, req.Again, page); err != nil {
			return nil, err
		}
	}
	return json.Marshal(out)
}

// readAgain hands page the users the engine asks for again once the
// listing is done (engine.FetchRequest.Again: reports of managers whose
// fields changed), listed by user_ids a page's worth at a time: one call
// per 100 users, where reading each by ID would cost one each. A user gone
// since is not listed, and so left out.
func (c *Client) readAgain(ctx context.Context, again func() ([]string, error), page func([]engine.User) error) error {
	ids, err := again()
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, max(c.limit, 1)) {
		asked := map[string]bool{}
		for _, id := range chunk {
			asked[id] = true
		}
		q := url.Values{"user_ids": {strings.Join(chunk, ",")}}
		_, _, err := c.list(ctx, q, func(items []map[string]any, _ http.Header) error {
			users := make([]engine.User, 0, len(items))
			for _, raw := range items {
				f, err := checkUser(raw)
				if err != nil {
					return fmt.Errorf("onelogin: malformed user list: %w (%w)", err, fault.ErrTransient)
				}
				if !asked[f.id] {
					return errIgnoredIDs
				}
				users = append(users, engine.User{ID: f.id, Status: statusName(f.status), Raw: raw})
			}
			if len(users) == 0 {
				return nil
			}
			return page(users)
		})
		if errors.Is(err, errIgnoredIDs) {
			// A server (or a proxy) that drops the filter lists the whole
			// account, page after page: not for a few reports.
			c.warnOnce("user_ids", fmt.Sprintf("onelogin: a listing by user_ids (%d users) returned others, as if the filter were "+
				"not there; the reports of managers whose name, e-mail or phone changed keep the old ones until the next full run", len(chunk)))
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// errIgnoredIDs stops a listing by user_ids that returned a user not
// asked for.
var errIgnoredIDs = errors.New("user_ids ignored")

// readDeletions hands page the deletions the event log holds since the
// cursor's position and returns the position for the next pass. A log
// that cannot be read is warned of and read again from the same position
// by the next pass; the full runs find deletions by absence anyway.
func (c *Client) readDeletions(ctx context.Context, cur cursor, listed map[string]struct{}, known knownUsers, page func([]engine.User) error) (time.Time, error) {
	from := cur.Events
	if from.IsZero() {
		from = cur.Watermark
	}
	gone, began, err := c.deletions(ctx, from.Add(-Overlap), listed, known)
	switch {
	case ctx.Err() != nil:
		return time.Time{}, ctx.Err()
	case errors.Is(err, errLogTooLong):
		c.warnOnce("events", fmt.Sprintf("onelogin: %v; those users leave Neurons with the next full run", err))
		return later(began, from).UTC(), nil
	case err != nil:
		c.warnOnce("events", fmt.Sprintf("onelogin: the event log could not be read (%s); users deleted since %s leave Neurons "+
			"with the next full run, or the next run that reads the log", strings.TrimPrefix(err.Error(), "onelogin: "), from.UTC().Format(time.RFC3339)))
		return from.UTC(), nil
	}
	if len(gone) > 0 {
		c.log.Info("onelogin: users deleted at the source, from the event log", "users", len(gone))
		if err := page(gone); err != nil {
			return time.Time{}, err
		}
	}
	return later(began, from).UTC(), nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// warnOnce records a run warning once per key: an unknown status code on
// every second user is one warning, not thousands.
func (c *Client) warnOnce(key, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned[key] {
		return
	}
	c.warned[key] = true
	c.stats.Warnings = append(c.stats.Warnings, msg)
	c.log.Warn(msg)
}

// defaultMaxPages caps a listing when the engine gives no bound (a first
// pass): 50 users a page, so twenty million users.
const defaultMaxPages = 400_000

// list walks GET /api/2/users: the first request with the filters, fields
// and limit (100, or 50 once the account refused 100: a 400 on the first
// request with 100 is asked again with 50), each next one with the same
// filters and fields and cursor=After-Cursor, never limit or page with it
// (onelogin-api.md §2.2). It stops when After-Cursor is empty, and fails
// if a cursor repeats. It returns the first page's Total-Count and the last
// page's (-1 when absent).
func (c *Client) list(ctx context.Context, filters url.Values, fn func([]map[string]any, http.Header) error) (first, last int, err error) {
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	q.Set("fields", strings.Join(Fields, ","))
	if c.limit == 0 {
		c.limit = pageSize // a listing outside Fetch (tests)
	}
	q.Set("limit", strconv.Itoa(c.limit))
	first, last = -1, -1
	used := map[string]bool{}
	maxPages := c.maxPages
	if maxPages <= 0 {
		maxPages = defaultMaxPages
	}
	for n := 0; ; n++ {
		if n >= maxPages {
			// Each cursor new, yet no end: a broken or hostile server. The
			// pass fails, so nothing is deleted and no cursor moves.
			return 0, 0, fmt.Errorf("onelogin: the user listing went on past %d pages (the bound set by the last complete full "+
				"pass); its After-Cursor never ends, so the pass stops and nothing is deleted (%w)", maxPages, fault.ErrTransient)
		}
		var items []map[string]any
		var h http.Header
		decode := func(body io.Reader, hh http.Header) (err error) {
			items, err = httpclient.DecodeObjectsFrom(body, c.limit)
			h = hh
			return err
		}
		err := c.get(ctx, "/api/2/users", q, decode)
		var ae *httpclient.APIError
		if n == 0 && c.limit > smallPageSize && errors.As(err, &ae) && ae.Status == http.StatusBadRequest && refusesLimit(ae.Message) {
			c.warnOnce("page size", fmt.Sprintf("onelogin refused %d users a page (%v); this account is read %d a page from now on", c.limit, err, smallPageSize))
			c.limit = smallPageSize
			q.Set("limit", strconv.Itoa(c.limit))
			err = c.get(ctx, "/api/2/users", q, decode)
		}
		if err != nil {
			return 0, 0, err
		}
		if count, err := strconv.Atoi(h.Get("Total-Count")); err == nil {
			if first < 0 {
				first = count
			}
			last = count
		}
		if err := fn(items, h); err != nil {
			return 0, 0, err
		}
		next := h.Get("After-Cursor")
		if next == "" {
			return first, last, nil
		}
		if used[next] || next == h.Get("Cursor") {
			return 0, 0, fmt.Errorf("onelogin: pagination stalled: After-Cursor repeats a page already read (%w)", fault.ErrTransient)
		}
		used[next] = true
		q.Del("limit")
		q.Del("page")
		q.Set("cursor", next)
	}
}

// Confirm implements engine.Confirmer: the status of each user of ids that
// GET /api/2/users/{id} still finds; a 404 leaves the user out, gone.
func (c *Client) Confirm(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		u, found, err := c.FindUser(ctx, id)
		if err != nil {
			return nil, err
		}
		if found {
			out[id] = u.Status
		}
	}
	return out, nil
}

// FindUser reads one user by id (GET /api/2/users/{id}, the full object),
// for the engine's managers outside the selected statuses. Answers are
// cached for the client's life, one run.
func (c *Client) FindUser(ctx context.Context, id string) (engine.User, bool, error) {
	c.mu.Lock()
	u, hit := c.found[id]
	c.mu.Unlock()
	if hit {
		return u, u.ID != "", nil
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return engine.User{}, false, nil
	}
	var raw map[string]any
	err := c.get(ctx, "/api/2/users/"+id, nil, func(body io.Reader, _ http.Header) (err error) {
		raw, err = decodeUser(body)
		return err
	})
	var ae *httpclient.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		u = engine.User{}
	case err != nil:
		return engine.User{}, false, err
	default:
		f, err := checkUser(raw)
		if err != nil {
			return engine.User{}, false, fmt.Errorf("onelogin: malformed user %s: %w (%w)", id, err, fault.ErrTransient)
		}
		u = engine.User{ID: f.id, Status: statusName(f.status), Raw: raw}
	}
	c.mu.Lock()
	c.found[id] = u
	c.mu.Unlock()
	return u, u.ID != "", nil
}

var (
	_ engine.Provider   = (*Client)(nil)
	_ engine.UserFinder = (*Client)(nil)
)

// refusesLimit says whether a 400's message is about the page size: only
// then is the listing asked again with smallPageSize (any other 400 is a
// clean error, as before).
func refusesLimit(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "limit") || strings.Contains(m, "page size") || strings.Contains(m, "per page")
}
