package okta

import (
	"cmp"
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
	// Log is the server's time of the last System Log read (or of the
	// full pass's start): the next read starts LogOverlap before it, and
	// skips the events of LogSeen. Zero in version 1 cursors.
	Log     time.Time   `json:"log,omitzero"`
	LogSeen []seenEvent `json:"logSeen,omitempty"`
	// Suspect says why the position cannot be trusted (engine.AheadOfClock:
	// it is later than Okta's clock): the next run is full, and its cursor
	// has none.
	Suspect string `json:"suspect,omitempty"`
	// Apps are the labels and names of the org's apps by ID, so that
	// incremental passes name a user's apps without a call.
	Apps map[string][2]string `json:"apps,omitempty"`
	// AppNumbers and DeviceNumbers number the apps and device profiles the
	// users' states refer to (numbering); appended to, never renumbered.
	AppNumbers    []string    `json:"appNumbers,omitempty"`
	DeviceNumbers [][3]string `json:"deviceNumbers,omitempty"`
}

// newPass is a pass's memory, started from the stored cursor: the apps it
// knows, the numbers of the users' states, and the statuses it delivers.
func newPass(cur cursor, statuses []string) *incremental {
	pass := &incremental{unavail: map[string]bool{}, skipped: map[string]bool{}, apps: map[string]appInfo{}, selected: map[string]bool{},
		numbers: newNumbering(cur.AppNumbers, cur.DeviceNumbers)}
	for id, a := range cur.Apps {
		pass.apps[id] = appInfo{id: id, label: a[0], name: a[1]}
	}
	for _, s := range statuses {
		pass.selected[s] = true
	}
	return pass
}

// FullRunNeeded implements engine.FullRunChecker: past the System Log's
// retention, events an incremental pass needs may be gone; a position the
// last pass found dated ahead of Okta's clock (Suspect) skipped changes.
func (c *Client) FullRunNeeded(raw []byte, now time.Time) string {
	var cur cursor
	if json.Unmarshal(raw, &cur) != nil {
		return ""
	}
	pos := cur.Log
	if pos.IsZero() {
		pos = cur.Watermark
	}
	if !pos.IsZero() && now.Sub(pos) > logRetention {
		return fmt.Sprintf("the last run read Okta's System Log on %s, longer ago than its 90 days' retention", pos.Format(time.DateOnly))
	}
	return cur.Suspect
}

