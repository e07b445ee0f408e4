package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"neurons-connector/engine"
	"neurons-connector/providers/httpclient"
)

// incremental is what an incremental pass remembers between users: APIs
// the org lacks, and the apps already looked up.
type incremental struct {
	mu       sync.Mutex // users are enriched four at a time
	unavail  map[string]bool
	skipped  map[string]bool // unavailable only because the mapping reads none of it (skipUnread)
	apps     map[string]appInfo
	selected map[string]bool // the statuses the connector delivers
	numbers  *numbering      // for the users' states
	// noDeviceNames: the mapping reads none of a device's details (display
	// name, manufacturer, model, serial number), so devices are kept
	// without them (readsDeviceDetails).
	noDeviceNames bool
	// last is the numbering of the users' stored states: the last
	// pass's, which a full pass replaces with a fresh one (numbers is),
	// so that apps and devices gone from the org leave the cursor.
	last *numbering
}

// stored is the numbering the users' stored states were written with.
func (pass *incremental) stored() *numbering {
	if pass.last != nil {
		return pass.last
	}
	return pass.numbers
}

// known is the app id as the pass knows it (from the cursor, the sweep or a
// lookup).
func (pass *incremental) known(id string) (appInfo, bool) {
	pass.mu.Lock()
	defer pass.mu.Unlock()
	a, ok := pass.apps[id]
	return a, ok
}

func (pass *incremental) isUnavailable(api string) bool {
	pass.mu.Lock()
	defer pass.mu.Unlock()
	return pass.unavail[api]
}

// skipUnread marks the apps and devices APIs unavailable to the pass,
// silently, when the mapping reads no appLinks or devices (fields, nil for
// all): neither the sweeps nor an incremental pass's reads then call them,
// and the users' states say they know nothing of them, so that the full
// run a mapping change brings reads them again.
func (pass *incremental) skipUnread(fields []string) {
	if fields == nil {
		return
	}
	pass.mu.Lock()
	defer pass.mu.Unlock()
	if !slices.Contains(fields, "appLinks") {
		pass.unavail["apps"], pass.skipped["apps"] = true, true
	}
	if !slices.Contains(fields, "devices") {
		pass.unavail["devices"], pass.skipped["devices"] = true, true
	}
}

// keeps reports whether users keep what they last had of an API: it is
// refused (a custom admin role edited, an OAuth scope not granted, a
// Classic org's devices), not merely unread. A permission lost for a day
// must not wipe every user's apps in Neurons and bring them back the day
// after: the last values read stand, with a warning, until it answers
// again.
func (pass *incremental) keeps(api string) bool {
	pass.mu.Lock()
	defer pass.mu.Unlock()
	return pass.unavail[api] && !pass.skipped[api]
}

// markUnavailable records that the org lacks an API; it reports whether
// this was news (so the warning is given once).
func (pass *incremental) markUnavailable(api string) bool {
	pass.mu.Lock()
	defer pass.mu.Unlock()
	news := !pass.unavail[api]
	pass.unavail[api] = true
	return news
}

// enrichAll reads the apps and devices of users side by side, four at a
// time (the client's cap on requests in flight), each once, and gives each
// its new state.
func (c *Client) enrichAll(ctx context.Context, users []*engine.User, pass *incremental) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for _, u := range users {
		g.Go(func() error {
			s, err := c.enrichOne(gctx, u.Raw, u.ID, pass, nil, true, true)
			if err == nil {
				u.State = pass.numbers.encode(s)
			}
			return err
		})
	}
	return g.Wait()
}

