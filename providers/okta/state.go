package okta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"neurons-connector/providers/httpclient"
)

// userState is what the connector keeps of each Okta user between runs
// (engine.User.State): the apps assigned to it and its devices, so that an
// incremental run rebuilds them without a call for users whose profile
// alone changed, and reads them again only for users the System Log names.
// It is written by every full pass (from the sweep) and by every user an
// incremental pass reads again.
type userState struct {
	Apps    []string // app instance IDs
	Devices []stateDevice
	// NoApps and NoDevices: the API was unavailable when the state was
	// written, so the state knows nothing of them.
	NoApps, NoDevices bool
}

// stateDevice is a device as the connector keeps it, in the sweep and in a
// user's state: its (platform, OS) profile, and its details (name,
// manufacturer, model, serial number) when the mapping reads them, which
// is all the mapping can read of a device.
type stateDevice struct{ Platform, OSVersion, Name, Manufacturer, Model, Serial string }

// detailSep separates a device's details in a state and in the sweep's
// slab: a control character no name, model or serial number holds.
const detailSep = "\x1f"

// details joins a device's details (name, manufacturer, model, serial
// number) for a state; "" when it has none.
func (d stateDevice) details() string {
	if d.Manufacturer == "" && d.Model == "" && d.Serial == "" {
		return clean(d.Name)
	}
	return strings.Join([]string{clean(d.Name), clean(d.Manufacturer), clean(d.Model), clean(d.Serial)}, detailSep)
}

// withDetails sets the details details() joined.
func (d stateDevice) withDetails(s string) stateDevice {
	parts := strings.SplitN(s, detailSep, 4)
	parts = append(parts, "", "", "")
	d.Name, d.Manufacturer, d.Model, d.Serial = parts[0], parts[1], parts[2], parts[3]
	return d
}

func clean(s string) string { return strings.ReplaceAll(s, detailSep, " ") }

// numbering gives apps and device profiles small numbers, so that a
// user's state is a few bytes (a million users' states fit in a few
// megabytes of the database, and of memory). The numbers are kept in the
// cursor and only ever appended to: a state written by a pass that failed
// before its cursor was saved holds numbers the saved cursor lacks, and is
// then read as no state (the user is read again), never as other apps.
type numbering struct {
	mu      sync.Mutex
	apps    []string
	appNo   map[string]uint64
	devices [][3]string
	devNo   map[[3]string]uint64
}

func newNumbering(apps []string, devices [][3]string) *numbering {
	n := &numbering{apps: apps, devices: devices, appNo: map[string]uint64{}, devNo: map[[3]string]uint64{}}
	for i, a := range apps {
		n.appNo[a] = uint64(i)
	}
	for i, d := range devices {
		n.devNo[d] = uint64(i)
	}
	return n
}

// stateVersion is the form encode writes. Version 1 numbered each device
// by its (platform, OS, name) profile; version 2 numbers the (platform,
// OS) profile and keeps the name in the state itself, since a computer's
// name is its own: numbered, a table reading names made the cursor and
// the pass's tables as large as the org's devices (1,408 MB at 1,000,000
// users). Version 1 states are still read.
const (
	stateVersion   = 2
	stateVersionV1 = 1
)

// encode writes s as: version, flags, then the count and numbers of its
// apps, and the count of its devices, each as the number of its (platform,
// OS) profile and its name, as uvarints and strings (appendState).
func (n *numbering) encode(s *userState) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	var flags byte
	if s.NoApps {
		flags |= 1
	}
	if s.NoDevices {
		flags |= 2
	}
	apps := make([]uint64, len(s.Apps))
	for i, a := range s.Apps {
		apps[i] = n.appLocked(a)
	}
	devs := make([]uint64, len(s.Devices))
	names := make([]string, len(s.Devices))
	for i, d := range s.Devices {
		devs[i], names[i] = n.deviceLocked(d.Platform, d.OSVersion), d.details()
	}
	return appendState(nil, flags, apps, devs, names)
}

// appendState appends a state in encode's form, from its numbers; names
// are the devices' names, in order (nil: none).
func appendState(b []byte, flags byte, apps, devs []uint64, names []string) []byte {
	b = append(b, stateVersion, flags)
	b = binary.AppendUvarint(b, uint64(len(apps)))
	for _, no := range apps {
		b = binary.AppendUvarint(b, no)
	}
	b = binary.AppendUvarint(b, uint64(len(devs)))
	for i, no := range devs {
		b = binary.AppendUvarint(b, no)
		name := ""
		if names != nil {
			name = names[i]
		}
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
	}
	return b
}

