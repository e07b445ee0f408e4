// Package retryafter reads the Retry-After header the one way both sides
// of the program need it: the provider clients (a 429's wait) and the
// Neurons sink (a 429 or 503 of the ingestion endpoint).
package retryafter

import (
	"errors"
	"math"
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
	// A count too large for an int64 is still a count: the largest.
	if n, err := strconv.ParseInt(v, 10, 64); n >= 0 && (err == nil || errors.Is(err, strconv.ErrRange)) {
		return Seconds(n), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// Seconds is n seconds as a Duration, the longest one where n seconds
// would overflow it (about 292 years): time.Duration(n)*time.Second wraps
// around instead, and a server's absurd count could come out as a short
// or negative wait.
func Seconds(n int64) time.Duration {
	const most = math.MaxInt64 / int64(time.Second)
	if n > most {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}
