package okta

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"neurons-connector/clock"
)

// window is the length of Okta's rate-limit windows.
const window = time.Minute

// minPause is the shortest pacing wait worth sleeping.
const minPause = time.Millisecond

// lowWater is the fraction of a bucket's limit below which the remaining
// calls are spread evenly until the reset (okta-api.md §7.5).
const lowWater = 0.10

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

// pacer keeps one bucket's requests within the connector's share of the
// bucket, from what Okta's headers say: X-Rate-Limit-Limit, -Remaining and
// -Reset (epoch seconds, read against the Date header, never the local
// clock). A token bucket (x/time/rate) spreads the share over the window;
// a count per window makes the share a hard cap; and a window with nothing
// left is waited out before the next request, not discovered by a 429.
type pacer struct {
	clock clock.Clock
	share float64 // 0 < share <= 1

	mu        sync.Mutex
	known     bool // a response with rate headers has been seen
	limit     int
	remaining int       // as Okta last reported, less what was sent since
	resetAt   time.Time // on the local clock
	sent      int       // this connector's requests in the current window
	lim       *rate.Limiter
}

func newPacer(c clock.Clock, share float64) *pacer { return &pacer{clock: c, share: share} }

func (p *pacer) budget() int { return max(1, int(float64(p.limit)*p.share)) }

// pace is the even rate that spends the budget over a window.
func (p *pacer) pace() rate.Limit { return rate.Limit(float64(p.budget()) / window.Seconds()) }

// wait blocks until a request may go. It returns the time waited, and
// whether any of it was for a window to reset (a "rate-limit wait").
func (p *pacer) wait(ctx context.Context) (waited time.Duration, windowWait bool, err error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		if p.known && !now.Before(p.resetAt) {
			// A new window has begun: full budget, and the even pace again
			// if the end of the last one was spread thin.
			p.remaining, p.sent = p.limit, 0
			p.lim.SetLimitAt(now, p.pace())
		}
		if p.known && (p.remaining <= 0 || p.sent >= p.budget()) {
			d := p.resetAt.Sub(now) + jitter(250*time.Millisecond)
			p.mu.Unlock()
			if err := p.clock.Sleep(ctx, d); err != nil {
				return waited, windowWait, err
			}
			waited, windowWait = waited+d, true
			continue
		}
		var d time.Duration
		if p.lim != nil {
			d = p.lim.ReserveN(now, 1).DelayFrom(now)
		}
		p.sent++
		p.remaining--
		p.mu.Unlock()
		// Waits shorter than a timer's resolution cost more than they
		// spread; the per-window cap above still holds.
		if d >= minPause {
			if err := p.clock.Sleep(ctx, d); err != nil {
				return waited, windowWait, err
			}
			waited += d
		}
		return waited, windowWait, nil
	}
}

// update takes in a response's rate headers. It returns when the window
// resets on the local clock, or the zero time if the headers are absent.
func (p *pacer) update(h http.Header) time.Time {
	limit, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	date, err4 := http.ParseTime(h.Get("Date"))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || limit <= 0 {
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	// Reset and Date are both server time: their difference is the wait,
	// whatever the skew between the server's clock and ours.
	resetAt := now.Add(time.Unix(reset, 0).Sub(date))
	if !p.known || resetAt.Sub(p.resetAt) > window/2 {
		p.sent = 1 // the request this answers opened the window
	}
	p.known, p.limit, p.remaining, p.resetAt = true, limit, remaining, resetAt

	// Pace at the share of the limit over the window; when little is left,
	// spread what is left until the reset. (Nothing left at all is handled
	// by wait, which sleeps until the reset.)
	perSec := p.pace()
	if left := resetAt.Sub(now).Seconds(); remaining > 0 && float64(remaining) < lowWater*float64(limit) && left > 0 {
		perSec = min(perSec, rate.Limit(float64(remaining)/left))
	}
	burst := max(1, p.budget()/20)
	if p.lim == nil {
		p.lim = rate.NewLimiter(perSec, burst)
		p.lim.AllowN(now, burst) // start empty: the first window's pace, not a burst
	} else {
		p.lim.SetLimitAt(now, perSec)
		p.lim.SetBurstAt(now, burst)
	}
	return resetAt
}

func jitter(max time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(max) + 1)) }
