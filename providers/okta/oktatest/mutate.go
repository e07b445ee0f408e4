package oktatest

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrNoUser is returned by mutations of a user that does not exist.
var ErrNoUser = errors.New("no such user")

// mutate applies f to a copy of user id and stores it, bumping lastUpdated
// to the simulator's clock as Okta does for profile and lifecycle changes.
func (s *Server) mutate(id string, f func(u *user) error) error { return s.change(id, true, f) }

func (s *Server) change(id string, bump bool, f func(u *user) error) error {
	i, ok := s.t.indexOf("00u", id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoUser, id)
	}
	cur := s.t.get(i)
	if cur == nil {
		return fmt.Errorf("%w: %s", ErrNoUser, id)
	}
	u := cur.clone()
	if err := f(u); err != nil {
		return err
	}
	if bump {
		u.lastUpdated = s.now().Truncate(time.Second)
	}
	s.t.mu.Lock()
	s.t.put(i, u, s.now())
	s.t.mu.Unlock()
	return nil
}

// SetStatus moves a user to status, as the lifecycle APIs would.
func (s *Server) SetStatus(id, status string) error {
	valid := false
	for _, st := range Statuses {
		valid = valid || st == status
	}
	if !valid {
		return fmt.Errorf("unknown status %q", status)
	}
	var from string
	err := s.mutate(id, func(u *user) error {
		from = u.status
		u.status = status
		u.statusChanged = s.now().Truncate(time.Second)
		if status == "ACTIVE" && u.activated.IsZero() {
			u.activated = u.statusChanged
		}
		return nil
	})
	if err == nil {
		s.emitUser(id, lifecycleEvent(from, status))
	}
	return err
}

// lifecycleEvent is the System Log event of a status change.
func lifecycleEvent(from, to string) string {
	switch {
	case to == "DEPROVISIONED":
		return "user.lifecycle.deactivate"
	case to == "SUSPENDED":
		return "user.lifecycle.suspend"
	case from == "SUSPENDED" && to == "ACTIVE":
		return "user.lifecycle.unsuspend"
	case from == "DEPROVISIONED":
		return "user.lifecycle.reactivate"
	case to == "LOCKED_OUT":
		return "user.account.lock"
	case to == "ACTIVE":
		return "user.lifecycle.activate"
	}
	return "user.account.update_password"
}

// emitUser records an event whose target is user id.
func (s *Server) emitUser(id, eventType string) {
	if i, ok := s.t.indexOf("00u", id); ok {
		if u := s.t.get(i); u != nil {
			s.emit(eventType, eventType, s.userTarget(u))
		}
	}
}

// EditProfile changes profile attributes; a nil value sets null.
func (s *Server) EditProfile(id string, attrs map[string]any) error {
	err := s.mutate(id, func(u *user) error {
		for k, v := range attrs {
			u.profile[k] = v
		}
		return nil
	})
	if err == nil {
		s.emitUser(id, "user.account.update_profile")
	}
	return err
}

// Deactivate sets DEPROVISIONED.
func (s *Server) Deactivate(id string) error { return s.SetStatus(id, "DEPROVISIONED") }

// Delete behaves as DELETE /api/v1/users/{id}: a user that is not
// DEPROVISIONED is only deactivated; a DEPROVISIONED one is removed for
// good, leaving no tombstone.
func (s *Server) Delete(id string) error {
	i, ok := s.t.indexOf("00u", id)
	u := s.t.get(i)
	if !ok || u == nil {
		return fmt.Errorf("%w: %s", ErrNoUser, id)
	}
	if u.status != "DEPROVISIONED" {
		return s.Deactivate(id)
	}
	s.emit("user.lifecycle.delete.initiated", "Delete Okta user", s.userTarget(u))
	gone := u.clone()
	gone.deleted = true
	s.t.mu.Lock()
	s.t.put(i, gone, s.now())
	s.t.mu.Unlock()
	s.emit("user.lifecycle.delete.completed", "Delete Okta user completed", s.userTarget(u))
	return nil
}

// AddUser creates a user with profile and status and returns its ID.
func (s *Server) AddUser(profile map[string]any, status string) string {
	now := s.now().Truncate(time.Second)
	s.t.mu.Lock()
	i := s.t.n + s.t.added
	s.t.added++
	u := &user{idx: i, id: s.t.userID(i), status: status, created: now, lastUpdated: now, statusChanged: now,
		profile: map[string]any{}, t: s.t}
	if status != "STAGED" {
		u.activated = now
	}
	for k, v := range profile {
		u.profile[k] = v
	}
	s.t.put(i, u, s.now())
	s.t.mu.Unlock()
	s.emit("user.lifecycle.create", "Create Okta user", s.userTarget(u))
	return u.id
}

// Assign gives user id the app with index j directly. Like Okta (as far as
// anything documents), an assignment does not change the user's
// lastUpdated: only a full pass sees it.
// The System Log records application.user_membership.add.
func (s *Server) Assign(id string, j int) error {
	if j < 0 || j >= s.t.nApps {
		return fmt.Errorf("no app %d", j)
	}
	var after *user
	err := s.change(id, false, func(u *user) error {
		u.unassigned = slices.DeleteFunc(u.unassigned, func(a int) bool { return a == j })
		u.apps = append(u.apps, j)
		after = u
		return nil
	})
	if err == nil {
		s.emit("application.user_membership.add", "Add user to application membership", s.appTargets(after, j)...)
	}
	return err
}