// Fetch implements engine.Provider. A full pass lists the users of the
// selected statuses (DEPROVISIONED included when selected) with their apps
// and devices, and keeps each user's apps and devices as its state. An
// incremental pass reads the System Log first (app assignments, device
// links and deletions, which do not change lastUpdated), then lists every
// user whose lastUpdated is at or after the watermark less Overlap,
// whatever its status, so that a user who left the selection is seen. A
// listed user's apps and devices come from its state unless the log names
// it; users the log names that the listing did not return are read one by
// one, and a deletion is confirmed (404) before it becomes a delete. The
// watermark moves only forward and only when the pass completes.
func (c *Client) Fetch(ctx context.Context, req engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	var cur cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			if req.Mode != engine.Full {
				return nil, fmt.Errorf("okta: stored cursor is unreadable (%w); run a full sync", err)
			}
			cur = cursor{} // a full pass needs none, and a half-read one could misread the users' states
		}
	}
	var last *numbering
	if req.Mode == engine.Full {
		// A full pass starts afresh, keeping of the last cursor only what
		// reads the users' stored states (their numbering) and names their
		// apps, for users who keep what they had of an API now refused.
		last = &numbering{apps: cur.AppNumbers, devices: cur.DeviceNumbers} // decodes only: no lookup maps
		cur = cursor{Apps: cur.Apps}
	}
	var (
		first  string
		enrich *enrichment
		pass   = newPass(cur, req.Statuses)
		log    *logRead
	)
	pass.last = last
	pass.noDeviceNames = !readsDeviceDetails(req.Sources)
	pass.skipUnread(req.Fields)
	if o, ok := c.auth.(*oauthApp); ok {
		o.narrow(pass)
		if err := c.withoutRefused(ctx, o, pass); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	c.pass = pass
	c.mu.Unlock()
	c.maxPages.Store(int64(req.MaxPages))
	c.keep.Store(keepOf(req.Fields))
	c.serial.Store(false) // a concurrency 429 slows one pass, not every later one
	switch {
	case req.Mode == engine.Full:
		if len(req.Statuses) == 0 {
			return nil, errors.New("okta: no user status selected")
		}
		first = c.usersURL(statusFilter(req.Statuses))
	case cur.Watermark.IsZero():
		return nil, errors.New("okta: an incremental pass needs the cursor of a full pass")
	default:
		var err error
		// An app not granted okta.logs.read (said at the pass's start)
		// goes on without the log, as for a token's admin without the role.
		if !pass.isUnavailable("logs") {
			log, err = c.readLog(ctx, cur)
		}
		switch {
		case errors.Is(err, errNoLog):
			c.warn(fmt.Sprintf("%v: app assignments, devices and deletions reach Neurons with full runs only, and every changed user costs "+
				"two calls; give the API token's admin a role that may read the System Log (Read-Only Administrator), "+
				"or an OAuth app the okta.logs.read scope", err))
		case errors.Is(err, errLogTooLong):
			c.warn(fmt.Sprintf("%v: this run reads every changed user's apps and devices instead, and the next full run "+
				"catches the rest", err))
		case err != nil:
			return nil, err
		}
		if err := c.groupMembers(ctx, log, pass); err != nil {
			return nil, err
		}
		since := cur.Watermark.Add(-Overlap).UTC().Format(TimeFormat)
		first = c.usersURL(fmt.Sprintf("lastUpdated ge %q", since))
	}

	var passStart, maxSeen time.Time
	var beforeList time.Duration // from the pass's start to its first page (a full pass's sweep)
	began := c.clock.Now()
	listed := map[string]bool{}
	handle := func(items []map[string]any, h http.Header) error {
		if passStart.IsZero() {
			passStart, beforeList = serverTime(h), c.clock.Now().Sub(began)
		}
		users := make([]engine.User, 0, len(items))
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
			case enrich != nil: // joined below, a page at a time
			case f.lastUpdated.Before(cur.Watermark) && !log.names(f.id):
				// Read again only because of the overlap: unchanged since the
				// last complete pass read it, so its apps and devices are
				// fetched only if the engine does not know the user (Complete).
				u.Partial = true
			}
			if enrich == nil {
				listed[f.id] = true // an incremental pass's users, for the log's others
			}
			users = append(users, u)
		}
		if enrich == nil {
			if err := c.refresh(ctx, users, req.State, log, pass); err != nil {
				return err
			}
		} else if err := c.joinPage(enrich, users, req.State, pass); err != nil {
			return err
		} else if enrich.noDevs && pass.keeps("devices") {
			if err := c.factorsOfPage(ctx, users, pass); err != nil {
				return err
			}
		}
		return page(users)
	}
	var err error
	if req.Mode == engine.Full {
		err = c.fullPass(ctx, first, pass, &enrich, handle)
	} else if err = c.pages(ctx, first, c.opts.PageSize, handle); err == nil && log != nil {
		err = c.logOnly(ctx, log, listed, req.State, pass, page)
	}
	if err == nil && req.Again != nil {
		err = c.readAgain(ctx, req, enrich, log, pass, page)
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
	out := cursor{Version: 2, Watermark: next.UTC(), Log: cur.Log, LogSeen: cur.LogSeen, Apps: map[string][2]string{}}
	out.AppNumbers, out.DeviceNumbers = pass.numbers.tables()
	switch {
	case enrich != nil:
		// The pass read everything up to its start: the sweep's start,
		// which may be minutes before the listing's first page under rate
		// limits (an assignment made in between is in neither).
		out.Log, out.LogSeen = passStart.Add(-beforeList).UTC(), nil
		for _, a := range enrich.apps {
			out.Apps[a.id] = [2]string{a.label, a.name}
		}
	case log != nil:
		out.Log, out.LogSeen = log.at.UTC(), log.seen
	}
	if enrich == nil {
		latest := cur.Watermark
		if cur.Log.After(latest) {
			latest = cur.Log
		}
		out.Suspect = cmp.Or(engine.AheadOfClock("Okta's answers", latest, passStart), cur.Suspect)
	}
	if enrich == nil || enrich.noApps { // the names the pass knew, kept for users who keep their apps
		for id, a := range pass.snapshotApps() {
			out.Apps[id] = [2]string{a.label, a.name}
		}
	}
	return json.Marshal(out)
}

// spoolAfterWaiting is how long the sweep must have waited on rate limits
// before the listing starts beside it.
const spoolAfterWaiting = time.Second

// fullPass runs the apps and devices sweep and, once the sweep proves to be
// held up by rate limits, the user listing beside it. Pages that arrive before the sweep has finished wait in a spool;
// once it has, its result is stored in *enrich (which handle reads) and
// the spooled pages go to handle first, then the rest as they come.
func (c *Client) fullPass(ctx context.Context, first string, pass *incremental, enrich **enrichment, handle func([]map[string]any, http.Header) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	var swept *enrichment
	var sweepErr error
	go func() {
		defer close(done)
		swept, sweepErr = c.sweep(ctx, pass)
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
		pass = newPass(cursor{}, nil)
	}
	ptrs := make([]*engine.User, len(users))
	for i := range users {
		ptrs[i] = &users[i]
	}
	return c.enrichAll(ctx, ptrs, pass)
}

var (
	_ engine.Provider  = (*Client)(nil)
	_ engine.Completer = (*Client)(nil)
)
