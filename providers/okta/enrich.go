package okta

import (
	"slices"
	"strings"
	"sync"

	"neurons-connector/engine"
)

// enrichment holds what a full pass adds to each user besides the user
// object: assigned apps and devices, gathered by sweeping the apps and
// devices APIs once (calls grow with pages, not users) instead of one call
// per user. It is built to stay small for a million users: user IDs as
// fixed-size map keys, each user's apps and devices as indices packed into
// shared arrays, and devices reduced to their distinct (platform, OS)
// profiles, or kept one by one, pointer-free, when the mapping reads their
// details (name, manufacturer, model, serial number). The pass's per-user
// reads (incremental passes) are in pass.go.
type enrichment struct {
	mu     sync.Mutex // the two sweeps fill it side by side
	apps   []appInfo
	combos []stateDevice
	// comboRaw[i] is combos[i] as the mapping reads a device, made when a
	// user first has it and shared by every user with the same device
	// profile (read-only), as apps share appInfo.raw: two maps per device
	// per user were a tenth of the join's time.
	comboRaw []map[string]any
	comboNo  []uint64 // combos[i]'s number in the pass's numbering, with comboRaw
	comboOf  map[stateDevice]uint32
	// named are the devices when the mapping reads their names: a
	// Windows computer's name is its own, so devices are kept one by one,
	// each with its (platform, OS) combo, and users' device lists point
	// here instead of at combos. The names are in names, one slab: no
	// pointer per device for the collector to follow (a million of them
	// kept it collecting all run long under the soft memory limit).
	named []namedDevice
	names []byte
	users map[userKey]uint32 // user IDs numbered in the order the sweeps met them
	other map[string]uint32  // IDs that are not 20 bytes long
	count uint32             // users numbered
	// While sweeping, each (user, app) and (user, device) the sweeps read
	// is appended as it comes: no list per user whose tail a new value
	// would have to find wherever it lies in memory. compact then packs
	// them by user, in their order, into two arrays (compressed sparse
	// rows): user i's apps are appVals[appOff[i]:appOff[i+1]].
	appPairs, devPairs []pair
	appOff, devOff     []uint32
	appVals            []uint16 // when there are at most 1<<16 apps
	appVals32          []uint32 // when there are more
	devVals            []uint32 // into combos, or into named
	packed             bool

	noApps        bool // the apps API was unavailable: leave appLinks out
	noDevs        bool // the devices API was unavailable (Classic Engine): leave devices out
	noDeviceNames bool // the mapping reads no device detail (name, model, serial…): devices are kept without (readsDeviceDetails)
	strs          map[string]string
}

// userKey is an Okta user ID (20 characters) as a map key without a pointer.
type userKey [20]byte

// pair is one value a sweep read for the user numbered user.
type pair struct{ user, val uint32 }

type appInfo struct {
	id, label, name string
	raw             map[string]any // the appLinks element, shared by every user of the app (read-only)
	no              uint64         // its number in the pass's numbering, set with raw
}

// namedDevice is one device whose name the mapping reads.
type namedDevice struct {
	combo   uint32 // its (platform, OS) in combos
	off, to uint32 // its name in enrichment.names
}

func newEnrichment() *enrichment {
	return &enrichment{comboOf: map[stateDevice]uint32{}, users: map[userKey]uint32{}, other: map[string]uint32{}, strs: map[string]string{}}
}

func (e *enrichment) intern(s string) string {
	if v, ok := e.strs[s]; ok {
		return v
	}
	s = strings.Clone(s) // not the page it was decoded from, which it would keep alive
	e.strs[s] = s
	return s
}

// userOf returns the number of a user, numbering it when create is set.
func (e *enrichment) userOf(id string, create bool) (uint32, bool) {
	var i uint32
	var ok bool
	if len(id) == len(userKey{}) {
		i, ok = e.users[userKey([]byte(id))]
	} else {
		i, ok = e.other[id]
	}
	if ok || !create {
		return i, ok
	}
	i = e.count
	e.count++
	if len(id) == len(userKey{}) {
		e.users[userKey([]byte(id))] = i
	} else {
		e.other[strings.Clone(id)] = i // not the page it was decoded from
	}
	return i, true
}

