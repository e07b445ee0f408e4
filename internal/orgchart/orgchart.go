// Package orgchart lays a management hierarchy over a simulated tenant's
// users so that managers and reports fall anywhere in the listing's order
// relative to each other, as in a real org: a listing in no order (Okta's
// default) or in ID order (OneLogin's, IDs given at creation) does not
// follow who reports to whom. A simulator whose managers always came first
// hid the cost, and the faults, of reports a pass meets before their
// managers (issue 17).
package orgchart

// Chart places user i at position (a·i) mod n of a tree in which position
// p reports to position (p-1)/8: a bijection, so every user but the one at
// position 0 has a manager, no manager has more than eight reports, and
// about half the reports come before their managers in index order.
type Chart struct{ n, a, inv int }

// New returns the chart of n users; nil for fewer than two.
func New(n int) *Chart {
	if n < 2 {
		return nil
	}
	a := max(n*618/1000, 1) // near n over the golden ratio: neighbours land far apart
	for gcd(a, n) != 1 {
		a++
	}
	return &Chart{n: n, a: a, inv: modInverse(a, n)}
}

// Manager returns user i's manager, or false for the top of the chart.
func (c *Chart) Manager(i int) (int, bool) {
	p := c.a * i % c.n
	if p == 0 {
		return 0, false
	}
	return (p - 1) / 8 * c.inv % c.n, true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns x with a·x ≡ 1 (mod n), for a and n coprime.
func modInverse(a, n int) int {
	t, next, r, nextR := 0, 1, n, a
	for nextR != 0 {
		q := r / nextR
		t, next = next, t-q*next
		r, nextR = nextR, r-q*nextR
	}
	return (t%n + n) % n
}
