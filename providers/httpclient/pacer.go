package httpclient

import (
	"context"
	"slices"
	"sort"
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

// resetSlack is how far beyond a window an announced reset may lie and
// still be taken as said: resets come in whole seconds, rounded up.
const resetSlack = time.Second

// Pacer keeps one rate-limit bucket's requests within a share of it, from
// what the provider's headers say (limit, remaining, and when the window
// resets). It paces to the window, not to the clock: a window's share may
// be spent as fast as the provider answers, and only a spent share (or a
// bucket others have nearly spent) makes a request wait, until the reset.
// A count per window makes the share a hard cap; a token bucket
// (x/time/rate) as large as the share refills it over the window, and
// spreads what is left evenly when the bucket runs low; a window with
// nothing left is waited out before the next request, not discovered by a
// 429. (Spreading every window's share evenly, as an earlier version did,
// made a 2,000-user Okta run take 30 times what the limits require.)
type Pacer struct {
	clock  clock.Clock
	share  float64 // 0 < share <= 1
	window time.Duration

	mu        sync.Mutex
	known     bool // headers have been seen
	limit     int
	remaining int       // as last reported, less what was sent since
	resetAt   time.Time // on the local clock
	// early is the same reset as the earliest the answers allow: an
	// answer is read some time after the provider wrote its Date (a slow
	// network, a busy process), so resetAt, counted from the reading, may
	// be late; counted from the request's sending it cannot be. Windows
	// open at resetAt, and count what was sent since early.
	early   time.Time
	assumed bool // the window is the pacer's own (Assume), not from headers
	sent    int  // this client's requests in the current window
	// pending are when the requests past Wait whose answer has not come
	// (Done) went, oldest first; Done takes the oldest, since answers come
	// back about in order (taking one that is still out keeps an older
	// time instead, which counts it in more windows, never fewer).
	pending []time.Time
	// sends are when the requests of about the last window went, oldest
	// first: a new window counts those sent since it began, answered or
	// not (a 429 is answered without headers the pacer takes in, yet the
	// provider counted it).
	sends []time.Time
	// lost are when the requests went whose answer the pacer learnt
	// nothing from (Lost): a 429 that reached the provider after its window
	// ended counts in the next one, yet told no Update so, and it stays
	// counted as out for about a window.
	lost      []time.Time
	lim       *rate.Limiter
	holdUntil time.Time // no request before this (a 429's announced reset)
	sleeping  time.Time // until when a request waits for the window, zero if none
}

// WaitingUntil says until when a request is waiting for the bucket's
// window (or an announced reset); zero when none waits. Progress shows it.
func (p *Pacer) WaitingUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holdUntil.After(p.clock.Now()) && p.holdUntil.After(p.sleeping) {
		return p.holdUntil // a 429's reset, waited for by the request that got it
	}
	return p.sleeping
}

// sleepFor waits d for the window, telling WaitingUntil meanwhile.
func (p *Pacer) sleepFor(ctx context.Context, d time.Duration) error {
	p.mu.Lock()
	until := p.clock.Now().Add(d)
	if until.After(p.sleeping) {
		p.sleeping = until
	}
	p.mu.Unlock()
	err := p.clock.Sleep(ctx, d)
	p.mu.Lock()
	if !p.sleeping.After(p.clock.Now()) || err != nil {
		p.sleeping = time.Time{}
	}
	p.mu.Unlock()
	return err
}

// NewPacer returns a pacer for windows of the given length, spending at
// most share (0..1] of each.
func NewPacer(c clock.Clock, share float64, window time.Duration) *Pacer {
	return &Pacer{clock: c, share: share, window: window}
}

func (p *Pacer) budget() int { return max(1, int(float64(p.limit)*p.share)) }

// pace is the even rate that spends the budget over a window.
func (p *Pacer) pace() rate.Limit { return rate.Limit(float64(p.budget()) / p.window.Seconds()) }

// Done tells the pacer that the answer to a request Wait let go has come
// (or the request failed); every successful Wait needs one Done.
func (p *Pacer) Done() {
	p.mu.Lock()
	if len(p.pending) > 0 {
		p.pending = p.pending[1:]
	}
	p.mu.Unlock()
}

