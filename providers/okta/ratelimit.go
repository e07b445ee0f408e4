package okta

import (
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

// update reads Okta's rate headers into the bucket's pacer:
// X-Rate-Limit-Reset is epoch seconds, read against the response's Date.
func update(p *httpclient.Pacer, h http.Header) {
	limit, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	if err1 != nil || err2 != nil {
		return
	}
	if resetIn := untilReset(h); resetIn >= 0 {
		p.Update(limit, remaining, resetIn)
	}
}