func (e *enrichment) addApp(userID string, app uint32) {
	i, _ := e.userOf(userID, true)
	e.appPairs = append(e.appPairs, pair{i, app})
}

// addDevice adds a device to a user's list: what device returned for it.
func (e *enrichment) addDevice(userID string, v uint32) {
	i, _ := e.userOf(userID, true)
	e.devPairs = append(e.devPairs, pair{i, v})
}

// device is what users' lists hold for a device the sweep read: its
// (platform, OS) combo, or, when the mapping reads names, the device itself
// (named), whose name is its own.
func (e *enrichment) device(d stateDevice) uint32 {
	v := e.combo(d)
	if e.noDeviceNames {
		return v
	}
	// Copied into the slab: the decoder's strings share the page's
	// buffer, and one name kept would keep the whole page (1,038 MB at
	// 1,000,000 users).
	off := len(e.names)
	e.names = append(e.names, d.details()...)
	e.named = append(e.named, namedDevice{combo: v, off: uint32(off), to: uint32(len(e.names))}) //nolint:gosec // G115: names of 4 GB are not read
	return uint32(len(e.named) - 1)                                                              //nolint:gosec // G115: fewer devices than 2^32
}

// combo numbers a device's (platform, OS) profile within the sweep.
func (e *enrichment) combo(d stateDevice) uint32 {
	d = stateDevice{Platform: e.intern(d.Platform), OSVersion: e.intern(d.OSVersion)}
	if i, ok := e.comboOf[d]; ok {
		return i
	}
	i := uint32(len(e.combos))
	e.combos = append(e.combos, d)
	e.comboOf[d] = i
	return i
}

// compact packs the sweeps' pairs by user and frees them: the long
// listing that follows runs with a quarter of the memory (apps, as 16-bit
// values while there are at most 1<<16 apps) or half (devices) held.
func (e *enrichment) compact() {
	if e.packed {
		return
	}
	n := int(e.count)
	var vals32 []uint32
	e.appOff, vals32 = pack(e.appPairs, n)
	if len(e.apps) <= 1<<16 {
		e.appVals = make([]uint16, len(vals32))
		for k, v := range vals32 {
			e.appVals[k] = uint16(v) //nolint:gosec // G115: below 1<<16, checked above
		}
	} else {
		e.appVals32 = vals32
	}
	e.devOff, e.devVals = pack(e.devPairs, n)
	e.appPairs, e.devPairs, e.packed = nil, nil, true
}

// pack sorts pairs by user, keeping their order within a user (a counting
// sort: two passes over the pairs), into offsets and values.
func pack(pairs []pair, users int) ([]uint32, []uint32) {
	off := make([]uint32, users+1)
	for _, p := range pairs {
		off[p.user+1]++
	}
	for i := 1; i <= users; i++ {
		off[i] += off[i-1]
	}
	vals := make([]uint32, len(pairs))
	next := slices.Clone(off[:users])
	for _, p := range pairs {
		vals[next[p.user]] = p.val
		next[p.user]++
	}
	return off, vals
}

// values appends user i's apps (dev false) or devices to buf.
func (e *enrichment) values(i uint32, dev bool, buf []uint32) []uint32 {
	e.compact() // a no-op after the sweeps; tests may join before
	if dev {
		return append(buf, e.devVals[e.devOff[i]:e.devOff[i+1]]...)
	}
	if e.appVals32 != nil {
		return append(buf, e.appVals32[e.appOff[i]:e.appOff[i+1]]...)
	}
	for _, v := range e.appVals[e.appOff[i]:e.appOff[i+1]] {
		buf = append(buf, uint32(v))
	}
	return buf
}

