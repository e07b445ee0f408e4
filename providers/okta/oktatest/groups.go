package oktatest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// group is an Okta group of the simulated org (type OKTA_GROUP) and the
// apps assigned to it: each member has each of those apps, scope GROUP, as
// long as it belongs to the group. The generated org has none; tests make
// them (AddGroup).
type group struct {
	id, name string
	members  []int // user indexes, ascending
	apps     map[int]bool
}

func (t *tenant) groupID(g int) string { return "00g" + t.tag + pad(g, 10) }

// groupHas reports whether user i has app j through one of its groups.
func (t *tenant) groupHas(i, j int) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, g := range t.groups {
		if g.apps[j] {
			if _, ok := slices.BinarySearch(g.members, i); ok {
				return true
			}
		}
	}
	return false
}

// findGroup returns the group with ID id (t.mu held).
func (t *tenant) findGroup(id string) *group {
	for _, g := range t.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

// AddGroup makes a group of the given users and returns its ID; like
// adding each member in the Admin Console, it records
// group.user_membership.add for each.
func (s *Server) AddGroup(name string, userIDs ...string) (string, error) {
	s.t.mu.Lock()
	g := &group{id: s.t.groupID(len(s.t.groups)), name: name, apps: map[int]bool{}}
	s.t.groups = append(s.t.groups, g)
	s.t.mu.Unlock()
	for _, id := range userIDs {
		if err := s.AddToGroup(g.id, id); err != nil {
			return "", err
		}
	}
	return g.id, nil
}

// AddToGroup makes user id a member of group gid (group.user_membership.add,
// targets User and UserGroup); the user's lastUpdated does not change.
func (s *Server) AddToGroup(gid, id string) error {
	i, ok := s.t.indexOf("00u", id)
	u := s.t.get(i)
	if !ok || u == nil {
		return fmt.Errorf("%w: %s", ErrNoUser, id)
	}
	s.t.mu.Lock()
	g := s.t.findGroup(gid)
	if g == nil {
		s.t.mu.Unlock()
		return fmt.Errorf("no group %s", gid)
	}
	if k, found := slices.BinarySearch(g.members, i); !found {
		g.members = slices.Insert(g.members, k, i)
	}
	name := g.name
	s.t.mu.Unlock()
	s.emit("group.user_membership.add", "Add user to group membership", s.userTarget(u),
		logTarget{ID: gid, Type: "UserGroup", AlternateID: name, DisplayName: name})
	return nil
}

// AssignGroup assigns app j to group gid: every member gets it, and the
// System Log records one group.application_assignment.add (targets
// UserGroup and AppInstance), not one event per member; no member's
// lastUpdated changes. UnassignGroup takes it back the same way (.remove).
func (s *Server) AssignGroup(gid string, j int) error { return s.groupApp(gid, j, true) }

// UnassignGroup takes app j from group gid (see AssignGroup).
func (s *Server) UnassignGroup(gid string, j int) error { return s.groupApp(gid, j, false) }

func (s *Server) groupApp(gid string, j int, add bool) error {
	if j <= 0 || j >= s.t.nApps {
		return fmt.Errorf("no app %d to assign to a group", j)
	}
	s.t.mu.Lock()
	g := s.t.findGroup(gid)
	if g == nil {
		s.t.mu.Unlock()
		return fmt.Errorf("no group %s", gid)
	}
	if add {
		g.apps[j] = true
	} else {
		delete(g.apps, j)
	}
	name := g.name
	s.t.mu.Unlock()
	event, display := "group.application_assignment.add", "Add assigned application to group"
	if !add {
		event, display = "group.application_assignment.remove", "Remove assigned application from group"
	}
	s.emit(event, display, logTarget{ID: gid, Type: "UserGroup", AlternateID: name, DisplayName: name},
		logTarget{ID: s.t.appID(j), Type: "AppInstance", AlternateID: appLabel(j), DisplayName: appLabel(j)})
	return nil
}

// groupUsers is GET /api/v1/groups/{id}/users: the group's members as
// full users, whatever their status, by ID, paged with after and limit
// (1,000 by default, Okta's historical default; Okta recommends 200).
func (s *Server) groupUsers(w http.ResponseWriter, r *http.Request, gid string) {
	s.t.mu.RLock()
	g := s.t.findGroup(gid)
	var members []int
	if g != nil {
		members = slices.Clone(g.members)
	}
	s.t.mu.RUnlock()
	if g == nil {
		notFound(w, gid, "UserGroup")
		return
	}
	limit, start, ok := s.pageParams(w, r.URL.Query(), 1000, 1000, "00u")
	if !ok {
		return
	}
	base, omit := baseURL(r), omitCreds(r)
	b := []byte{'['}
	n, last := 0, ""
	k, _ := slices.BinarySearch(members, start)
	for ; k < len(members) && n < limit; k++ {
		u := s.t.get(members[k])
		if u == nil {
			continue // deleted
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = s.appendUser(b, u, base, false, omit)
		n++
		last = u.id
	}
	var next url.Values
	if n == limit && k < len(members) {
		next = nextPage(r, last)
	}
	s.setLinks(w, r, next)
	writeBody(w, append(b, ']'))
}