// Unassign takes app j away from user id, however it was assigned; like
// Assign it leaves lastUpdated alone, and the System Log records
// application.user_membership.remove.
func (s *Server) Unassign(id string, j int) error {
	if j <= 0 || j >= s.t.nApps {
		return fmt.Errorf("app %d cannot be taken away (app 0 comes with the Everyone group)", j)
	}
	var after *user
	err := s.change(id, false, func(u *user) error {
		u.apps = slices.DeleteFunc(u.apps, func(a int) bool { return a == j })
		u.unassigned = append(u.unassigned, j)
		after = u
		return nil
	})
	if err == nil {
		s.emit("application.user_membership.remove", "Remove user from application membership", s.appTargets(after, j)...)
	}
	return err
}

// AddDevice links a new device to user id (at most two added devices per
// user) and returns its ID; the log records device.user.add with the
// device and the user as targets. lastUpdated does not change.
func (s *Server) AddDevice(id string) (string, error) {
	var after *user
	var k int
	err := s.change(id, false, func(u *user) error {
		if u.devAdded >= 2 {
			return fmt.Errorf("user %s has two added devices already", id)
		}
		k = 2 + u.devAdded
		u.devAdded++
		after = u
		return nil
	})
	if err != nil {
		return "", err
	}
	s.deviceEvents(after, k, "device.user.add", "Add user to device", "user.mfa.factor.activate", "Activate factor or authenticator")
	return s.t.deviceID(after.idx, k), nil
}

// deviceEvents logs a device linked to or unlinked from a user: the device
// event, which only an Identity Engine org has (a Classic one has no
// devices), and, for a phone or tablet, the Okta Verify enrolment's factor
// event, which both have (user.mfa.factor.*, targeting the user).
func (s *Server) deviceEvents(u *user, k int, devType, devMsg, factorType, factorMsg string) {
	if !s.opts.Classic {
		s.emit(devType, devMsg, s.deviceTarget(u, k), s.userTarget(u))
	}
	if platform, _, _ := s.t.device(u.idx, k); platform == "IOS" || platform == "ANDROID" {
		s.emit(factorType, factorMsg, s.userTarget(u))
	}
}

// RemoveDevice unlinks device deviceID from its user (device.user.remove).
func (s *Server) RemoveDevice(deviceID string) error {
	pos, ok := s.t.indexOf("guo", deviceID)
	if !ok {
		return fmt.Errorf("no device %s", deviceID)
	}
	i, k := pos/4, pos%4
	var after *user
	err := s.change(s.t.userID(i), false, func(u *user) error {
		if !s.t.hasDevice(u, k) {
			return fmt.Errorf("user %s has no device %s", u.id, deviceID)
		}
		u.devGone[k] = true
		after = u
		return nil
	})
	if err == nil {
		s.deviceEvents(after, k, "device.user.remove", "Remove user from device", "user.mfa.factor.deactivate", "Reset factor or authenticator")
	}
	return err
}

// DevicePlatform is device deviceID's platform (IOS, ANDROID, MACOS,
// WINDOWS), "" for no such device.
func (s *Server) DevicePlatform(deviceID string) string {
	pos, ok := s.t.indexOf("guo", deviceID)
	if !ok {
		return ""
	}
	platform, _, _ := s.t.device(pos/4, pos%4)
	return platform
}

// DeviceIDs lists user id's devices.
func (s *Server) DeviceIDs(id string) []string {
	i, ok := s.t.indexOf("00u", id)
	u := s.t.get(i)
	if !ok || u == nil {
		return nil
	}
	var out []string
	for k := range 4 {
		if s.t.hasDevice(u, k) {
			out = append(out, s.t.deviceID(i, k))
		}
	}
	return out
}

// UserID returns the ID of generated user i.
func (s *Server) UserID(i int) string { return s.t.userID(i) }

// AppID returns the ID of app j.
func (s *Server) AppID(j int) string { return s.t.appID(j) }

// AppLabel is the label of app j, as app links and the apps listing give it.
func (s *Server) AppLabel(j int) string { return appLabel(j) }

// User returns user id's status and a copy of its profile, and whether it
// exists (deleted users do not).
func (s *Server) User(id string) (status string, profile map[string]any, ok bool) {
	i, ok := s.t.indexOf("00u", id)
	if !ok {
		return "", nil, false
	}
	u := s.t.get(i)
	if u == nil {
		return "", nil, false
	}
	return u.status, u.clone().profile, true
}

// IDs lists the IDs of the existing users whose status is one of statuses
// (all users when none is given), in listing order: what a complete pass
// must return.
func (s *Server) IDs(statuses ...string) []string {
	want := map[string]bool{}
	for _, st := range statuses {
		want[st] = true
	}
	var out []string
	for i, total := 0, s.t.total(); i < total; i++ {
		if u := s.t.get(i); u != nil && (len(want) == 0 || want[u.status]) {
			out = append(out, u.id)
		}
	}
	return out
}

// Leaves lists, in listing order, the existing users whose status is one
// of statuses (all when none is given) and whom no existing user names as
// its manager (profile.managerId): a change to one of them changes no
// other user's record. The chart puts managers anywhere in the listing, so
// a test that wants such users asks for them here.
func (s *Server) Leaves(statuses ...string) []string {
	managers := map[string]bool{}
	for i, total := 0, s.t.total(); i < total; i++ {
		if u := s.t.get(i); u != nil {
			if m, ok := u.prof()["managerId"].(string); ok {
				managers[m] = true
			}
		}
	}
	var out []string
	for _, id := range s.IDs(statuses...) {
		if !managers[id] {
			out = append(out, id)
		}
	}
	return out
}

// LastUpdated returns user id's lastUpdated.
func (s *Server) LastUpdated(id string) (time.Time, bool) {
	i, ok := s.t.indexOf("00u", id)
	if !ok {
		return time.Time{}, false
	}
	u := s.t.get(i)
	if u == nil {
		return time.Time{}, false
	}
	return u.lastUpdated, true
}