// join adds a user's apps and devices to its record, in the shapes of
// /users/{id}/appLinks and /devices, which incremental passes read, and
// returns the user's state (numbering.encode's form) numbered by n. It looks
// the user up once, and each app and device profile is numbered once per
// pass: the join was a tenth of a full run's CPU when the record and the
// state were made apart, each with its own lookups.
func (e *enrichment) join(raw map[string]any, id string, pass *incremental, prev *userState) []byte {
	n := pass.numbers
	i, ok := e.userOf(id, false)
	var nums [2][16]uint64
	var vals [32]uint32
	apps, devs := nums[0][:0], nums[1][:0]
	var names []string // the devices' names, when the mapping reads them
	var flags byte
	switch {
	case e.noApps && prev != nil && !prev.NoApps && pass.keeps("apps"):
		// Refused: the apps last read, in their order, named as the
		// cursor's table names them (an app it cannot name stays in the
		// state only).
		links := make([]any, 0, len(prev.Apps))
		for _, id := range prev.Apps {
			apps = append(apps, n.app(id))
			if a, ok := pass.known(id); ok {
				links = append(links, map[string]any{"label": a.label, "appName": a.name, "appInstanceId": id})
			}
		}
		raw["appLinks"] = links
	case e.noApps:
		flags |= 1
	default:
		var mine []uint32
		if ok {
			mine = e.values(i, false, vals[:0])
		}
		links := make([]any, len(mine))
		for k, v := range mine {
			a := &e.apps[v]
			if a.raw == nil {
				a.raw = map[string]any{"label": a.label, "appName": a.name, "appInstanceId": a.id}
				a.no = n.app(a.id)
			}
			links[k] = a.raw
			apps = append(apps, a.no)
		}
		raw["appLinks"] = links
	}
	switch {
	case e.noDevs && prev != nil && !prev.NoDevices && pass.keeps("devices"):
		list := make([]any, 0, len(prev.Devices))
		for _, d := range prev.Devices {
			list = append(list, deviceRaw(d))
			devs = append(devs, n.device(d.Platform, d.OSVersion))
			names = append(names, d.details())
		}
		raw["devices"] = list
	case e.noDevs:
		flags |= 2
	default:
		var mine []uint32
		if ok {
			mine = e.values(i, true, vals[:0])
		}
		list := make([]any, len(mine))
		for k, v := range mine {
			details, named := "", !e.noDeviceNames
			if named {
				// A device of its own: its map is made for this user.
				nd := e.named[v]
				details, v = string(e.names[nd.off:nd.to]), nd.combo
			}
			if int(v) >= len(e.comboRaw) {
				grow := len(e.combos) - len(e.comboRaw)
				e.comboRaw = append(e.comboRaw, make([]map[string]any, grow)...)
				e.comboNo = append(e.comboNo, make([]uint64, grow)...)
			}
			if e.comboRaw[v] == nil {
				d := e.combos[v]
				e.comboRaw[v] = deviceRaw(d)
				e.comboNo[v] = n.device(d.Platform, d.OSVersion)
			}
			if named {
				c := e.combos[v]
				list[k] = deviceRaw(stateDevice{Platform: c.Platform, OSVersion: c.OSVersion}.withDetails(details))
				names = append(names, details)
			} else {
				list[k] = e.comboRaw[v]
			}
			devs = append(devs, e.comboNo[v])
		}
		raw["devices"] = list
	}
	size := 4 + len(apps) + 2*len(devs)
	for _, name := range names {
		size += len(name)
	}
	return appendState(make([]byte, 0, size), flags, apps, devs, names)
}

// deviceRaw is a device as the mapping reads it: its profile.
func deviceRaw(d stateDevice) map[string]any {
	profile := map[string]any{"platform": d.Platform, "osVersion": d.OSVersion, "displayName": d.Name}
	if d.Manufacturer != "" {
		profile["manufacturer"] = d.Manufacturer
	}
	if d.Model != "" {
		profile["model"] = d.Model
	}
	if d.Serial != "" {
		profile["serialNumber"] = d.Serial
	}
	return map[string]any{"profile": profile}
}

// joinPage joins each user of a full pass's page to its apps and devices.
// An API refused leaves the sweep without its lists: each user then keeps
// what its stored state says (pass.keeps).
func (c *Client) joinPage(e *enrichment, users []engine.User, states engine.UserStates, pass *incremental) error {
	var prev map[string][]byte
	if states != nil && (e.noApps && pass.keeps("apps") || e.noDevs && pass.keeps("devices")) {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		var err error
		if prev, err = states.States(ids); err != nil {
			return err
		}
	}
	for i := range users {
		var old *userState
		if b, ok := prev[users[i].ID]; ok {
			old, _ = pass.stored().decode(b) // unreadable: as if none
		}
		users[i].State = e.join(users[i].Raw, users[i].ID, pass, old)
	}
	return nil
}
