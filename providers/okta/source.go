package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"neurons-connector/engine"
)

// Overlap is how far before the watermark an incremental pass starts:
// lastUpdated has one-second resolution, several users change in the same
// second, and some transitions land late (okta-api.md §8). Users read twice
// cost nothing downstream: the engine skips unchanged records.
const Overlap = 5 * time.Minute

// cursor is the Okta connector's stored position.
type cursor struct {
	Version int `json:"v"`
	// Watermark: every change at or after it is still to be read. It comes
	// from Okta's data and Date headers, never the local clock.
	Watermark time.Time `json:"watermark"`
}

// Fetch implements engine.Provider. A full pass lists the users of the
// selected statuses (DEPROVISIONED included when selected) with their apps
// and devices; an incremental pass lists every user whose lastUpdated is at
// or after the watermark less Overlap, whatever its status, so that a user
// who left the selection is seen. The watermark moves only forward and only
// when the pass completes.
func (c *Client) Fetch(ctx context.Context, req engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	var cur cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			return nil, fmt.Errorf("okta: stored cursor is unreadable (%w); run a full sync", err)
		}
	}
	var (
		first  string
		enrich *enrichment
		pass   = &incremental{unavail: map[string]bool{}, apps: map[string]appInfo{}}
	)
	switch {
	case req.Mode == engine.Full:
		if len(req.Statuses) == 0 {
			return nil, errors.New("okta: no user status selected")
		}
		first = c.usersURL(statusFilter(req.Statuses))
	case cur.Watermark.IsZero():
		return nil, errors.New("okta: an incremental pass needs the cursor of a full pass")
	default:
		since := cur.Watermark.Add(-Overlap).UTC().Format(TimeFormat)
		first = c.usersURL(fmt.Sprintf("lastUpdated ge %q", since))
	}

	c.mu.Lock()
	c.pass = pass
	c.mu.Unlock()
	c.maxPages.Store(int64(req.MaxPages))
	c.serial.Store(false) // a concurrency 429 slows one pass, not every later one
	var passStart, maxSeen time.Time
	handle := func(items []map[string]any, h http.Header) error {
		if passStart.IsZero() {
			passStart = serverTime(h)
		}
		users := make([]engine.User, 0, len(items))
		var changed []engine.User
		for _, raw := range items {
			f, err := checkUser(raw)
			if err != nil {
				return err
			}
			if f.lastUpdated.After(maxSeen) {
				maxSeen = f.lastUpdated
			}
			u := engine.User{ID: f.id, Status: f.status, Raw: raw}
			switch {
			case enrich != nil:
				enrich.attach(raw, f.id)
			case f.lastUpdated.Before(cur.Watermark):
				// Read again only because of the overlap: unchanged since the
				// last complete pass read it, so its apps and devices are
				// fetched only if the engine does not know the user (Complete).
				u.Partial = true
			default:
				changed = append(changed, u)
			}
			users = append(users, u)
		}
		if err := c.enrichAll(ctx, changed, pass); err != nil {
			return err
		}
		return page(users)
	}
	var err error
	if req.Mode == engine.Full {
		err = c.fullPass(ctx, first, &enrich, handle)
	} else {
		err = c.pages(ctx, first, c.opts.PageSize, handle)
	}
	if err != nil {
		return nil, err
	}
	// Changes made while the pass ran may have been missed by pages already
	// read: the next pass starts no later than this one's first response.
	next := maxSeen
	if next.IsZero() || (!passStart.IsZero() && passStart.Before(next)) {
		next = passStart
	}
	if next.Before(cur.Watermark) {
		next = cur.Watermark
	}
	if next.IsZero() {
		return nil, errors.New("okta: the pass ended without a server time to start the next one from (no Date header)")
	}
	return json.Marshal(cursor{Version: 1, Watermark: next.UTC()})
}

// spoolAfterWaiting is how long the sweep must have waited on rate limits
// before the listing starts beside it.
const spoolAfterWaiting = time.Second

// fullPass runs the apps and devices sweep and, once the sweep proves to be
// held up by rate limits, the user listing beside it. Pages that arrive before the sweep has finished wait in a spool;
// once it has, its result is stored in *enrich (which handle reads) and
// the spooled pages go to handle first, then the rest as they come.
func (c *Client) fullPass(ctx context.Context, first string, enrich **enrichment, handle func([]map[string]any, http.Header) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	var swept *enrichment
	var sweepErr error
	go func() {
		defer close(done)
		swept, sweepErr = c.sweep(ctx)
	}()
	// Without rate limits to wait for, the sweep is quick, and spooling
	// would cost more (encoding and decoding every page twice) than it
	// saves: the listing starts once the sweep has waited a second on the
	// limits, or when it is done.
	before := c.Stats().RateLimitWait
	tick := time.NewTicker(20 * time.Millisecond)
	for gated := true; gated; {
		select {
		case <-done:
			gated = false
		case <-tick.C:
			gated = c.Stats().RateLimitWait-before < spoolAfterWaiting
		case <-ctx.Done():
			tick.Stop()
			<-done
			return ctx.Err()
		}
	}
	tick.Stop()
	sp := &spool{dir: c.opts.SpoolDir}
	defer sp.close()
	ready := func() (bool, error) {
		select {
		case <-done:
		default:
			return false, nil
		}
		if sweepErr != nil {
			return false, sweepErr
		}
		if *enrich == nil {
			*enrich = swept
			return true, sp.replay(handle)
		}
		return true, nil
	}
	err := c.pages(ctx, first, c.opts.PageSize, func(items []map[string]any, h http.Header) error {
		ok, err := ready()
		switch {
		case err != nil:
			return err
		case !ok:
			return sp.add(items, h)
		}
		return handle(items, h)
	})
	if err != nil {
		cancel()
		<-done
		return err
	}
	<-done // the sweep ends with ctx too
	if _, err := ready(); err != nil {
		return err
	}
	if *enrich == nil {
		return ctx.Err()
	}
	return nil
}

// Complete fetches what an incremental pass left out of Partial users
// (their apps and devices), for the users the engine does not know.
func (c *Client) Complete(ctx context.Context, users []engine.User) error {
	c.mu.Lock()
	pass := c.pass
	c.mu.Unlock()
	if pass == nil {
		pass = &incremental{unavail: map[string]bool{}, apps: map[string]appInfo{}}
	}
	return c.enrichAll(ctx, users, pass)
}

var (
	_ engine.Provider  = (*Client)(nil)
	_ engine.Completer = (*Client)(nil)
)