// enrichOne reads what a user's record needs of its apps (apps) and devices
// (devs), starting from the stored state base (nil: none, so both are
// read), writes them into raw and returns the user's new state. Calls go
// only where the state cannot answer: one for apps, one for devices. Apps
// are named by the app's label, as full passes name them (a user's
// appLinks carry link labels, and one app may have several links).
func (c *Client) enrichOne(ctx context.Context, raw map[string]any, id string, pass *incremental, base *userState, apps, devs bool) (*userState, error) {
	s := &userState{NoApps: true, NoDevices: true} // nothing known until read
	if base != nil {
		*s = *base
	} else {
		apps, devs = true, true
	}
	if apps || s.NoApps {
		if err := c.readApps(ctx, id, s, pass); err != nil {
			return nil, err
		}
	}
	if devs || s.NoDevices {
		if err := c.readDevices(ctx, id, s, pass); err != nil {
			return nil, err
		}
	}
	return s, c.apply(ctx, raw, s, pass)
}

// readApps reads a user's app links into s (one call). While the API is
// refused, s keeps the apps it had (pass.keeps); when the mapping reads
// none, s knows nothing of them.
func (c *Client) readApps(ctx context.Context, id string, s *userState, pass *incremental) error {
	if pass.isUnavailable("apps") {
		if !pass.keeps("apps") {
			s.Apps, s.NoApps = nil, true
		}
		return nil
	}
	var links []map[string]any
	_, err := c.get(ctx, "/api/v1/users/"+url.PathEscape(id)+"/appLinks", func(r io.Reader) (err error) {
		links, err = httpclient.DecodeObjectsFrom(r, maxUserList) // unpaginated: one user's links
		return userList(err, "app links")
	})
	switch {
	case unavailable(err):
		if pass.markUnavailable("apps") {
			c.warn(fmt.Sprintf("okta appLinks API unavailable (%v): %s", err, appsKept))
		}
		return nil
	case err != nil:
		return err
	}
	var apps []string
	seen := map[string]bool{}
	for _, l := range links {
		inst, _ := l["appInstanceId"].(string)
		if inst != "" && !seen[inst] {
			seen[inst] = true
			apps = append(apps, inst)
		}
	}
	s.Apps, s.NoApps = apps, false
	return nil
}

// userList says what a decode error of one user's unpaginated list means
// when the list went past maxUserList: an answer that loops, not a user.
func userList(err error, what string) error {
	if errors.Is(err, httpclient.ErrTooManyItems) {
		return fmt.Errorf("more than %d %s for one user, more than any org gives one: the answer repeats itself or is broken", maxUserList, what)
	}
	return err
}

// readDevices reads a user's devices into s (one call); while the API is
// refused, s keeps the devices it had, as readApps keeps apps.
func (c *Client) readDevices(ctx context.Context, id string, s *userState, pass *incremental) error {
	if pass.isUnavailable("devices") {
		if !pass.keeps("devices") {
			s.Devices, s.NoDevices = nil, true
			return nil
		}
		return c.readFactors(ctx, id, s, pass)
	}
	var items []struct{ Device device }
	_, err := c.get(ctx, "/api/v1/users/"+url.PathEscape(id)+"/devices", func(r io.Reader) (err error) {
		items, err = httpclient.DecodeItemsFrom[struct{ Device device }](r, maxUserList)
		return userList(err, "devices")
	})
	switch {
	case unavailable(err):
		if pass.markUnavailable("devices") {
			c.warn(fmt.Sprintf("okta devices API unavailable (%v): %s", err, devicesKept))
		}
		return c.readFactors(ctx, id, s, pass)
	case err != nil:
		return err
	}
	devices := make([]stateDevice, 0, len(items))
	for _, it := range items {
		devices = append(devices, it.Device.info(!pass.noDeviceNames))
	}
	s.Devices, s.NoDevices = devices, false
	return nil
}

