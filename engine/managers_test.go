package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/store"
)

// reportsOf groups the users the sink holds by their User.ManagerID, and
// returns the manager with the most reports in the sink, the manager
// being delivered too.
func (e *env) busiestManager() (string, []string) {
	e.t.Helper()
	users := e.fake.Users(e.conn.ID)
	by := map[string][]string{}
	for id, rec := range users {
		if m, ok := rec.Attributes["User.ManagerID"].(string); ok {
			by[m] = append(by[m], id)
		}
	}
	best := ""
	for m, reports := range by {
		if _, delivered := users[m]; delivered && (best == "" || len(reports) > len(by[best]) || len(reports) == len(by[best]) && m < best) {
			best = m
		}
	}
	if best == "" || len(by[best]) < 2 {
		e.t.Fatalf("no delivered manager with two reports among %d users", len(users))
	}
	return best, by[best]
}

// attr is a string attribute of a user the sink holds ("" when absent).
func (e *env) attr(id, name string) string {
	v, _ := e.fake.Users(e.conn.ID)[id].Attributes[name].(string)
	return v
}

// sameButManager checks that each of ids holds in the sink what it held in
// before, but its manager's e-mail: a report read again by ID keeps its
// apps, devices and the rest as its listing gave them.
func (e *env) sameButManager(before map[string]map[string]any, ids []string) {
	e.t.Helper()
	users := e.fake.Users(e.conn.ID)
	for _, id := range ids {
		was, now := before[id], users[id].Attributes
		for k := range mergeKeys(was, now) {
			if k != "User.ManagerEmail" && fmt.Sprint(was[k]) != fmt.Sprint(now[k]) {
				e.t.Errorf("report %s: %s was %v, now %v", id, k, was[k], now[k])
			}
		}
	}
}

func mergeKeys(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// attributes copies what the sink holds of each user.
func (e *env) attributes() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, rec := range e.fake.Users(e.conn.ID) {
		out[id] = rec.Attributes
	}
	return out
}

// renamedManager is a 400-user Okta connector after its first run, whose
// busiest manager's e-mail has just changed to email: the manager and its
// reports.
func renamedManager(t *testing.T, email string) (*env, string, []string) {
	t.Helper()
	e := newEnv(t, 400, "ACTIVE")
	e.mustRun(engine.Options{})
	manager, reports := e.busiestManager()
	e.clock.Advance(time.Hour)
	if err := e.sim.EditProfile(manager, map[string]any{"email": email}); err != nil {
		t.Fatal(err)
	}
	return e, manager, reports
}

// upsertsSince counts the upserts the sink accepted after batch n.
func (e *env) upsertsSince(n int) int {
	ups := 0
	for _, a := range e.fake.Accepted()[n:] {
		ups += a.Upserts
	}
	return ups
}