// app returns an app instance's number, giving it the next one if new.
func (n *numbering) app(id string) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.appLocked(id)
}

func (n *numbering) appLocked(id string) uint64 { return numberOf(&n.apps, n.appNo, id) }

// device returns the number of a device's (platform, OS) profile, giving
// it the next one if new.
func (n *numbering) device(platform, osVersion string) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deviceLocked(platform, osVersion)
}

func (n *numbering) deviceLocked(platform, osVersion string) uint64 {
	return numberOf(&n.devices, n.devNo, [3]string{platform, osVersion, ""})
}

// numberOf returns k's number in list, appending k if it has none.
func numberOf[K comparable](list *[]K, index map[K]uint64, k K) uint64 {
	no, ok := index[k]
	if !ok {
		no = uint64(len(*list))
		*list = append(*list, k)
		index[k] = no
	}
	return no
}

// decode reads a state; ok is false for one this version or numbering
// cannot read, which the caller treats as no state (read the user again).
func (n *numbering) decode(b []byte) (*userState, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(b) < 2 || b[0] != stateVersion && b[0] != stateVersionV1 {
		return nil, false
	}
	named := b[0] == stateVersion
	s := &userState{NoApps: b[1]&1 != 0, NoDevices: b[1]&2 != 0}
	b = b[2:]
	next := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	// numbers reads a count and that many numbers below limit.
	numbers := func(limit int, fn func(no uint64)) bool {
		count, ok := next()
		if !ok || count > uint64(len(b)) { // each takes a byte at least: a damaged count asks no more
			return false
		}
		for range count {
			no, ok := next()
			if !ok || no >= uint64(limit) {
				return false
			}
			fn(no)
		}
		return true
	}
	// name reads a device's name after its number (version 2).
	bad := false
	name := func() string {
		l, ok := next()
		if !ok || l > uint64(len(b)) {
			bad = true
			return ""
		}
		v := string(b[:l])
		b = b[l:]
		return v
	}
	if !numbers(len(n.apps), func(no uint64) { s.Apps = append(s.Apps, n.apps[no]) }) ||
		!numbers(len(n.devices), func(no uint64) {
			d := stateDevice{Platform: n.devices[no][0], OSVersion: n.devices[no][1], Name: n.devices[no][2]} // version 1: the name in the table
			if named {
				d = d.withDetails(name())
			}
			s.Devices = append(s.Devices, d)
		}) || bad {
		return nil, false
	}
	return s, len(b) == 0
}

// tables returns the numbering for the cursor.
func (n *numbering) tables() ([]string, [][3]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.apps), slices.Clone(n.devices)
}

// apply writes the state's apps and devices into a user's record, in the
// shapes full passes give them; apps are named from the pass's app table,
// looking up (once per run) an app it does not know.
func (c *Client) apply(ctx context.Context, raw map[string]any, s *userState, pass *incremental) error {
	if !s.NoApps {
		links := make([]any, 0, len(s.Apps))
		for _, id := range s.Apps {
			app, err := c.app(ctx, id, pass)
			var ae *httpclient.APIError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				continue // deleted since the user's links were read
			}
			if errors.Is(err, errAppsRefused) {
				continue // unnamed; the state keeps it for when apps answer again
			}
			if errors.As(err, &ae) && ae.Status == http.StatusForbidden && ae.Page == "" {
				// The credentials read users' links but not apps (a custom
				// admin role; an OAuth app without okta.apps.read): an app
				// the pass cannot name is left out of the record, and kept
				// in the state.
				if pass.markUnavailable("apps") {
					c.warn(fmt.Sprintf("okta apps API unavailable (%v): %s", err, appsKept))
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("app %s of the user: %w", id, err)
			}
			links = append(links, map[string]any{"label": app.label, "appName": app.name, "appInstanceId": app.id})
		}
		raw["appLinks"] = links
	}
	if !s.NoDevices {
		raw["devices"] = devicesRaw(s.Devices)
	}
	return nil
}

// devicesRaw is a record's devices, as full passes give them, from a state's.
func devicesRaw(ds []stateDevice) []any {
	out := make([]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, deviceRaw(d))
	}
	return out
}
