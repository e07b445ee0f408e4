package onelogintest

import "testing"

// The account's users carry the org chart: every manager_user_id names a
// user of the account, no one has more than eight reports, and about half
// the reports come before their managers in the listing by id, as in a
// real account whose managers were not all created first. Until issue 17
// the first ten users managed everyone else.
func TestReportsComeBeforeTheirManagersToo(t *testing.T) {
	const n = 2000
	s := New(Options{Users: n, HourlyLimit: -1})
	reports := map[int64]int{}
	with, before := 0, 0
	for idx := range n {
		u := s.user(idx)
		if u.ManagerID == 0 {
			continue
		}
		if _, ok := s.index(u.ManagerID); !ok || u.ManagerID == u.ID {
			t.Fatalf("user %d's manager %d is not another user of the account", u.ID, u.ManagerID)
		}
		with++
		reports[u.ManagerID]++
		if u.ManagerID > u.ID {
			before++
		}
	}
	for m, r := range reports {
		if r > 8 {
			t.Errorf("manager %d has %d reports", m, r)
		}
	}
	if share := float64(before) / float64(with); with != n-1 || share < 0.3 || share > 0.7 {
		t.Errorf("%d of %d users have a manager, %.0f %% of them listed before it; want all but one, about half", with, n, 100*share)
	}
}