// A manager's new e-mail reaches their reports' records at the next run,
// not the next full run: an incremental run lists only the manager (the
// reports did not change at Okta), so it reads the reports again by ID,
// once each. A full run reads them again too, since it may have listed a
// report before the manager it names. A manager who leaves the selection
// takes their fields out of the reports' records the same way.
func TestReportsFollowTheirManagersChanges(t *testing.T) {
	t.Parallel()
	e, manager, reports := renamedManager(t, "boss.renamed@example.com")
	calls, batches := len(e.sim.Requests()), len(e.fake.Accepted())
	before := e.attributes()
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" {
		t.Fatalf("mode %s", r.Mode)
	}
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "boss.renamed@example.com" {
			t.Errorf("report %s of %s has manager e-mail %q after an incremental run", id, manager, got)
		}
	}
	e.sameButManager(before, reports)
	if got, want := e.upsertsSince(batches), 1+len(reports); got != want || r.Upserted != want {
		t.Errorf("%d upserts reached the sink (run says %d), want the manager and %d reports", got, r.Upserted, len(reports))
	}
	read := map[string]int{}
	for _, q := range e.sim.Requests()[calls:] {
		if id, ok := strings.CutPrefix(q.URL, "/api/v1/users/"); ok && !strings.ContainsAny(id, "/?") {
			read[id]++
		}
	}
	for _, id := range reports {
		if read[id] != 1 {
			t.Errorf("report %s read %d times by ID, want once", id, read[id])
		}
	}
	if len(read) != len(reports) {
		t.Errorf("%d users read by ID, want the %d reports", len(read), len(reports))
	}

	// A full run that finds the manager's e-mail changed: every report
	// carries it after this run, wherever the listing put them.
	e.clock.Advance(time.Hour)
	if err := e.sim.EditProfile(manager, map[string]any{"email": "boss.again@example.com"}); err != nil {
		t.Fatal(err)
	}
	batches, before = len(e.fake.Accepted()), e.attributes()
	r = e.mustRun(engine.Options{Full: true})
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "boss.again@example.com" {
			t.Errorf("report %s has manager e-mail %q after a full run", id, got)
		}
	}
	e.sameButManager(before, reports)
	if got := e.upsertsSince(batches); got != 1+len(reports) {
		t.Errorf("the full run sent %d upserts, want the manager and %d reports", got, len(reports))
	}
	if r.Fetched != len(e.truth()) { // reports read again are not counted twice
		t.Errorf("the full run says it fetched %d users, the org has %d", r.Fetched, len(e.truth()))
	}

	// The manager is suspended: the reports lose the manager's fields
	// (Okta's connector knows only the users it delivers) with this run.
	e.clock.Advance(time.Hour)
	if err := e.sim.SetStatus(manager, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	e.mustRun(engine.Options{})
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "" {
			t.Errorf("report %s keeps the suspended manager's e-mail %q", id, got)
		}
		if got := e.attr(id, "User.ManagerID"); got != manager {
			t.Errorf("report %s lost its manager ID: %q", id, got)
		}
	}
	e.assertSinkIsTruth()

	// Back from the suspension: the reports get the fields again.
	e.clock.Advance(time.Hour)
	if err := e.sim.SetStatus(manager, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	e.mustRun(engine.Options{})
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "boss.again@example.com" {
			t.Errorf("report %s has manager e-mail %q once the manager is back", id, got)
		}
	}

	// Nothing changed since: the next run reads nobody again.
	e.clock.Advance(time.Hour)
	calls, batches = len(e.sim.Requests()), len(e.fake.Accepted())
	if r := e.mustRun(engine.Options{}); r.Upserted != 0 || e.upsertsSince(batches) != 0 {
		t.Errorf("a quiet run upserted %d", r.Upserted)
	}
	for _, q := range e.sim.Requests()[calls:] {
		if strings.HasPrefix(q.URL, "/api/v1/users/") {
			t.Errorf("a quiet run read %s", q.URL)
		}
	}
}

// OneLogin: a manager's new phone reaches the reports' User.ManagerPhone
// at the next incremental run, read again in one listing by user_ids.
func TestOneLoginReportsFollowTheirManagersPhone(t *testing.T) {
	t.Parallel()
	e, sim := newOneLoginEnv(t, 400, "active")
	e.mustRun(engine.Options{})
	manager, reports := e.busiestManager()
	id, _ := strconv.ParseInt(manager, 10, 64)
	e.clock.Advance(time.Hour)
	sim.SetPhone(id, "+1 555 0199")
	e.clock.Advance(time.Minute)
	calls, batches := len(sim.Requests()), len(e.fake.Accepted())
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" {
		t.Fatalf("mode %s", r.Mode)
	}
	for _, rep := range reports {
		if got := e.attr(rep, "User.ManagerPhone"); got != "+1 555 0199" {
			t.Errorf("report %s has manager phone %q", rep, got)
		}
	}
	if got := e.upsertsSince(batches); got != 1+len(reports) {
		t.Errorf("%d upserts, want the manager and %d reports", got, len(reports))
	}
	byIDs := 0
	for _, q := range sim.Requests()[calls:] {
		if strings.Contains(q.RawQuery, "user_ids=") {
			byIDs++
		}
		if strings.HasPrefix(q.Path, "/api/2/users/") {
			t.Errorf("a report read alone: %s", q.Path)
		}
	}
	if byIDs != 1 {
		t.Errorf("%d listings by user_ids, want one", byIDs)
	}
}

