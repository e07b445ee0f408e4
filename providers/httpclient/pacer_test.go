package httpclient

import (
	"context"
	"testing"
	"time"

	"neurons-connector/clock"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// A window's share goes at once, as fast as the provider answers; the
// next request waits for the reset the provider announced, not for an even
// pace; and no window ever sees more than the share.
func TestPacerSpendsAWindowsShareAtOnce(t *testing.T) {
	c := clock.NewFake(t0)
	p := NewPacer(c, 0.5, time.Minute)
	ctx := context.Background()
	if _, _, err := p.Wait(ctx); err != nil { // the first request, whose answer
		t.Fatal(err)
	}
	p.Update(100, 99, 40*time.Second) // says the window resets in 40 s
	p.Done()
	for i := range 49 {
		waited, _, err := p.Wait(ctx)
		if err != nil || waited != 0 {
			t.Fatalf("request %d of the share waited %v (%v)", i, waited, err)
		}
		p.Done()
	}
	waited, windowWait, err := p.Wait(ctx)
	if err != nil || !windowWait || waited < 40*time.Second || waited > 41*time.Second {
		t.Fatalf("the 51st waited %v (window %v), want the 40 s to the reset", waited, windowWait)
	}
	p.Done()
	// Many windows: never more than 50 in one, and each window's share
	// goes within a second of its start.
	anchor := t0.Add(40 * time.Second) // the provider's windows: from the reset on, a minute each
	perWindow := map[int64]int{0: 1}   // the 51st went in window 0
	start := anchor
	for range 500 {
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Done()
		elapsed := c.Now().Sub(start)
		w := int64(elapsed / time.Minute)
		perWindow[w]++
		if perWindow[w] > 50 {
			t.Fatalf("window %d saw %d requests", w, perWindow[w])
		}
		if into := elapsed % time.Minute; perWindow[w] == 50 && into > 2*time.Second {
			t.Errorf("window %d's share took %v", w, into)
		}
	}
}

// Requests still in flight when a window ends count in the next one: its
// share is what is left after them.
func TestPacerCountsInFlightRequestsInTheNextWindow(t *testing.T) {
	c, p := windowEndsIn10s(t, 0.5) // 100 a minute: 50 for this client
	ctx := context.Background()
	for range 19 {
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Done()
	}
	for range 10 { // sent, not answered
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(11 * time.Second) // the window resets with them in flight
	n := goUntilAWait(t, p)
	if n != 40 {
		t.Errorf("the next window let %d go besides the 10 in flight, want 40", n)
	}
}

// Nothing goes before a reset a 429 announced, and a bucket others have
// spent is waited out, not hit.
func TestPacerHoldsAndLeavesOthersTheirPart(t *testing.T) {
	c := clock.NewFake(t0)
	p := NewPacer(c, 0.5, time.Minute)
	if _, _, err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Update(100, 99, time.Minute)
	p.Done()
	p.Hold(t0.Add(7 * time.Second))
	if waited, windowWait, _ := p.Wait(context.Background()); waited != 7*time.Second || !windowWait {
		t.Errorf("held: waited %v", waited)
	}
	p.Done()
	p.Update(100, 0, 53*time.Second) // other clients took the rest of the window
	waited, _, _ := p.Wait(context.Background())
	if waited < 53*time.Second {
		t.Errorf("an empty bucket: waited %v, want the 53 s to its reset", waited)
	}
}

// While a request waits for the window (or a 429's reset), the pacer says
// until when, for the progress line; not otherwise.
func TestPacerSaysWhatItWaitsFor(t *testing.T) {
	c := clock.NewFake(t0)
	p := NewPacer(c, 0.5, time.Minute)
	if !p.WaitingUntil().IsZero() {
		t.Fatal("waiting before any request")
	}
	p.Hold(t0.Add(30 * time.Second))
	if got := p.WaitingUntil(); !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("held: waiting until %v", got)
	}
	if _, _, err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done()
	if got := p.WaitingUntil(); !got.IsZero() {
		t.Errorf("after the wait: waiting until %v", got)
	}
}

// A reset announced further ahead than a window (a broken answer, or a
// proxy or a clock in between) is reported, and costs a window at most:
// the pacer keeps the window it counts in, or assumes one from now, which
// the first sane answer then replaces.
func TestPacerTakesAnAbsurdResetAsAWindow(t *testing.T) {
	ctx := context.Background()
	year := 365 * 24 * time.Hour
	t.Run("the first answer", func(t *testing.T) {
		c := clock.NewFake(t0)
		p := NewPacer(c, 0.5, time.Minute)
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if p.Update(100, 0, year) {
			t.Error("a reset a year ahead of a one-minute window was taken as plausible")
		}
		p.Done()
		waited, windowWait, err := p.Wait(ctx)
		if err != nil || !windowWait || waited < time.Minute || waited > time.Minute+time.Second {
			t.Fatalf("waited %v (window %v, %v), want one window", waited, windowWait, err)
		}
		p.Done()
		// A sane answer replaces the assumed window at once, even one that
		// ends sooner than the assumed one would have.
		if !p.Update(100, 49, 10*time.Second) {
			t.Error("a reset 10 s ahead was taken as absurd")
		}
		if until := c.Now().Add(10 * time.Second); !p.resetAt.Equal(until) {
			t.Errorf("the window ends at %v, want %v, as announced", p.resetAt, until)
		}
	})
	t.Run("within a known window", func(t *testing.T) {
		c := clock.NewFake(t0)
		p := NewPacer(c, 0.5, time.Minute)
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Update(100, 90, 20*time.Second)
		p.Done()
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if p.Update(100, 0, 200*year) {
			t.Error("a reset two hundred years ahead was taken as plausible")
		}
		p.Done()
		waited, windowWait, err := p.Wait(ctx)
		if err != nil || !windowWait || waited < 20*time.Second || waited > 21*time.Second {
			t.Fatalf("waited %v (window %v, %v), want the 20 s left of the known window", waited, windowWait, err)
		}
		p.Done()
	})
	t.Run("up to a second beyond a window", func(t *testing.T) {
		c := clock.NewFake(t0)
		p := NewPacer(c, 0.5, time.Minute)
		if !p.Update(100, 50, time.Minute+time.Second) {
			t.Error("a reset a whole second past a window (resets are whole seconds) was taken as absurd")
		}
	})
}

// A request answered without rate headers the pacer takes in (a 429, whose
// reset may be another client's storm) still counted at the provider, in
// the window it arrived in. When the first answer from a new window then
// comes, the requests sent since that window began count in it, not only
// those still in flight: otherwise the 429'd one is forgotten and the
// window sees one more than the share (TestA429StormKeepsTheShare, about
// once in a few dozen CI runs).
func TestPacerCountsWhatWasSentSinceTheWindowBegan(t *testing.T) {
	c, p := windowEndsIn10s(t, 0.3) // 100 a minute: 30 for this client
	ctx := context.Background()
	// The provider's clock says 10 s; Date's whole seconds make this
	// client's reset a little late, so a request goes in the new window
	// while the pacer still counts the old one.
	c.Advance(10*time.Second - 300*time.Millisecond)
	p.Update(100, 98, time.Second)            // an answer at 9.7 s whose Date said 9 s: reset at 10.7 s
	c.Advance(400 * time.Millisecond)         // 10.1 s: the provider's new window
	if _, _, err := p.Wait(ctx); err != nil { // request A, answered 429:
		t.Fatal(err)
	}
	p.Done()                                  // no Update
	if _, _, err := p.Wait(ctx); err != nil { // request B, whose answer
		t.Fatal(err)
	}
	// The provider's window ends at t0+70s, a minute after the first
	// answer's reset; this answer, read at 10.1 s with a Date of 10 s,
	// bounds it by 70.1 s, and the first one's bound holds.
	end := t0.Add(70 * time.Second)
	p.Update(100, 98, 60*time.Second) // says the new window: A and B counted
	p.Done()
	n := goUntil(t, c, p, end)
	if n != 28 {
		t.Errorf("the new window let %d more go after A and B, want 28 (a share of 30)", n)
	}
}

// An answer read seconds after the provider wrote it (a busy process, a
// slow network) makes its reset, counted from the reading, late: the
// pacer then lets requests go that the provider counts in its next window
// while the pacer counts them in the old one. The next window must count
// them: it counts what went since the reset counted from the request's
// sending, which cannot be late. Before, a provider's window saw the
// share and those requests (TestA429StormKeepsTheShare, about once in 25
// runs under load).
func TestPacerCountsFromWhenTheRequestWent(t *testing.T) {
	c := clock.NewFake(t0)
	p := NewPacer(c, 0.5, time.Minute) // 100 a minute: 50 for this client
	ctx := context.Background()
	if _, _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	sent := c.Now()
	c.Advance(5 * time.Second)                  // the answer is read 5 s after it was written
	p.UpdateSent(100, 99, 10*time.Second, sent) // the provider's window ends at t0+10s
	p.Done()
	newWindow := t0.Add(10 * time.Second)
	c.Advance(7 * time.Second) // t0+12s: the provider's new window; the pacer's ends at t0+15s
	inNew := 0
	for !c.Now().After(newWindow.Add(time.Minute)) {
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if at := c.Now(); !at.Before(newWindow) && at.Before(newWindow.Add(time.Minute)) {
			inNew++
		}
		p.Done()
	}
	if inNew > 50 {
		t.Errorf("the provider's window from t0+10s saw %d requests, the share is 50", inNew)
	}
}

// A request answered 429 tells the pacer nothing of the window (its reset
// may be another client's storm), yet the provider counted it, in the
// window it arrived in. One held up on its way past the window's end (a
// slow network, a process that paused, under the tests' fake clock another
// request's sleep) counts in the next window: Lost keeps it among the
// requests out until a window has passed. Before, Done forgot it, and the
// window saw one more than the share (TestA429StormKeepsTheShare, about
// once in 150 runs under load).
func TestPacerCountsA429HeldUpOnItsWay(t *testing.T) {
	for _, tc := range []struct {
		name string
		done func(*Pacer)
	}{
		{"429", (*Pacer).Lost},
		{"answered", (*Pacer).Done}, // an answer Update took in counts itself as it opens the window
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := windowEndsIn10s(t, 0.3) // 100 a minute: 30 for this client
			ctx := context.Background()
			c.Advance(5 * time.Second)
			if _, _, err := p.Wait(ctx); err != nil { // request A, at t0+5s
				t.Fatal(err)
			}
			c.Advance(6 * time.Second) // reaches the provider at t0+11s: its new window
			if tc.name == "answered" {
				p.UpdateSent(100, 99, 59*time.Second, t0.Add(5*time.Second))
			}
			tc.done(p)
			end := t0.Add(70 * time.Second)
			n := goUntil(t, c, p, end)
			if n != 29 {
				t.Errorf("the window from t0+10s let %d go after request A, want 29 (a share of 30)", n)
			}
		})
	}
}

