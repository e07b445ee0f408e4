package okta

import (
	"context"
	"encoding/json"
	"fmt"
)

// userState is what the connector keeps of each Okta user between runs
// (engine.User.State): the apps assigned to it and its devices, so that an
// incremental run rebuilds them without a call for users whose profile
// alone changed, and reads them again only for users the System Log names.
// It is written by every full pass (from the sweep) and by every user an
// incremental pass reads again.
type userState struct {
	Apps    []string      `json:"a,omitempty"` // app instance IDs
	Devices []stateDevice `json:"d,omitempty"`
	// NoApps and NoDevices: the API was unavailable when the state was
	// written, so the state knows nothing of them.
	NoApps    bool `json:"na,omitempty"`
	NoDevices bool `json:"nd,omitempty"`
}

type stateDevice struct {
	Platform  string `json:"p,omitempty"`
	OSVersion string `json:"v,omitempty"`
	Name      string `json:"n,omitempty"`
}

func (s *userState) encode() []byte {
	b, _ := json.Marshal(s) // strings and bools only
	return b
}

func decodeState(b []byte) (*userState, bool) {
	var s userState
	if len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return nil, false // a state this version cannot read is no state: read again
	}
	return &s, true
}

// stateOf is the state of a user after a full pass's sweep.
func (e *enrichment) stateOf(id string) *userState {
	s := &userState{NoApps: e.noApps, NoDevices: e.noDevs}
	i, ok := e.listsOf(id, false)
	if !ok {
		return s
	}
	if !e.noApps {
		e.each(i, false, func(v uint32) { s.Apps = append(s.Apps, e.apps[v].id) })
	}
	if !e.noDevs {
		e.each(i, true, func(v uint32) {
			d := e.combos[v]
			s.Devices = append(s.Devices, stateDevice{d.platform, d.osVersion, d.displayName})
		})
	}
	return s
}

// apply writes the state's apps and devices into a user's record, in the
// shapes full passes give them; apps are named from the pass's app table,
// looking up (once per run) an app it does not know.
func (c *Client) apply(ctx context.Context, raw map[string]any, s *userState, pass *incremental) error {
	if !s.NoApps {
		links := make([]any, 0, len(s.Apps))
		for _, id := range s.Apps {
			app, err := c.app(ctx, id, pass)
			if err != nil {
				return fmt.Errorf("app %s of the user: %w", id, err)
			}
			links = append(links, map[string]any{"label": app.label, "appName": app.name, "appInstanceId": app.id})
		}
		raw["appLinks"] = links
	}
	if !s.NoDevices {
		devs := make([]any, 0, len(s.Devices))
		for _, d := range s.Devices {
			devs = append(devs, deviceRaw(deviceInfo{d.Platform, d.OSVersion, d.Name}))
		}
		raw["devices"] = devs
	}
	return nil
}
