package onelogin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
)

// A user deleted for good leaves no trace in updated_since: only the event
// log says so (GET /api/1/events, type 17, onelogin-api.md §5.3, §6). An
// incremental pass reads the log since the last pass, less Overlap, and
// confirms each user it names with a 404 from GET /api/2/users/{id} before
// it hands the engine a deletion, so that a user deleted at 09:00 leaves
// Neurons with the next incremental run rather than the next full one.
// The log is a help, not the truth: a pass that cannot read it warns and
// goes on, and full runs still find deletions by absence.

// eventUserDeleted is the event type of a user deleted, the one type id
// public detection rules agree on.
const eventUserDeleted = 17

// maxEventPages bounds one read of the log: 50 events a page, so 10,000
// deletions between two incremental runs. Past it the rest waits for the
// full run, and the next pass reads on from where this one began: reading
// the same thousands of events again at every run would spend the
// account's hourly budget on them.
const maxEventPages = 200

// errLogTooLong is a read of the log stopped at maxEventPages.
var errLogTooLong = fmt.Errorf("more than %d deletions logged since the last run", maxEventPages*50)

// eventsPage is the v1 envelope of GET /api/1/events.
type eventsPage struct {
	Pagination struct {
		AfterCursor any `json:"after_cursor"`
	} `json:"pagination"`
	Data []event `json:"data"`
}

// event is what a deletion's event says.
type event struct {
	EventTypeID any    `json:"event_type_id"` // a number, or a string to some (§5.3)
	UserID      any    `json:"user_id"`
	CreatedAt   string `json:"created_at"`
}

// maxPageEvents bounds the events of one page: OneLogin sends up to 50
// (onelogin-api.md §5.3), and an answer that loops over its list would
// otherwise be decoded whole, up to maxBody, into millions of events.
const maxPageEvents = 1000

// decodeEvents decodes a page of the log as it streams in, one event at a
// time, and fails past maxPageEvents; members other than data and
// pagination are skipped.
func decodeEvents(r io.Reader) (eventsPage, error) {
	var p eventsPage
	dec := json.NewDecoder(r)
	dec.UseNumber() // ids as written, not as float64s
	if err := expectDelim(dec, '{'); err != nil {
		return p, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return p, err
		}
		switch key {
		case "pagination":
			err = dec.Decode(&p.Pagination)
		case "data":
			err = decodeEventList(dec, &p)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return p, fmt.Errorf("%v: %w", key, err)
		}
	}
	return p, expectDelim(dec, '}')
}

// decodeEventList decodes the data member: null, or an array of events.
func decodeEventList(dec *json.Decoder, p *eventsPage) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return fmt.Errorf("expected an array, found %v", t)
	}
	for dec.More() {
		if len(p.Data) == maxPageEvents {
			return fmt.Errorf("more than %d events on one page (OneLogin sends 50): the answer repeats itself or is broken", maxPageEvents)
		}
		var e event
		if err := dec.Decode(&e); err != nil {
			return err
		}
		p.Data = append(p.Data, e)
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err == nil && t != d {
		err = fmt.Errorf("expected %v, found %v", d, t)
	}
	return err
}

// absent says whether a pagination value means "none": JSON null, "", or
// the string "null" the spec's example writes.
func absent(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" || s == "null" {
		return "", true
	}
	return s, false
}

// knownUsers is what the engine's UserStates also answers: which users the
// connector delivered. Only those are worth a GET: the log names every
// user deleted, and a deletion the last full run found is in it too.
type knownUsers interface {
	Known(ids []string) (map[string]bool, error)
}

// deletionsQuery asks the log for the deletions since since.
func deletionsQuery(since time.Time) url.Values {
	return url.Values{"event_type_id": {fmt.Sprint(eventUserDeleted)}, "since": {since.UTC().Format(time.RFC3339)}}
}

// eventsPage reads one page of GET /api/1/events, and its headers.
func (c *Client) eventsPage(ctx context.Context, q url.Values) (eventsPage, http.Header, error) {
	var p eventsPage
	var h http.Header
	err := c.get(ctx, "/api/1/events", q, func(body io.Reader, hh http.Header) (err error) {
		h = hh
		p, err = decodeEvents(body)
		return err
	})
	return p, h, err
}

// deletions reads the deletions logged since since, skips the users the
// pass listed (they exist) and those the connector never delivered (when
// known tells), and returns those GET by id no longer finds, as deleted
// users, with the server's time when it began: the next pass reads the log
// from there.
func (c *Client) deletions(ctx context.Context, since time.Time, listed map[string]struct{}, known knownUsers) ([]engine.User, time.Time, error) {
	q := deletionsQuery(since)
	var began, newest time.Time // the server's time at the first answer; the newest event read
	named := map[string]bool{}
	used := map[string]bool{}
	for n := 0; ; n++ {
		if n >= maxEventPages {
			if began.IsZero() {
				began = newest
			}
			return nil, began, errLogTooLong
		}
		p, h, err := c.eventsPage(ctx, q)
		if began.IsZero() && h != nil {
			began, _ = http.ParseTime(h.Get("Date"))
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, e := range p.Data {
			if at, err := time.Parse(time.RFC3339, e.CreatedAt); err == nil {
				newest = later(newest, at)
			}
			if t, ok := idString(e.EventTypeID); !ok || t != fmt.Sprint(eventUserDeleted) {
				continue // another type, though only 17 was asked for
			}
			if id, ok := idString(e.UserID); ok {
				named[id] = true
			}
		}
		next, none := absent(p.Pagination.AfterCursor)
		if none {
			break
		}
		if used[next] {
			return nil, time.Time{}, fmt.Errorf("onelogin: the event log's after_cursor repeats (%w)", fault.ErrTransient)
		}
		used[next] = true
		q.Set("after_cursor", next)
	}
	if began.IsZero() {
		// No Date header (a proxy that drops it): the newest event read is
		// the next position, or, with none, the same one again.
		began = newest
	}
	ids := slices.Sorted(maps.Keys(named))
	ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := listed[id]; return ok }) // listed by this very pass: it exists
	if known != nil && len(ids) > 0 {
		delivered, err := known.Known(ids)
		if err != nil {
			return nil, time.Time{}, err
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return !delivered[id] })
	}
	var gone []engine.User
	for _, id := range ids {
		_, found, err := c.FindUser(ctx, id)
		if err != nil {
			return nil, time.Time{}, err
		}
		if !found {
			gone = append(gone, engine.User{ID: id, Deleted: true})
		}
	}
	return gone, began, nil
}
