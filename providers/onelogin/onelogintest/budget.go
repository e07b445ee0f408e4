package onelogintest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// budget counts calls in an hourly window that opens with the first call
// after the last one ended.
type budget struct {
	limit   int // calls per hour; negative: no throttle
	start   time.Time
	used    int
	maxUsed int // the most calls in any window
}

// roll opens a new window when the last one has ended.
func (b *budget) roll(now time.Time) {
	if now.Sub(b.start) >= time.Hour {
		b.start, b.used = now, 0
	}
}

// take counts one call at now and reports whether it is over the limit,
// what remains and the seconds until the window resets.
func (b *budget) take(now time.Time) (over bool, remaining, resetIn int) {
	b.roll(now)
	b.used++
	b.maxUsed = max(b.maxUsed, b.used)
	remaining, resetIn = b.left(now)
	return b.limit >= 0 && b.used > b.limit, remaining, resetIn
}

// left is what remains of the window at now, and the seconds until it
// resets.
func (b *budget) left(now time.Time) (remaining, resetIn int) {
	return max(0, b.limit-b.used), int(time.Hour.Seconds() - now.Sub(b.start).Seconds())
}

// admit counts a call in the budget it belongs to and answers the 429 once
// that budget is spent (onelogin-api.md §7.1-7.3). v1 calls count in the
// account's hourly budget and carry its X-RateLimit-* headers; v2 calls
// count apart, with no headers, and token requests count nowhere, as
// OneLogin was observed to do (§7.2); SharedBudget counts them all in the
// v1 budget, as older documents describe. GET /auth/rate_limit counts only
// with RateLimitThrottled.
func (s *Server) admit(w http.ResponseWriter, path string) bool {
	var b *budget
	v1 := strings.HasPrefix(path, "/api/1/")
	switch {
	case path == "/auth/rate_limit":
		if s.opts.RateLimitThrottled {
			b = &s.v1
		}
	case v1 || s.opts.SharedBudget:
		b = &s.v1
	case !strings.HasPrefix(path, "/auth/"):
		b = &s.v2
	}
	if b == nil || b.limit < 0 {
		return true
	}
	s.mu.Lock()
	over, remaining, resetIn := b.take(s.clock.Now()) // one moment for the count and the countdown
	limit := b.limit
	s.mu.Unlock()
	if v1 || s.opts.RateHeaders {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.Itoa(resetIn))
	}
	if !over {
		return true
	}
	if s.opts.JSON429 {
		w.Header().Set("Retry-After", strconv.Itoa(resetIn))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Requests", "name": "TooManyRequestsError", "statusCode": 429})
		return false
	}
	throttled(w)
	return false
}

// throttled is the load balancer's page: HTML, no Retry-After, no Date.
func throttled(w http.ResponseWriter) {
	w.Header()["Date"] = nil
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = fmt.Fprint(w, "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n")
}

// rateLimit answers GET /auth/rate_limit with the v1 budget (§5.4).
func (s *Server) rateLimit(w http.ResponseWriter) {
	s.mu.Lock()
	now := s.clock.Now()
	s.v1.roll(now)
	limit := s.v1.limit
	remaining, reset := s.v1.left(now)
	s.mu.Unlock()
	if limit < 0 { // no throttle: a budget nobody spends
		limit, remaining = 5000, 5000
	}
	s.writeRateLimit(w, limit, remaining, int64(reset))
}