// Lost requests count in the window after the one they went in, not in
// every window after: a bucket idle for a while starts with its share.
func TestPacerForgetsLostRequestsAfterAWindow(t *testing.T) {
	c, p := windowEndsIn10s(t, 0.3) // 100 a minute: 30 for this client
	ctx := context.Background()
	for range 10 { // 429s
		if _, _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Lost()
	}
	c.Advance(3 * time.Minute) // idle for three windows
	n := goUntilAWait(t, p)
	if n != 30 {
		t.Errorf("a window long after the 429s let %d go, want the share of 30", n)
	}
}

// goUntilAWait lets requests go, each answered at once, until one has to
// wait, and returns how many went without waiting.
func goUntilAWait(t *testing.T, p *Pacer) int {
	t.Helper()
	n := 0
	for {
		waited, _, err := p.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if waited > 0 {
			return n
		}
		p.Done()
		n++
	}
}

// goUntil lets requests go, each answered at once, until the clock reaches
// end, and returns how many went before it.
func goUntil(t *testing.T, c *clock.Fake, p *Pacer, end time.Time) int {
	t.Helper()
	n := 0
	for {
		if _, _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Done()
		if !c.Now().Before(end) {
			return n
		}
		n++
	}
}

// windowEndsIn10s is a pacer sharing share of a limit of 100 a minute,
// whose first request's answer said the provider's window ends at t0+10s.
func windowEndsIn10s(t *testing.T, share float64) (*clock.Fake, *Pacer) {
	t.Helper()
	c := clock.NewFake(t0)
	p := NewPacer(c, share, time.Minute)
	if _, _, err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Update(100, 99, 10*time.Second)
	p.Done()
	return c, p
}
