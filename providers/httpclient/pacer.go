package httpclient

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"neurons-connector/clock"
)

// minPause is the shortest pacing wait worth sleeping: waits shorter than a
// timer's resolution cost more than they spread; the per-window cap still
// holds.
const minPause = time.Millisecond

// lowWater is the fraction of a window's limit below which the remaining
// calls are spread evenly until the reset.
const lowWater = 0.10

// Pacer keeps one rate-limit bucket's requests within a share of it, from
// what the provider's headers say (limit, remaining, and when the window
// resets). A token bucket (x/time/rate) spreads the share over the window;
// a count per window makes the share a hard cap; and a window with nothing
// left is waited out before the next request, not discovered by a 429.
type Pacer struct {
	clock  clock.Clock
	share  float64 // 0 < share <= 1
	window time.Duration

	mu        sync.Mutex
	known     bool // headers have been seen
	limit     int
	remaining int       // as last reported, less what was sent since
	resetAt   time.Time // on the local clock
	sent      int       // this client's requests in the current window
	lim       *rate.Limiter
}

// NewPacer returns a pacer for windows of the given length, spending at
// most share (0..1] of each.
func NewPacer(c clock.Clock, share float64, window time.Duration) *Pacer {
	return &Pacer{clock: c, share: share, window: window}
}

func (p *Pacer) budget() int { return max(1, int(float64(p.limit)*p.share)) }

// pace is the even rate that spends the budget over a window.
func (p *Pacer) pace() rate.Limit { return rate.Limit(float64(p.budget()) / p.window.Seconds()) }

// Wait blocks until a request may go. It returns the time waited, and
// whether any of it was for a window to reset (a "rate-limit wait").
func (p *Pacer) Wait(ctx context.Context) (waited time.Duration, windowWait bool, err error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		if p.known && !now.Before(p.resetAt) {
			// A new window has begun: full budget, and the even pace again
			// if the end of the last one was spread thin.
			p.remaining, p.sent = p.limit, 0
			// Without fresh headers the next window is assumed to follow
			// this one; an answer's headers correct it.
			for !now.Before(p.resetAt) {
				p.resetAt = p.resetAt.Add(p.window)
			}
			p.lim.SetLimitAt(now, p.pace())
		}
		if p.known && (p.remaining <= 0 || p.sent >= p.budget()) {
			d := p.resetAt.Sub(now) + Jitter(250*time.Millisecond)
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
		if d >= minPause {
			if err := p.clock.Sleep(ctx, d); err != nil {
				return waited, windowWait, err
			}
			waited += d
		}
		return waited, windowWait, nil
	}
}

// Update takes in what a response said: the window's limit, what remains of
// it, and how long until it resets (from the provider's own clock, so skew
// does not matter).
func (p *Pacer) Update(limit, remaining int, resetIn time.Duration) {
	if limit <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	resetAt := now.Add(resetIn)
	if !p.known || resetAt.Sub(p.resetAt) > p.window/2 {
		p.sent = 1 // the request this answers opened the window
	}
	p.known, p.limit, p.remaining, p.resetAt = true, limit, remaining, resetAt
	// Pace at the share of the limit over the window; when little is left,
	// spread what is left until the reset. (Nothing left at all is handled
	// by Wait, which sleeps until the reset.)
	perSec := p.pace()
	if left := resetIn.Seconds(); remaining > 0 && float64(remaining) < lowWater*float64(limit) && left > 0 {
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
}

// AllowBurst lets the first requests go at once, up to the burst (a
// twentieth of the budget), instead of at the window's even pace: for an
// hourly window, where waiting for the pace would make a small account's
// first pass take minutes for nothing. The per-window cap still holds.
func (p *Pacer) AllowBurst() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim != nil {
		p.lim = rate.NewLimiter(p.lim.Limit(), p.lim.Burst())
	}
}
