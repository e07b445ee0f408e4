package okta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"neurons-connector/fault"
	"neurons-connector/providers/httpclient"
)

// TimeFormat is how Okta writes timestamps, and how filters must quote them.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// decodeArray decodes a page of objects held in memory (the spool's), the
// way a streamed page is decoded.
func decodeArray(body []byte) ([]map[string]any, error) {
	return httpclient.DecodeObjectsFrom(bytes.NewReader(body), 0)
}

// defaultMaxPages bounds a listing when the engine gives no bound (a first
// pass): 200 users a page, so ten million users.
const defaultMaxPages = 50_000

// pages walks a paginated listing from its first URL, calling fn with each
// page's items and the response headers. It follows rel="next" links
// verbatim and stops when there is none. A next link to the page just read
// ends the listing if that page was short (a stray next on the last page,
// which some Okta endpoints send); after a full page, or pointing to any
// earlier page, it is a loop and an error: the pass cannot be trusted to be
// complete. limit is the page size asked for.
func (c *Client) pages(ctx context.Context, first string, limit int, fn func(items []map[string]any, h http.Header) error) error {
	var keep map[string]bool
	if k := c.keep.Load(); k != nil {
		keep = *k
	}
	decode := func(r io.Reader) ([]map[string]any, error) { return httpclient.DecodeObjectsKeeping(r, limit, keep) }
	return walk(ctx, c, first, limit, decode, fn)
}

// ownFields are the fields of a listed user the client reads itself
// (checkUser); appLinks and devices it adds.
var ownFields = []string{"id", "status", "lastUpdated", "profile"}

// keepOf is the set of fields a pass decodes of each listed user: those the
// mapping reads and the client's own; nil (all) when the engine gives none.
func keepOf(fields []string) *map[string]bool {
	if fields == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, f := range slices.Concat(ownFields, fields) {
		keep[f] = true
	}
	return &keep
}

// pagesOf is pages decoding into a struct type: the sweeps read two or
// three fields of every app user and device, and decoding them into maps
// would cost more than the rest of the sweep.
func pagesOf[T any](ctx context.Context, c *Client, first string, limit int, fn func(items []T) error) error {
	decode := func(r io.Reader) ([]T, error) { return httpclient.DecodeItemsFrom[T](r, limit) }
	return walk(ctx, c, first, limit, decode, func(items []T, _ http.Header) error { return fn(items) })
}

func walk[T any](ctx context.Context, c *Client, first string, limit int, decode func(io.Reader) ([]T, error), fn func(items []T, h http.Header) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each page is requested as soon as the previous one's headers (with
	// its Link) arrive, and downloaded and decoded while the caller works on
	// the one before: at most two requests in flight per listing (Okta
	// suggests 2 to 4), and both Okta's latency and the decoding hidden
	// behind the caller's work.
	seen := map[string]bool{first: true}
	follow := func(ref, next string) (following *pageFetch[T], stray bool, err error) {
		switch {
		case next == "":
		case sameURL(c.base, next, ref):
			stray = true // decided once the page's size is known
		case seen[next]:
			return nil, false, fault.Mark(fmt.Errorf("okta: pagination loop: the next link returns to a page already read (%s)", pathOf(next)), fault.ErrTransient)
		default:
			seen[next] = true
			following = startPage(ctx, c, next, decode)
		}
		return following, stray, nil
	}
	ref, cur := first, startPage(ctx, c, first, decode)
	maxPages := int(c.maxPages.Load())
	if maxPages <= 0 {
		maxPages = defaultMaxPages
	}
	for n := 1; cur != nil; n++ {
		if n > maxPages {
			// Each next link new, yet no end: a broken or hostile server.
			// The pass fails, so nothing is deleted and no cursor moves.
			return fault.Mark(fmt.Errorf("okta: the listing %s went on past %d pages (the bound set by the last complete "+
				"full pass); its next links never end, so the pass stops and nothing is deleted", pathOf(first), maxPages), fault.ErrTransient)
		}
		next := <-cur.next
		following, stray, err := follow(ref, next)
		if err != nil {
			return err
		}
		p := <-cur.page
		if p.err != nil {
			return p.err
		}
		// The body that decoded may come from a retry whose headers name
		// another next page than the first answer's: they decide.
		if final := nextLink(p.h); final != next {
			if following != nil {
				following.cancel()
				delete(seen, next)
			}
			next = final
			if following, stray, err = follow(ref, next); err != nil {
				return err
			}
		}
		if stray {
			if len(p.items) >= limit {
				return fault.Mark(fmt.Errorf("okta: pagination loop: the next link of a full page points to the page itself (%s)", pathOf(ref)), fault.ErrTransient)
			}
			c.log.Warn("okta sent a next link to the short page just read; treating it as the last page", "path", pathOf(ref))
		}
		if err := fn(p.items, p.h); err != nil {
			return err // the deferred cancel stops the page being fetched
		}
		ref, cur = next, following
	}
	return nil
}

