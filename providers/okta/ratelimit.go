package okta

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"neurons-connector/providers/httpclient"
)

// window is the length of Okta's rate-limit windows.
const window = time.Minute

// bucketOf names the rate-limit family of a request path (okta-api.md §7.3).
// Okta counts each family separately, so each gets its own pacer.
func bucketOf(path string) string {
	switch {
	case path == "/api/v1/users":
		return "users"
	case strings.HasPrefix(path, "/api/v1/users/") && strings.Count(path, "/") == 4:
		return "user"
	case strings.HasPrefix(path, "/api/v1/apps"):
		return "apps"
	case strings.HasPrefix(path, "/api/v1/devices"):
		return "devices"
	case strings.HasPrefix(path, "/api/v1/logs"):
		return "logs"
	}
	return "other"
}

// maxAnnouncedWait caps the wait one 429 buys: Okta's windows are a minute,
// so a reset further ahead is a broken answer, and okta-api.md §7.5 caps
// the wait at about two minutes. A request that keeps meeting such answers
// is still bounded in all by engine.MaxRateLimitWait.
const maxAnnouncedWait = 2 * window

// update reads Okta's rate headers into the bucket's pacer:
// X-Rate-Limit-Reset is epoch seconds, read against the response's Date,
// for a request sent at sent.
// A reset further ahead than a window is taken as a window (the pacer's
// rule), and the pass's warnings say so once.
func (c *Client) update(path string, h http.Header, sent time.Time) {
	limit, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	if err1 != nil || err2 != nil {
		return
	}
	resetIn := untilReset(h)
	if resetIn < 0 || c.pacer(path).UpdateSent(limit, remaining, resetIn, sent) {
		return
	}
	c.absurdReset(path, resetIn)
}

// absurdReset warns, once per client, of a reset announced further ahead
// than Okta's windows allow.
func (c *Client) absurdReset(path string, resetIn time.Duration) {
	if c.warnedReset.Swap(true) {
		return
	}
	c.warn(fmt.Sprintf("okta announced a rate-limit reset %s ahead on %s, but its windows are a minute: "+
		"waiting a window at most instead (is a proxy in front of Okta, or its clock, wrong?)", httpclient.Span(resetIn), path))
}
