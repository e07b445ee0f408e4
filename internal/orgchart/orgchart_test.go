package orgchart

import "testing"

// The chart is a tree of at most eight reports a manager, with one user at
// its top, and about half the reports come before their managers in index
// order, which is what a real org's listing gives a connector.
func TestTheChartPutsManagersAnywhere(t *testing.T) {
	for _, n := range []int{2, 3, 9, 64, 1000, 12345} {
		c := New(n)
		reports := make([]int, n)
		tops, before := 0, 0
		for i := range n {
			m, ok := c.Manager(i)
			if !ok {
				tops++
				continue
			}
			if m < 0 || m >= n || m == i {
				t.Fatalf("n=%d: user %d reports to %d", n, i, m)
			}
			reports[m]++
			if i < m {
				before++
			}
		}
		if tops != 1 {
			t.Errorf("n=%d: %d users at the top", n, tops)
		}
		for m, r := range reports {
			if r > 8 {
				t.Errorf("n=%d: user %d has %d reports", n, m, r)
			}
		}
		for i := range n { // every chain of managers ends at the top
			j, steps := i, 0
			for m, ok := c.Manager(j); ok; m, ok = c.Manager(j) {
				if j, steps = m, steps+1; steps > n {
					t.Fatalf("n=%d: user %d's managers go round", n, i)
				}
			}
		}
		if share := float64(before) / float64(n-1); n >= 1000 && (share < 0.3 || share > 0.7) {
			t.Errorf("n=%d: %.0f %% of the reports come before their managers, want about half", n, 100*share)
		}
	}
	if New(1) != nil {
		t.Error("a one-user org has a chart")
	}
}
