package engine_test

import (
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
)

// A user whose mapped record alone is larger than a batch may be (a 6 MB
// profile attribute): the record goes without its largest attribute, with
// a warning naming the user and the attribute, and the other users'
// changes are delivered. Before, its batch was refused (413), could not be
// split, and stopped the connector's delivery for good: nothing after it
// reached Neurons.
func TestARecordTooLargeForABatchDoesNotStopDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE")
	e.mustRun(engine.Options{})
	ids := e.sim.IDs("ACTIVE")
	huge, other := ids[3], ids[4]
	_ = e.sim.EditProfile(huge, map[string]any{"bio": strings.Repeat("x", 6<<20), "title": "Oversharer"})
	_ = e.sim.EditProfile(other, map[string]any{"title": "Other change"})
	e.clock.Advance(time.Hour)
	r := e.mustRun(engine.Options{})
	if r.Upserted != 2 || e.outbox() != 0 {
		t.Fatalf("upserted %d, %d records left in the outbox", r.Upserted, e.outbox())
	}
	users := e.fake.Users(e.conn.ID)
	if got := users[other].Attributes["User.JobTitle"]; got != "Other change" {
		t.Errorf("the other user's title: %v", got)
	}
	rec := users[huge].Attributes
	if _, sent := rec["Application.Okta.Profile.bio"]; sent || rec["User.JobTitle"] != "Oversharer" {
		t.Errorf("the large user's record: bio sent %v, title %v", sent, rec["User.JobTitle"])
	}
	w := strings.Join(r.Warnings, "\n")
	if !strings.Contains(w, "user "+huge+": the mapped record is") || !strings.Contains(w, "Application.Okta.Profile.bio") {
		t.Errorf("warnings %q", r.Warnings)
	}
	// Cut the same way every run: nothing to send again.
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{Full: true}); r.Upserted != 0 {
		t.Errorf("the next full run upserted %d", r.Upserted)
	}
}