// More reports to read again than a run reads one by one: the run says
// so, sends the manager, and the next full run brings the reports up to
// date (from the manager's stored fields, whatever the listing's order).
func TestTooManyReportsWaitForTheFullRun(t *testing.T) {
	defer engine.SetMaxReread(2)()
	e, manager, reports := renamedManager(t, "boss.renamed@example.com")
	r := e.mustRun(engine.Options{})
	if r.Upserted != 1 || e.attr(manager, "User.Email") != "boss.renamed@example.com" ||
		!strings.Contains(strings.Join(r.Warnings, " "), "next full run") {
		t.Errorf("upserted %d, warnings %q", r.Upserted, r.Warnings)
	}
	e.clock.Advance(time.Hour)
	e.mustRun(engine.Options{Full: true})
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "boss.renamed@example.com" {
			t.Errorf("report %s has manager e-mail %q after the full run", id, got)
		}
	}
}

// failAgain is a provider whose pass fails once the engine has named the
// reports to read again: a run that stops between the managers' new
// entries and their reports' reading (a crash, a network failure).
type failAgain struct{ engine.Provider }

func (f failAgain) Fetch(ctx context.Context, req engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	again := req.Again
	req.Again = func() ([]string, error) {
		if _, err := again(); err != nil {
			return nil, err
		}
		return nil, errors.New("connection reset by peer")
	}
	return f.Provider.Fetch(ctx, req, page)
}

// A run that stops after it stored a manager's new e-mail, before it read
// the reports again, leaves them to the next run: that one finds the
// manager unchanged, yet reads the reports.
func TestReportsAreReadAgainAfterARunThatStopped(t *testing.T) {
	t.Parallel()
	e, manager, reports := renamedManager(t, "boss.renamed@example.com")
	prov := e.prov
	e.prov = failAgain{prov}
	if _, err := e.run(engine.Options{}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("the failing run: %v", err)
	}
	var snap store.Snapshot
	_ = e.db.View(func(tx *store.Tx) error { snap, _, _ = tx.Snapshot(e.conn.ID, manager); return nil })
	if snap.Email != "boss.renamed@example.com" {
		t.Fatalf("the manager's page was not kept: %q", snap.Email)
	}
	e.prov = prov
	e.clock.Advance(time.Minute)
	e.mustRun(engine.Options{})
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "boss.renamed@example.com" {
			t.Errorf("report %s has manager e-mail %q after the run that followed", id, got)
		}
	}
	var st store.SyncState
	_ = e.db.View(func(tx *store.Tx) error { st, _ = tx.SyncState(e.conn.ID); return nil })
	if len(st.Reread) != 0 {
		t.Errorf("the completed run left %v to read again", st.Reread)
	}
}

// A report listed after its manager left the selection is held back until
// the pass ends (its manager's fields are read by ID, OneLogin), and read
// again because the manager changed: one upsert all the same, with a
// resend too.
func TestAReportHeldBackAndReadAgainIsSentOnce(t *testing.T) {
	t.Parallel()
	for _, resend := range []bool{false, true} {
		e, sim := newOneLoginEnv(t, 400, "active")
		e.mustRun(engine.Options{})
		manager, reports := e.busiestManager()
		m, _ := strconv.ParseInt(manager, 10, 64)
		var report int64
		for _, id := range reports {
			if r, _ := strconv.ParseInt(id, 10, 64); r > m {
				report = r // listed after the manager: OneLogin lists by ID
				break
			}
		}
		if report == 0 {
			t.Fatalf("no report of %s listed after it: %v", manager, reports)
		}
		rep := strconv.FormatInt(report, 10)
		e.clock.Advance(time.Hour)
		sim.SetStatus(m, 2)
		sim.SetTitle(report, "Chief Tester")
		e.clock.Advance(time.Minute)
		upserts := e.fake.Users(e.conn.ID)[rep].Upserts
		e.mustRun(engine.Options{Full: true, Resend: resend})
		if got := e.fake.Users(e.conn.ID)[rep].Upserts - upserts; got != 1 {
			t.Errorf("resend %v: the report was upserted %d times by one run", resend, got)
		}
		if got := e.attr(rep, "User.JobTitle"); got != "Chief Tester" {
			t.Errorf("resend %v: title %q", resend, got)
		}
		if got := e.attr(rep, "User.ManagerEmail"); got == "" {
			t.Errorf("resend %v: the report lost its suspended manager's e-mail (OneLogin reads it by ID)", resend)
		}
	}
}