// pageFetch is one page on its way: its next link as soon as the headers
// arrive, then its decoded items.
type pageFetch[T any] struct {
	next   chan string // closed without a value if no 2xx answer came
	page   chan fetched[T]
	cancel context.CancelFunc
}

type fetched[T any] struct {
	items []T
	h     http.Header
	err   error
}

func startPage[T any](ctx context.Context, c *Client, ref string, decode func(io.Reader) ([]T, error)) *pageFetch[T] {
	ctx, cancel := context.WithCancel(ctx)
	f := &pageFetch[T]{next: make(chan string, 1), page: make(chan fetched[T], 1), cancel: cancel}
	go func() {
		defer cancel() // the body has been read by then: release the request's context
		var p fetched[T]
		sent := false
		p.h, p.err = c.getEarly(ctx, ref, func(h http.Header) {
			f.next <- nextLink(h)
			sent = true
		}, func(body io.Reader) (err error) {
			p.items, err = decode(body)
			return err
		})
		if !sent {
			close(f.next)
		}
		f.page <- p
	}()
	return f
}

// sameURL compares two references on the org after resolving them.
func sameURL(base *url.URL, a, b string) bool {
	ua, err1 := base.Parse(a)
	ub, err2 := base.Parse(b)
	return err1 == nil && err2 == nil && ua.String() == ub.String()
}

// pathOf shows a URL without its query, for messages.
func pathOf(ref string) string {
	if u, err := url.Parse(ref); err == nil {
		return u.Path
	}
	return ref
}

// statusFilter selects users in any of statuses, DEPROVISIONED included when
// asked for (filter includes it; the default listing would not).
func statusFilter(statuses []string) string {
	parts := make([]string, len(statuses))
	for i, s := range statuses {
		parts[i] = fmt.Sprintf("status eq %q", s)
	}
	return strings.Join(parts, " or ")
}

// usersURL is the first page of a users listing filtered by filter.
func (c *Client) usersURL(filter string) string {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(c.opts.PageSize))
	q.Set("filter", filter)
	return "/api/v1/users?" + q.Encode()
}

// userFields are the fields of a listed user the client itself relies on.
type userFields struct {
	id, status  string
	lastUpdated time.Time
}

// checkUser reads the fields the sync depends on; a user without them is a
// malformed response, which fails the pass rather than guessing.
func checkUser(u map[string]any) (userFields, error) {
	id, _ := u["id"].(string)
	status, _ := u["status"].(string)
	if id == "" {
		return userFields{}, errors.New("okta: a listed user has no id")
	}
	if !plainID(id) {
		return userFields{}, fmt.Errorf("okta: a listed user's id %q is not an Okta ID (20 letters and digits)", id[:min(len(id), 40)])
	}
	if status == "" {
		return userFields{}, fmt.Errorf("okta: user %s has no status", id)
	}
	var lu time.Time
	if s, _ := u["lastUpdated"].(string); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return userFields{}, fmt.Errorf("okta: user %s: lastUpdated %q is not a time", id, s)
		}
		lu = t
	}
	if _, ok := u["profile"].(map[string]any); !ok {
		return userFields{}, fmt.Errorf("okta: user %s has no profile", id)
	}
	// The ID outlives the page in sets of the pass (the users an
	// incremental pass listed, the deletes it holds back), and as decoded
	// it is a substring of the user's whole record: a set of them kept
	// every record they came from (20 MB live at 10,000 changed users).
	return userFields{id: strings.Clone(id), status: status, lastUpdated: lu}, nil
}

// plainID reports whether id can be an Okta ID: Okta's are 20 letters and
// digits; this allows any length up to 100 and '-', '_', '.', so that a
// new form still reads, but nothing else. An ID is a database key, a line
// of the remembered users of a sink left, and a path segment: a newline,
// a control character or a megabyte in one is a hostile or broken answer.
func plainID(id string) bool {
	if len(id) > 100 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return false
		}
	}
	return true
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// serverTime is the Date of a response, or the zero time.
func serverTime(h http.Header) time.Time {
	t, _ := http.ParseTime(h.Get("Date"))
	return t
}