// readFactors is how a user's devices are read when the devices API is
// refused (a Classic Engine org has none; a role may not read them): from
// the user's Okta Verify push factors, one call (okta-api.md §5.3, §5.4).
// Each active push factor is a phone or tablet: its platform (IOS,
// ANDROID) and name, but no OS version (the factor's version is Okta
// Verify's) and no computers. A factors answer that is refused too keeps
// the devices s had.
func (c *Client) readFactors(ctx context.Context, id string, s *userState, pass *incremental) error {
	if pass.isUnavailable("factors") {
		return nil
	}
	type factor struct {
		FactorType, Status string
		Profile            struct{ Name, Platform string }
	}
	var factors []factor
	_, err := c.get(ctx, "/api/v1/users/"+url.PathEscape(id)+"/factors", func(r io.Reader) (err error) {
		factors, err = httpclient.DecodeItemsFrom[factor](r, maxUserList) // unpaginated: one user's factors
		return userList(err, "factors")
	})
	var ae *httpclient.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden && ae.Page == "":
		// A role that may not read factors either: not asked again this
		// pass, each user's devices as they were.
		if pass.markUnavailable("factors") {
			c.warn(fmt.Sprintf("okta factors API unavailable too (%v): users whose devices were never read have none", err))
		}
		return nil
	case unavailable(err): // the user deleted since (404)
		return nil
	case err != nil:
		return err
	}
	devices := []stateDevice{}
	for _, f := range factors {
		if f.FactorType != "push" || f.Status != "ACTIVE" || f.Profile.Platform == "" {
			continue
		}
		d := stateDevice{Platform: strings.ToUpper(f.Profile.Platform)}
		if !pass.noDeviceNames {
			d.Name = f.Profile.Name
		}
		devices = append(devices, d)
	}
	s.Devices, s.NoDevices = devices, false
	return nil
}

// factorsOfPage fills in, from their factors (readFactors), the devices of
// the users of a full pass's page whose state knows none, when the devices
// sweep was refused: each user once, at the first full pass that sees it;
// later passes keep what was read, and incremental ones read a user's
// factors again when the System Log names it for a factor change.
func (c *Client) factorsOfPage(ctx context.Context, users []engine.User, pass *incremental) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for i := range users {
		u := &users[i]
		if !pass.selected[u.Status] {
			continue
		}
		s, ok := pass.numbers.decode(u.State)
		if !ok || !s.NoDevices {
			continue
		}
		g.Go(func() error {
			if err := c.readFactors(gctx, u.ID, s, pass); err != nil {
				return err
			}
			if !s.NoDevices {
				u.Raw["devices"] = devicesRaw(s.Devices)
				u.State = pass.numbers.encode(s)
			}
			return nil
		})
	}
	return g.Wait()
}

// What a run says when an API is refused: users keep what was last read.
const (
	appsKept = "each user's assigned apps are kept as last read, not updated, until the token may read apps again " +
		"(grant its admin read access to apps, or the okta.apps.read scope to an OAuth app)"
	devicesKept = "each user's devices are kept as last read, not updated, until the token may read devices again (the " +
		"devices API exists only in Identity Engine orgs); a user with none read yet, or whose factors the System Log says " +
		"changed, gets its phones and tablets from its Okta Verify factors instead (a call each; no computers, no OS versions)"
)

// errAppsRefused: an app the pass cannot name, the apps API being refused.
var errAppsRefused = errors.New("the apps API is refused")

// app looks an app up once per pass.
func (c *Client) app(ctx context.Context, id string, pass *incremental) (appInfo, error) {
	pass.mu.Lock()
	known, ok := pass.apps[id]
	refused := pass.unavail["apps"]
	pass.mu.Unlock()
	if ok {
		return known, nil
	}
	if refused {
		return appInfo{}, errAppsRefused
	}
	var a struct{ ID, Label, Name string }
	_, err := c.get(ctx, "/api/v1/apps/"+url.PathEscape(id), func(r io.Reader) error { return httpclient.DecodeInto(r, &a) })
	if err != nil {
		return appInfo{}, fmt.Errorf("look up app %s: %w", id, err)
	}
	info := appInfo{id: id, label: a.Label, name: a.Name}
	pass.mu.Lock()
	pass.apps[id] = info
	pass.mu.Unlock()
	return info, nil
}

var _ engine.StatsReporter = (*Client)(nil)
