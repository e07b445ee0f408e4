package onelogin

import (
	"testing"

	"neurons-connector/engine"
	"neurons-connector/providers/onelogin/onelogintest"
)

// Sample takes users in turn from each status asked (OneLogin cannot
// filter a listing by status), only of those statuses, at most N, and
// reads no more pages than it needs.
func TestSampleTakesUsersOfEveryStatusInTurn(t *testing.T) {
	f := newFixture(t, onelogintest.Options{Users: 400, HourlyLimit: -1}, Options{})
	users, err := f.client.Sample(t.Context(), engine.SampleRequest{Statuses: []string{"active", "locked"}, N: 6})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, u := range users {
		order = append(order, u.Status)
		if u.Raw["firstname"] == nil && u.Raw["email"] == nil {
			t.Errorf("user %s has no fields", u.ID)
		}
	}
	if got := len(users); got != 6 || order[0] != "active" || order[1] != "locked" || order[2] != "active" {
		t.Fatalf("sample of 6: %v", order)
	}
	if calls := f.client.Stats().Calls; calls > 1+samplePages {
		t.Errorf("%d calls for a sample", calls)
	}
}