// Lost is Done for a request whose answer the pacer took nothing in from:
// a 429 (its reset may be another client's storm), or no answer at all.
// The provider may still have counted it, and in the window after the one
// it went in, if it was held up on its way (a slow network, a process that
// paused); no answer from that window says so, as an answer Update takes
// in does. So it stays counted among the requests out, under the time the
// oldest request out went (its own or earlier: more windows count it,
// never fewer), until a window has passed.
func (p *Pacer) Lost() {
	p.mu.Lock()
	if len(p.pending) > 0 {
		p.lost = sentAt(p.lost, p.pending[0])
		p.pending = p.pending[1:]
	}
	p.mu.Unlock()
}

// Wait blocks until a request may go. It returns the time waited, and
// whether any of it was for a window to reset (a "rate-limit wait").
func (p *Pacer) Wait(ctx context.Context) (waited time.Duration, windowWait bool, err error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		if now.Before(p.holdUntil) {
			d := p.holdUntil.Sub(now)
			p.mu.Unlock()
			if err := p.sleepFor(ctx, d); err != nil {
				return waited, windowWait, err
			}
			waited, windowWait = waited+d, true
			continue
		}
		if p.known && !now.Before(p.resetAt) {
			// A new window has begun: full budget, and the even pace again
			// if the end of the last one was spread thin.
			// The new window is taken to follow the old one (or the last
			// of those that went by idle); the first answer from it
			// corrects its end. Requests still in flight or lost may reach
			// the provider in it, so they count in it, and so do those
			// sent since it began by the provider's clock (its start's
			// lower bound, a second early for Date's whole seconds),
			// answered or not.
			for !now.Before(p.resetAt) { // windows that went by idle too
				p.resetAt, p.early = p.resetAt.Add(p.window), p.early.Add(p.window)
			}
			p.remaining, p.sent = p.limit, p.sentInWindowFrom(p.early.Add(-p.window-resetSlack))
			// A full bucket for the new window, whenever the old one began.
			p.lim = rate.NewLimiter(p.pace(), p.budget())
		}
		if p.known && (p.remaining <= 0 || p.sent >= p.budget()) {
			d := p.resetAt.Sub(now) + Jitter(250*time.Millisecond)
			p.mu.Unlock()
			if err := p.sleepFor(ctx, d); err != nil {
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
		// Recorded as going when it goes, after the pause: a request paced
		// past the reset reaches the provider in the next window, and must
		// count there.
		p.sends, p.lost = sentAt(forget(p.sends, now, p.window), now.Add(d)), forget(p.lost, now, p.window)
		p.pending = sentAt(p.pending, now.Add(d))
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

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sentAt adds t to sends, which stay in order: a request let go now after
// a pause may go later than one let go after it without one.
func sentAt(sends []time.Time, t time.Time) []time.Time {
	i := sort.Search(len(sends), func(i int) bool { return sends[i].After(t) })
	return slices.Insert(sends, i, t)
}

// sentInWindowFrom counts the requests a window that began at t may have
// seen: those that went since t, answered or not, and those that went
// before and are still out or were lost, which may reach the provider
// after t (a request held up on its way, a process that paused). Callers
// hold mu.
func (p *Pacer) sentInWindowFrom(t time.Time) int {
	before := func(ts []time.Time) int {
		return sort.Search(len(ts), func(i int) bool { return !ts[i].Before(t) })
	}
	// One lost more than a window before t is not counted: it reached the
	// provider long before (the pacer prunes such times only as it lets a
	// request go, after a new window has counted).
	lost := forget(p.lost, t, p.window)
	return p.sentSince(t) + before(p.pending) + before(lost)
}

// sentSince counts the requests let go at or after t. Callers hold mu.
func (p *Pacer) sentSince(t time.Time) int {
	i := sort.Search(len(p.sends), func(i int) bool { return !p.sends[i].Before(t) })
	return len(p.sends) - i
}

// forget drops the times in ts (in order) older than a window and a
// little before now: no window that counts them begins that far back.
func forget(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	old := now.Add(-window - 2*resetSlack)
	drop := 0
	for drop < len(ts) && ts[drop].Before(old) {
		drop++
	}
	return ts[drop:]
}

// Hold keeps every request of the bucket back until t: a 429 announced
// when the provider will answer again. It does not touch the window's
// count, so a reset announced early (another client's storm) never buys
// this client more than its share of the real window.
func (p *Pacer) Hold(t time.Time) {
	p.mu.Lock()
	if t.After(p.holdUntil) {
		p.holdUntil = t
	}
	p.mu.Unlock()
}

// Update takes in what a response said: the window's limit, what remains of
// it, and how long until it resets (from the provider's own clock, so skew
// does not matter). It reports false for a reset further ahead than one
// window, which a provider with windows of a fixed length cannot mean (a
// broken answer, or a proxy or a clock in between): the pacer then keeps
// counting in the window it knows, or assumes one from now, so that such
// an answer costs a window's wait at most instead of holding every request
// until the date it names.
func (p *Pacer) Update(limit, remaining int, resetIn time.Duration) (plausible bool) {
	return p.UpdateSent(limit, remaining, resetIn, time.Time{})
}

// UpdateSent is Update for the answer to a request sent at sent (zero:
// unknown). The provider wrote the answer between the sending and now, so
// its reset lies between sent+resetIn and now+resetIn: the window is taken
// to end at the upper bound (the tightest of its answers'), so that
// nothing goes early into the old one, and the new one counts what went
// since the lower bound, and what is still out from before, so that
// nothing sent in between is forgotten (a busy process read an answer
// seconds after its Date: TestA429StormKeepsTheShare, about once in 25
// runs under load).
func (p *Pacer) UpdateSent(limit, remaining int, resetIn time.Duration, sent time.Time) (plausible bool) {
	if limit <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if sent.IsZero() || sent.After(now) {
		sent = now
	}
	plausible = resetIn <= p.window+resetSlack
	keep := false // an implausible reset: the window the pacer counts in stays
	early := sent.Add(resetIn)
	if !plausible {
		keep = p.known && p.resetAt.After(now)
		if keep {
			resetIn = p.resetAt.Sub(now)
		} else {
			resetIn = p.window
		}
		early = now.Add(resetIn)
	}
	resetAt := now.Add(resetIn)
	if p.known && !p.assumed && p.resetAt.Sub(resetAt) > p.window/2 {
		// The answer to a request sent in the window that has just ended:
		// taking it in would move the window back and forget what was
		// sent in the new one.
		return true
	}
	switch {
	case !p.known || resetAt.Sub(p.resetAt) > p.window/2:
		// The first answer from a new window: what was sent since it
		// began (a second early for Date's whole seconds), and what is
		// still in flight, opened it. It began a window before this
		// answer's reset, and not before the last window's end: of the two
		// lower bounds the later, the last window's when its answers read
		// it more closely than this one answer can.
		from := early.Add(-p.window)
		if p.known {
			from = maxTime(from, p.early)
		}
		p.sent = max(1, p.sentInWindowFrom(from.Add(-resetSlack)))
	case keep:
		early = p.early
	case plausible && !p.assumed:
		// Another answer from the same window: each bounds its reset from
		// both sides, and the tightest bounds hold, so that the window
		// ends no later, and counts no earlier, than the answers require.
		resetAt, early = minTime(resetAt, p.resetAt), maxTime(early, p.early)
	}
	early = minTime(early, resetAt) // Date's whole seconds can put the lower bound past the upper
	p.known, p.limit, p.remaining, p.resetAt, p.early = true, limit, remaining, resetAt, early
	if !keep {
		// A window of the pacer's own making (one assumed from now) gives
		// way to the first one headers announce.
		p.assumed = !plausible
	}
	// Pace at the share of the limit over the window; when little is left,
	// spread what is left until the reset. (Nothing left at all is handled
	// by Wait, which sleeps until the reset.)
	perSec := p.pace()
	if left := resetAt.Sub(now).Seconds(); remaining > 0 && float64(remaining) < lowWater*float64(limit) && left > 0 {
		perSec = min(perSec, rate.Limit(float64(remaining)/left))
	}
	burst := p.budget() // the whole share at once; the window's count caps it
	if p.lim == nil {
		p.lim = rate.NewLimiter(perSec, burst) // full: the first window's share may go at once
	} else {
		p.lim.SetLimitAt(now, perSec)
		p.lim.SetBurstAt(now, burst)
	}
	return plausible
}

// Assume starts the pacer on an assumed budget of limit calls per window,
// counted from now, for providers whose answers may carry no rate headers
// (OneLogin v2); headers, when they come, replace it. As with headers, the
// window's share may go at once; the per-window cap holds.
func (p *Pacer) Assume(limit int) {
	p.Update(limit, limit, p.window)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.assumed, p.sent = true, 0
	p.lim = rate.NewLimiter(p.lim.Limit(), p.lim.Burst())
}
