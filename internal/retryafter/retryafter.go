// Package retryafter reads the Retry-After header the one way both sides
// of the program need it: the provider clients (a 429's wait) and the
// Neurons sink (a 429 or 503 of the ingestion endpoint).
package retryafter

import (
	"net/http"
	"strconv"
	"time"
)

// Parse reads Retry-After in seconds or as an HTTP date (read against now;
// a date already past is 0); ok is false when the header is absent or
// unreadable.
func Parse(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
