package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	json "github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	"neurons-connector/engine"
)

// enrichment holds what a full pass adds to each user besides the user
// object: assigned apps and devices, gathered by sweeping the apps and
// devices APIs once (calls grow with pages, not users) instead of one call
// per user. Strings are interned: a tenant has few distinct app labels and
// device platforms.
type enrichment struct {
	apps     []appInfo
	devices  []deviceInfo
	userApps map[string][]int32
	userDevs map[string][]int32
	noApps   bool // the apps API was unavailable: leave appLinks out
	noDevs   bool // the devices API was unavailable (Classic Engine): leave devices out
	strs     map[string]string
}

type appInfo struct {
	id, label, name string
	raw             map[string]any // the appLinks element, shared by every user of the app (read-only)
}

type deviceInfo struct{ id, platform, osVersion, displayName string }

func (e *enrichment) intern(s string) string {
	if v, ok := e.strs[s]; ok {
		return v
	}
	e.strs[s] = s
	return s
}

// unavailable reports whether err means an optional API is not there for
// this org or token: any 4xx but 429 (okta-api.md §5.3: Classic orgs lack
// the devices API, and the exact status is undocumented).
func unavailable(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusUnauthorized
}

// sweep gathers apps and devices for a full pass, the two sweeps side by
// side (they use separate rate-limit buckets).
func (c *Client) sweep(ctx context.Context) (*enrichment, error) {
	apps := &enrichment{userApps: map[string][]int32{}, strs: map[string]string{}}
	devs := &enrichment{userDevs: map[string][]int32{}, strs: map[string]string{}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := c.sweepApps(gctx, apps)
		if unavailable(err) {
			apps.noApps = true
			c.warn(fmt.Sprintf("okta apps API unavailable (%v): assigned apps are left out of this run; grant the token's admin read access to apps", err))
			return nil
		}
		return err
	})
	g.Go(func() error {
		err := c.sweepDevices(gctx, devs)
		if unavailable(err) {
			devs.noDevs = true
			c.warn(fmt.Sprintf("okta devices API unavailable (%v): device type and OS are left out of this run; the devices API exists only in Identity Engine orgs", err))
			return nil
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	apps.devices, apps.userDevs, apps.noDevs = devs.devices, devs.userDevs, devs.noDevs
	return apps, nil
}

func (c *Client) sweepApps(ctx context.Context, e *enrichment) error {
	type app struct{ ID, Label, Name string }
	q := url.Values{"limit": {"200"}, "filter": {`status eq "ACTIVE"`}}
	err := pagesOf(ctx, c, "/api/v1/apps?"+q.Encode(), 200, func(items []app) error {
		for _, a := range items {
			if a.ID == "" {
				return errors.New("okta: a listed app has no id")
			}
			e.apps = append(e.apps, appInfo{id: a.ID, label: e.intern(a.Label), name: e.intern(a.Name)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	type appUser struct{ ID string }
	for i, a := range e.apps {
		first := "/api/v1/apps/" + url.PathEscape(a.id) + "/users?" + url.Values{"limit": {"500"}}.Encode()
		err := pagesOf(ctx, c, first, 500, func(items []appUser) error {
			for _, au := range items {
				if au.ID != "" {
					e.userApps[au.ID] = append(e.userApps[au.ID], int32(i))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list users of app %s: %w", a.label, err)
		}
	}
	return nil
}

// device is the part of a device (and of /users/{id}/devices' device) the
// connector reads.
type device struct {
	ID      string
	Profile struct {
		Platform, OSVersion, DisplayName string
	}
	Embedded struct {
		Users []struct{ User struct{ ID string } }
	} `json:"_embedded"`
}

func (c *Client) sweepDevices(ctx context.Context, e *enrichment) error {
	q := url.Values{"limit": {"200"}, "expand": {"userSummary"}}
	return pagesOf(ctx, c, "/api/v1/devices?"+q.Encode(), 200, func(items []device) error {
		for _, d := range items {
			idx := int32(len(e.devices))
			e.devices = append(e.devices, e.device(d))
			for _, u := range d.Embedded.Users {
				if u.User.ID != "" {
					e.userDevs[u.User.ID] = append(e.userDevs[u.User.ID], idx)
				}
			}
		}
		return nil
	})
}

func (e *enrichment) device(d device) deviceInfo {
	return deviceInfo{id: d.ID, platform: e.intern(d.Profile.Platform), osVersion: e.intern(d.Profile.OSVersion),
		displayName: e.intern(d.Profile.DisplayName)}
}

// attach adds appLinks and devices to a user's record, in the shapes of
// /users/{id}/appLinks and /devices, which incremental passes read.
func (e *enrichment) attach(raw map[string]any, id string) {
	if !e.noApps {
		links := make([]any, 0, len(e.userApps[id]))
		for _, i := range e.userApps[id] {
			a := &e.apps[i]
			if a.raw == nil {
				a.raw = map[string]any{"label": a.label, "appName": a.name, "appInstanceId": a.id}
			}
			links = append(links, a.raw)
		}
		raw["appLinks"] = links
	}
	if !e.noDevs {
		devs := make([]any, 0, len(e.userDevs[id]))
		for _, i := range e.userDevs[id] {
			devs = append(devs, deviceRaw(e.devices[i]))
		}
		raw["devices"] = devs
	}
}

func deviceRaw(d deviceInfo) map[string]any {
	return map[string]any{"id": d.id, "profile": map[string]any{
		"platform": d.platform, "osVersion": d.osVersion, "displayName": d.displayName}}
}

// incremental is what an incremental pass remembers between users: APIs
// the org lacks, and the apps already looked up.
type incremental struct {
	unavail map[string]bool
	apps    map[string]appInfo
}

// enrichOne fetches one user's apps and devices, for incremental passes,
// where few users changed and a sweep would cost more than it saves. Apps
// are named by the app's label, as full passes name them (a user's appLinks
// carry link labels, and one app may have several links).
func (c *Client) enrichOne(ctx context.Context, raw map[string]any, id string, pass *incremental) error {
	if !pass.unavail["apps"] {
		var links []map[string]any
		_, err := c.get(ctx, "/api/v1/users/"+url.PathEscape(id)+"/appLinks", func(b []byte) (err error) {
			links, err = decodeArray(b)
			return err
		})
		switch {
		case unavailable(err):
			pass.unavail["apps"] = true
			c.warn(fmt.Sprintf("okta appLinks API unavailable (%v): assigned apps are left out of this run", err))
		case err != nil:
			return err
		default:
			out, seen := make([]any, 0, len(links)), map[string]bool{}
			for _, l := range links {
				inst, _ := l["appInstanceId"].(string)
				if inst == "" || seen[inst] {
					continue
				}
				seen[inst] = true
				app, err := c.app(ctx, inst, pass)
				if err != nil {
					return err
				}
				out = append(out, map[string]any{"label": app.label, "appName": app.name, "appInstanceId": app.id})
			}
			raw["appLinks"] = out
		}
	}
	if !pass.unavail["devices"] {
		var items []struct{ Device device }
		_, err := c.get(ctx, "/api/v1/users/"+url.PathEscape(id)+"/devices", func(b []byte) error {
			return json.Unmarshal(b, &items)
		})
		switch {
		case unavailable(err):
			pass.unavail["devices"] = true
			c.warn(fmt.Sprintf("okta devices API unavailable (%v): device type and OS are left out of this run; the devices API exists only in Identity Engine orgs", err))
		case err != nil:
			return err
		default:
			e := &enrichment{strs: map[string]string{}}
			out := make([]any, 0, len(items))
			for _, it := range items {
				out = append(out, deviceRaw(e.device(it.Device)))
			}
			raw["devices"] = out
		}
	}
	return nil
}

// app looks an app up once per pass.
func (c *Client) app(ctx context.Context, id string, pass *incremental) (appInfo, error) {
	if a, ok := pass.apps[id]; ok {
		return a, nil
	}
	var a struct{ ID, Label, Name string }
	_, err := c.get(ctx, "/api/v1/apps/"+url.PathEscape(id), func(b []byte) error { return json.Unmarshal(b, &a) })
	if err != nil {
		return appInfo{}, fmt.Errorf("look up app %s: %w", id, err)
	}
	info := appInfo{id: id, label: a.Label, name: a.Name}
	pass.apps[id] = info
	return info, nil
}

var _ engine.StatsReporter = (*Client)(nil)
