package oktatest

import (
	"slices"
	"testing"
)

// The simulator's users carry the chart: a report's managerId is a user of
// the org, and by default some come before their managers; with
// ManagersFirst none do.
func TestManagersAnywhereInTheListing(t *testing.T) {
	for _, anywhere := range []bool{false, true} {
		s := New(Options{Users: 400, NoLimits: true, ManagersFirst: !anywhere})
		pos := map[string]int{}
		for i := range 400 {
			pos[s.t.userID(i)] = i
		}
		before := 0
		for i := range 400 {
			var manager string
			for _, f := range s.t.profileFields(i) {
				if f.k == "managerId" {
					manager, _ = f.v.(string)
				}
			}
			if manager == "" {
				continue
			}
			m, ok := pos[manager]
			if !ok {
				t.Fatalf("user %d's manager %q is not a user of the org", i, manager)
			}
			if i < m {
				before++
			}
		}
		if anywhere != (before > 100) || !anywhere && before != 0 {
			t.Errorf("managers anywhere %v: %d of 399 reports before their managers", anywhere, before)
		}
		if b, r := s.ReportsBeforeManagers(); b != before || r != 399 {
			t.Errorf("managers anywhere %v: ReportsBeforeManagers says %d of %d, the listing has %d of 399", anywhere, b, r, before)
		}
	}
}

// Leaves gives exactly the users nobody names as manager, in the listing's
// order, wherever the chart put the managers.
func TestLeavesAreTheUsersNobodyReportsTo(t *testing.T) {
	s := New(Options{Users: 300, NoLimits: true})
	managers := map[string]bool{}
	for _, id := range s.IDs() {
		_, p, _ := s.User(id)
		if m, ok := p["managerId"].(string); ok {
			managers[m] = true
		}
	}
	var want []string
	for _, id := range s.IDs("ACTIVE") {
		if !managers[id] {
			want = append(want, id)
		}
	}
	got := s.Leaves("ACTIVE")
	if len(want) == 0 || len(want) == len(s.IDs("ACTIVE")) || !slices.Equal(got, want) {
		t.Errorf("Leaves(ACTIVE) gave %d users, want the %d of %d active users nobody reports to", len(got), len(want), len(s.IDs("ACTIVE")))
	}
}
