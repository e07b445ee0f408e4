package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"neurons-connector/providers/httpclient"

	"golang.org/x/sync/errgroup"
)

// unavailable reports whether err means an optional API is not there for
// this org or token: any 4xx but 429 (okta-api.md §5.3: Classic orgs lack
// the devices API, and the exact status is undocumented), from Okta: a
// web page in its place is not Okta's answer (APIError.Page).
func unavailable(err error) bool {
	var ae *httpclient.APIError
	return errors.As(err, &ae) && ae.Page == "" && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests &&
		ae.Status != http.StatusUnauthorized
}

// sweep gathers apps and devices for a full pass, the two sweeps side by
// side (they use separate rate-limit buckets).
func (c *Client) sweep(ctx context.Context, pass *incremental) (*enrichment, error) {
	e := newEnrichment()
	e.noDeviceNames = pass.noDeviceNames
	g, gctx := errgroup.WithContext(ctx)
	// An API the org or token lacks leaves its attributes out, with a
	// warning, instead of failing the run.
	optional := func(api string, sweep func(context.Context, *enrichment) error, missing *bool, consequence string) func() error {
		return func() error {
			err := sweep(gctx, e)
			if unavailable(err) {
				*missing = true
				pass.markUnavailable(api) // users keep what they had of it (pass.keeps)
				c.warn(fmt.Sprintf("okta %s API unavailable (%v): %s", api, err, consequence))
				return nil
			}
			return err
		}
	}
	// What the mapping does not read is not swept (skipUnread).
	if e.noApps = pass.isUnavailable("apps"); !e.noApps {
		g.Go(optional("apps", c.sweepApps, &e.noApps, appsKept))
	}
	if e.noDevs = pass.isUnavailable("devices"); !e.noDevs {
		g.Go(optional("devices", c.sweepDevices, &e.noDevs, devicesKept))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	e.compact()
	return e, nil
}

func (c *Client) sweepApps(ctx context.Context, e *enrichment) error {
	type app struct{ ID, Label, Name string }
	q := url.Values{"limit": {"200"}, "filter": {`status eq "ACTIVE"`}}
	var apps []appInfo
	err := pagesOf(ctx, c, "/api/v1/apps?"+q.Encode(), 200, func(items []app) error {
		for _, a := range items {
			if a.ID == "" {
				return errors.New("okta: a listed app has no id")
			}
			apps = append(apps, appInfo{id: a.ID, label: a.Label, name: a.Name})
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.apps = apps
	e.mu.Unlock()
	type appUser struct{ ID string }
	for i, a := range apps {
		first := "/api/v1/apps/" + url.PathEscape(a.id) + "/users?" + url.Values{"limit": {"500"}}.Encode()
		err := pagesOf(ctx, c, first, 500, func(items []appUser) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, au := range items {
				if au.ID != "" {
					e.addApp(au.ID, uint32(i))
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
type device = deviceOf[deviceDetails]

// deviceOf is a device with the part of its profile a pass reads:
// deviceDetails, or deviceBrief when the mapping reads no device detail,
// so that the sweep's decoder skips the name, maker, model and serial
// instead of making a string of each (four a device) that is then dropped.
type deviceOf[P deviceProfile] struct {
	Profile  P
	Embedded struct {
		Users []struct{ User struct{ ID string } }
	} `json:"_embedded"`
}

type deviceProfile interface {
	info(details bool) stateDevice
}

type deviceDetails struct {
	Platform, OSVersion, DisplayName, Manufacturer, Model, SerialNumber string
}

type deviceBrief struct{ Platform, OSVersion string }

func (c *Client) sweepDevices(ctx context.Context, e *enrichment) error {
	if e.noDeviceNames {
		return sweepDevicesAs[deviceBrief](ctx, c, e)
	}
	return sweepDevicesAs[deviceDetails](ctx, c, e)
}

func sweepDevicesAs[P deviceProfile](ctx context.Context, c *Client, e *enrichment) error {
	q := url.Values{"limit": {"200"}, "expand": {"userSummary"}}
	return pagesOf(ctx, c, "/api/v1/devices?"+q.Encode(), 200, func(items []deviceOf[P]) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, d := range items {
			v := e.device(d.info(!e.noDeviceNames))
			for _, u := range d.Embedded.Users {
				if u.User.ID != "" {
					e.addDevice(u.User.ID, v)
				}
			}
		}
		return nil
	})
}

// info is the device as the connector keeps it: with its details (name,
// manufacturer, model, serial number) only when the mapping reads them.
func (d deviceOf[P]) info(details bool) stateDevice { return d.Profile.info(details) }

func (p deviceDetails) info(details bool) stateDevice {
	i := stateDevice{Platform: p.Platform, OSVersion: p.OSVersion}
	if details {
		i.Name, i.Manufacturer, i.Model, i.Serial = p.DisplayName, p.Manufacturer, p.Model, p.SerialNumber
	}
	return i
}

func (p deviceBrief) info(bool) stateDevice {
	return stateDevice{Platform: p.Platform, OSVersion: p.OSVersion}
}

// readsDeviceDetails reports whether a mapping table that reads sources
// (nil: everything) reads a device's details: its display name,
// manufacturer, model or serial number. A Windows computer's name and any
// device's serial number are its own: with details, the sweep keeps each
// device (enrichment.named) and each user's state its devices' details,
// where without it keeps a handful of (platform, OS) profiles shared by
// all. A table that does not read them gets none.
func readsDeviceDetails(sources []string) bool {
	if sources == nil {
		return true
	}
	for _, path := range []string{"devices.profile.displayName", "devices.profile.manufacturer", "devices.profile.model", "devices.profile.serialNumber"} {
		for _, s := range sources {
			s = strings.TrimSuffix(s, ".*")
			if s == path || strings.HasPrefix(path, s+".") || strings.HasPrefix(s, path+".") {
				return true
			}
		}
	}
	return false
}