// In a real org about half the reports are listed before their managers
// (Okta's listing has no order): a first full run holds them back and
// completes them when the pass ends. Each then carries its manager's
// fields, and its record is the one a run that knew the manager writes,
// byte for byte: a second full run, which knows every manager from the
// first, sends nothing.
func TestReportsListedBeforeTheirManagersAreSentComplete(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 500, NoLimits: true}, "ACTIVE")
	r := e.mustRun(engine.Options{})
	if r.Mode != "full" || r.Upserted != len(e.truth()) {
		t.Fatalf("first run: %s, %d upserted, want full and %d", r.Mode, r.Upserted, len(e.truth()))
	}
	at := map[string]int{}
	for i, id := range e.sim.IDs() {
		at[id] = i
	}
	users, before := e.fake.Users(e.conn.ID), 0
	for id, rec := range users {
		m, _ := rec.Attributes["User.ManagerID"].(string)
		if _, delivered := users[m]; !delivered {
			continue // no manager, or one outside the selection: no manager's fields
		}
		if at[m] > at[id] {
			before++
		}
		if want, _ := users[m].Attributes["User.Email"].(string); want == "" || e.attr(id, "User.ManagerEmail") != want {
			t.Errorf("report %s has manager e-mail %q, its manager %s has %q", id, e.attr(id, "User.ManagerEmail"), m, want)
		}
	}
	if before < len(users)/5 {
		t.Fatalf("only %d of %d users listed before their managers: the tenant does not test what it should", before, len(users))
	}
	e.clock.Advance(time.Hour)
	batches := len(e.fake.Accepted())
	if r := e.mustRun(engine.Options{Full: true}); r.Upserted != 0 || e.upsertsSince(batches) != 0 {
		t.Errorf("a full run after the first sent %d upserts (run says %d): the completed records differ from the ones a known manager gives", e.upsertsSince(batches), r.Upserted)
	}
}

// A report new to the connector listed before its manager, new too, in an
// incremental run: the report waits for the pass's end (spill), and the new
// manager has its reports read again, the report among them. Both found it
// complete; it went to the sink twice in one run until each path knew the
// other had queued it.
func TestANewReportBeforeItsNewManagerIsSentOnce(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, Ordered: true}, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	managerID := e.sim.UserID(201) // the next user added after the report
	report := e.sim.AddUser(map[string]any{"login": "rey@example.com", "email": "rey@example.com", "firstName": "Rey", "lastName": "Report",
		"managerId": managerID}, "ACTIVE")
	if got := e.sim.AddUser(map[string]any{"login": "mia@example.com", "email": "mia@example.com", "firstName": "Mia", "lastName": "Manager"}, "ACTIVE"); got != managerID {
		t.Fatalf("the manager is %s, want %s", got, managerID)
	}
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" || r.Upserted != 2 || r.Reread != 1 {
		t.Fatalf("%+v, want an incremental run that reads the report again and sends both", r)
	}
	if got := e.attr(report, "User.ManagerEmail"); got != "mia@example.com" {
		t.Errorf("the report's manager e-mail is %q", got)
	}
	e.assertEachAppliedOnce()
}
