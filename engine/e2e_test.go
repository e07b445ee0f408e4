package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin"
	"neurons-connector/secret"
	"neurons-connector/sink"
	"neurons-connector/sink/sinktest"
	"neurons-connector/store"
)

var update = flag.Bool("update", false, "rewrite testdata/engine golden files")

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// pageSize is small in tests, so that a few hundred users make many pages.
var pageSize = 50

// countOnly makes the fake sink count instead of keeping records (benchmarks).
var countOnly = false

// env is one connector wired end to end: the Okta simulator, the client,
// a real bbolt store in a temporary directory, the engine, the pusher and
// the fake sink.
type env struct {
	t     testing.TB
	clock *clock.Fake
	sim   *oktatest.Server
	prov  engine.Provider
	fake  *sinktest.Server
	sink  engine.Sink
	db    *store.DB
	eng   *engine.Engine
	conn  connector.Config
	dir   string
	logs  *bytes.Buffer
	// log is the one logger on logs: two handlers on one buffer would
	// write it concurrently (the engine and the pusher log at once).
	log *slog.Logger
}

func newEnv(t testing.TB, users int, statuses ...string) *env {
	t.Helper()
	return newEnvWith(t, oktatest.Options{Users: users, NoLimits: true}, statuses...)
}

// newEnvWith is newEnv on a simulator with the given options.
func newEnvWith(t testing.TB, so oktatest.Options, statuses ...string) *env {
	t.Helper()
	e := &env{t: t, clock: clock.NewFake(t0), dir: t.TempDir(), logs: &bytes.Buffer{}}
	so.Seed, so.Clock, so.Token = 42, e.clock, "sim-token"
	e.sim = oktatest.New(so)
	simSrv := e.sim.Start()
	t.Cleanup(simSrv.Close)
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	client, err := okta.New(okta.Options{BaseURL: simSrv.URL, Token: secret.New([]byte("sim-token")), Clock: e.clock, PageSize: pageSize, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.prov = client
	e.wire(log, connector.New(okta.Spec, t0))
	e.conn.Name, e.conn.URL, e.conn.Statuses = "Okta sim", simSrv.URL, statuses
	e.save()
	return e
}

// wire adds the fake sink, a store in the temporary directory and the
// engine with the default mapping tables, for connector conn.
func (e *env) wire(log *slog.Logger, conn connector.Config) {
	t := e.t
	t.Helper()
	e.fake = sinktest.New(sinktest.Options{CountOnly: countOnly})
	sinkSrv := e.fake.Start()
	t.Cleanup(sinkSrv.Close)
	var err error
	e.sink, err = sink.NewNeurons(sink.NeuronsOptions{URL: sinkSrv.URL, TokenURL: sinkSrv.URL + sinktest.TokenPath,
		ClientID: "sink-client", ClientSecret: secret.New([]byte("sink-secret")), UserAgent: "neurons-connector/test"})
	if err != nil {
		t.Fatal(err)
	}
	e.db, err = store.Open(filepath.Join(e.dir, store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.db.Close() })
	src, err := mapping.NewSource(connector.Specs{okta.Spec, onelogin.Spec}, os.DirFS("../mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.eng = &engine.Engine{DB: e.db, Tables: mapping.NewKeeper(src), Clock: e.clock, Log: log, SpillDir: e.dir}
	e.conn, e.log = conn, log
}

// checkGolden compares the records the sink holds with a golden file
// (go test ./engine -update rewrites it).
func (e *env) checkGolden(path string) {
	e.t.Helper()
	golden := map[string]map[string]any{}
	for id, rec := range e.fake.Users(e.conn.ID) {
		golden[id] = rec.Attributes
	}
	got, _ := json.MarshalIndent(golden, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (go test ./engine -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		e.t.Errorf("delivered records differ from %s (go test ./engine -update after checking)", path)
	}
}

func (e *env) save() {
	e.t.Helper()
	if err := e.db.Update(func(tx *store.Tx) error { return tx.PutConnector(e.conn) }); err != nil {
		e.t.Fatal(err)
	}
}

// run syncs once with a pusher and waits for delivery.
func (e *env) run(o engine.Options) (store.Run, error) {
	e.t.Helper()
	p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, e.log)
	p.SinkName = e.eng.Sink // as the backend's and the scheduler's pushers have it
	stop := p.Start(context.Background())
	o.Committed = p.Kick
	r, err := e.eng.Run(context.Background(), e.conn, e.prov, o)
	stop = p.Restart(context.Background(), stop) // as engine.Deliver does
	var held *engine.HeldError
	if err == nil || errors.As(err, &held) { // a held run delivers its upserts
		if derr := p.Drain(context.Background(), time.Minute); derr != nil {
			err = derr
		}
	}
	_ = stop()
	return r, err
}

func (e *env) mustRun(o engine.Options) store.Run {
	e.t.Helper()
	r, err := e.run(o)
	if err != nil {
		e.t.Fatalf("run: %v\n%s", err, e.logs)
	}
	return r
}

// truth is the set of users the sink must hold: the simulator's users of
// the selected statuses.
func (e *env) truth() []string {
	ids := e.sim.IDs(e.conn.Statuses...)
	sort.Strings(ids)
	return ids
}

func (e *env) held() []string {
	var ids []string
	for id := range e.fake.Users(e.conn.ID) {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (e *env) assertSinkIsTruth() {
	e.t.Helper()
	if got, want := e.held(), e.truth(); !slices.Equal(got, want) {
		e.t.Fatalf("the sink holds %d users, the source has %d selected", len(got), len(want))
	}
}

// assertEachAppliedOnce checks that no upsert reached the sink twice.
func (e *env) assertEachAppliedOnce() {
	e.t.Helper()
	for id, rec := range e.fake.Users(e.conn.ID) {
		if rec.Upserts != 1 {
			e.t.Fatalf("user %s applied %d times", id, rec.Upserts)
		}
	}
}

func (e *env) outbox() int {
	var n int
	_ = e.db.View(func(tx *store.Tx) error { n = tx.OutboxRecords(e.conn.ID); return nil })
	return n
}

func TestFirstFullRunDeliversTheSelectedUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 120, "ACTIVE", "SUSPENDED")
	r := e.mustRun(engine.Options{})
	if r.Mode != "full" || r.ModeReason != "first run" || r.Result != "ok" {
		t.Errorf("run %+v", r)
	}
	e.assertSinkIsTruth()
	if r.Upserted != len(e.truth()) || r.Deleted != 0 || e.outbox() != 0 {
		t.Errorf("upserted %d of %d, deleted %d, outbox %d", r.Upserted, len(e.truth()), r.Deleted, e.outbox())
	}
	acc := e.fake.Accepted()
	if !acc[len(acc)-1].Final || acc[0].Sequence != 1 {
		t.Errorf("batches: first %+v, last %+v", acc[0], acc[len(acc)-1])
	}
	// The exact records, golden: every attribute of every delivered user.
	e.checkGolden("../testdata/engine/okta-first-run.json")
	// A second run right away is incremental and pushes nothing.
	e.clock.Advance(time.Minute)
	r2 := e.mustRun(engine.Options{})
	if r2.Mode != "incremental" || r2.Upserted != 0 || r2.Deleted != 0 {
		t.Errorf("second run %+v", r2)
	}
}

func TestIncrementalDeliversExactlyTheChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3000, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	active := e.sim.IDs("ACTIVE")
	// The suspended user is one nobody reports to: a report re-read in the
	// overlap window would otherwise lose its manager's e-mail too (the
	// manager left the selection), a change of its own.
	leaves := e.sim.Leaves("ACTIVE")
	edited, suspended := active[5], leaves[len(leaves)-1]
	if err := e.sim.EditProfile(edited, map[string]any{"title": "Chief Tester"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetStatus(suspended, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	added := e.sim.AddUser(map[string]any{"login": "nova@example.com", "email": "nova@example.com", "firstName": "Nova", "lastName": "Ñandú"}, "ACTIVE")
	before := len(e.fake.Accepted())
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" {
		t.Fatalf("mode %s (%s)", r.Mode, r.ModeReason)
	}
	var ups, dels int
	for _, a := range e.fake.Accepted()[before:] {
		ups, dels = ups+a.Upserts, dels+a.Deletes
	}
	if ups != 2 || dels != 1 {
		t.Errorf("incremental run pushed %d upserts and %d deletes, want 2 and 1", ups, dels)
	}
	if reason := e.fake.DeleteReason(e.conn.ID, suspended); reason != sink.ReasonStatusNotSelected {
		t.Errorf("delete reason %q", reason)
	}
	if got := e.fake.Users(e.conn.ID)[edited].Attributes["User.JobTitle"]; got != "Chief Tester" {
		t.Errorf("edited title %v", got)
	}
	if _, ok := e.fake.Users(e.conn.ID)[added]; !ok {
		t.Error("the new user was not delivered")
	}
	e.assertSinkIsTruth()
}

// A user deactivated and deleted between two runs is in no listing: the
// System Log's user.lifecycle.delete.completed makes the next incremental
// run deliver the delete (deleted-at-source, after a 404 confirms it).
// Without access to the log, the next full run does.
func TestHardDeleteIsDeliveredByTheNextRun(t *testing.T) {
	t.Parallel()
	for _, noLogs := range []bool{false, true} {
		e := newEnv(t, 200, "ACTIVE")
		e.mustRun(engine.Options{})
		e.sim.SetNoLogs(noLogs)
		victim := e.sim.IDs("ACTIVE")[3]
		e.clock.Advance(time.Hour)
		_ = e.sim.Delete(victim) // deactivates
		_ = e.sim.Delete(victim) // removes, no tombstone
		r := e.mustRun(engine.Options{})
		_, still := e.fake.Users(e.conn.ID)[victim]
		if noLogs {
			if !still || len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, " "), "System Log") {
				t.Fatalf("without the log: still %v, warnings %q", still, r.Warnings)
			}
			r = e.mustRun(engine.Options{Full: true})
		}
		if r.Deleted != 1 || e.fake.DeleteReason(e.conn.ID, victim) != sink.ReasonDeletedAtSource {
			t.Fatalf("no logs %v: run %s deleted %d, reason %q", noLogs, r.Mode, r.Deleted, e.fake.DeleteReason(e.conn.ID, victim))
		}
		e.assertSinkIsTruth()
	}
}

// reportsOf lists the active users whose manager is one of managers.
func (e *env) reportsOf(managers ...string) []string {
	of := map[string]bool{}
	for _, m := range managers {
		of[m] = true
	}
	var out []string
	for _, id := range e.sim.IDs("ACTIVE") {
		if _, p, _ := e.sim.User(id); of[fmt.Sprint(p["managerId"])] {
			out = append(out, id)
		}
	}
	return out
}

func TestNarrowingAndWideningStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE", "SUSPENDED")
	e.mustRun(engine.Options{})
	suspended := e.sim.IDs("SUSPENDED")
	e.conn.Statuses = []string{"ACTIVE"}
	e.save()
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{})
	if r.Mode != "full" || r.ModeReason != "configuration changed" || r.Deleted != len(suspended) {
		t.Fatalf("narrowing: %+v", r)
	}
	for _, id := range suspended {
		if reason := e.fake.DeleteReason(e.conn.ID, id); reason != sink.ReasonStatusNotSelected {
			t.Fatalf("user %s deleted with %q", id, reason)
		}
	}
	// The listing no longer gives the suspended: only the pass's end tells
	// they left, after their active reports were mapped with the fields
	// stored for them. The next run reads those reports again and sends
	// them without their managers' fields.
	reports := e.reportsOf(suspended...)
	e.clock.Advance(time.Minute)
	r = e.mustRun(engine.Options{})
	if r.Mode != "incremental" || len(reports) == 0 || r.Upserted != len(reports) || r.Reread != len(reports) {
		t.Fatalf("after narrowing: %+v, want the %d active reports of the suspended read again and sent", r, len(reports))
	}
	for _, id := range reports {
		if got := e.attr(id, "User.ManagerEmail"); got != "" {
			t.Errorf("%s kept its suspended manager's e-mail %q", id, got)
		}
	}
	e.assertSinkIsTruth()
	e.conn.Statuses = []string{"ACTIVE", "SUSPENDED", "LOCKED_OUT"}
	e.save()
	// Widening sends the users it brings in, and the active reports of
	// those among them who manage: their records gain the manager's fields.
	in := e.sim.IDs("SUSPENDED", "LOCKED_OUT")
	reports = e.reportsOf(in...)
	r = e.mustRun(engine.Options{})
	if r.Upserted != len(in)+len(reports) {
		t.Errorf("widening upserted %d, want %d: %d users brought in and the %d active reports of those who manage", r.Upserted, len(in)+len(reports), len(in), len(reports))
	}
	e.assertSinkIsTruth()
}

func TestSinkOutageLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 500, "ACTIVE")
	pages := 0
	r, err := e.run(engine.Options{Progress: func(engine.Progress) {
		if pages++; pages == 2 {
			e.fake.Outage(true) // the sink goes down in the middle of the run
		}
	}})
	if !errors.Is(err, engine.ErrBacklog) || r.Result != "ok" {
		t.Fatalf("run during an outage: %v, result %s", err, r.Result)
	}
	waiting := e.outbox()
	if waiting == 0 || waiting+len(e.held()) != len(e.truth()) {
		t.Fatalf("%d records wait and %d were delivered; the source has %d", waiting, len(e.held()), len(e.truth()))
	}
	var cur store.Cursor
	_ = e.db.View(func(tx *store.Tx) error { cur, _, _ = tx.Cursor(e.conn.ID); return nil })
	if cur.Value == nil {
		t.Fatal("a sink outage held back the cursor")
	}
	e.fake.Outage(false)
	e.clock.Advance(time.Minute)
	e.mustRun(engine.Options{}) // the next run delivers the backlog first
	e.assertSinkIsTruth()
	e.assertEachAppliedOnce()
}

func TestCancelledRunsThenRestartDeliverExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1500, "ACTIVE", "LOCKED_OUT")
	for stopAfter := 1; stopAfter <= 9; stopAfter += 2 {
		ctx, cancel := context.WithCancel(context.Background())
		p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, slog.New(slog.DiscardHandler))
		pstop := p.Start(context.Background())
		pages := 0
		r, err := e.eng.Run(ctx, e.conn, e.prov, engine.Options{Committed: p.Kick, Progress: func(engine.Progress) {
			pages++
			if pages == stopAfter {
				cancel()
			}
		}})
		_ = pstop()
		cancel()
		if !errors.Is(err, context.Canceled) || r.Result != "cancelled" {
			t.Fatalf("run stopped after %d pages: %v %s", stopAfter, err, r.Result)
		}
	}
	e.mustRun(engine.Options{})
	e.assertSinkIsTruth()
	e.assertEachAppliedOnce()
	if n := e.fake.Answers()[409]; n != 0 {
		t.Logf("%d batches were repeated and recognised as duplicates", n)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 150, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	id := e.sim.IDs("ACTIVE")[2]
	_ = e.sim.EditProfile(id, map[string]any{"title": "Dry"})
	_ = e.db.Close()
	before, _ := os.ReadFile(filepath.Join(e.dir, store.FileName))
	db, err := store.Open(filepath.Join(e.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.eng.DB = db, db
	var changes []engine.Change
	r, err := e.eng.Run(context.Background(), e.conn, e.prov, engine.Options{DryRun: true, Change: func(c engine.Change) { changes = append(changes, c) }})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	after, _ := os.ReadFile(filepath.Join(e.dir, store.FileName))
	if !bytes.Equal(before, after) {
		t.Fatal("a dry run changed the database")
	}
	if len(changes) != 1 || changes[0].SourceID != id || r.Upserted != 1 {
		t.Fatalf("dry run changes %+v", changes)
	}
	db, _ = store.Open(filepath.Join(e.dir, store.FileName), store.Options{})
	e.db, e.eng.DB = db, db
}

// Pages are committed a batch's worth at a time: with pages of 50 users, a
// full run delivers batches of up to the contract's 1,000 records, not one
// per page, and still every user exactly once.
func TestPagesAreCommittedInFullBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2600, "ACTIVE", "SUSPENDED", "STAGED", "PROVISIONED")
	r := e.mustRun(engine.Options{})
	e.assertSinkIsTruth()
	e.assertEachAppliedOnce()
	var sizes []int
	for _, a := range e.fake.Accepted() {
		if !a.Final {
			sizes = append(sizes, a.Upserts+a.Deletes)
		}
	}
	// The listing commits a batch's worth of snapshot changes at a time
	// (a report listed before its manager changes its entry when listed,
	// and is sent when the pass ends), so the pages' batches and the
	// spilled users' at the end split the users at most twice more than
	// full batches would: not one batch per page of 50.
	most := (r.Upserted+sink.MaxRecords-1)/sink.MaxRecords + 2
	if r.Upserted < 2*sink.MaxRecords || len(sizes) > most || slices.Max(sizes) > sink.MaxRecords {
		t.Errorf("%d users upserted in batches of %v, want at most %d batches of at most %d", r.Upserted, sizes, most, sink.MaxRecords)
	}
}

// The provider decodes only the fields the mapping reads: a table that
// reads fields the built-in one does not (links, realm) still gets them.
func TestFieldsOnlyAnOverrideReadsAreDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 40, "ACTIVE")
	builtin, err := os.ReadFile("../mappings/okta.csv")
	if err != nil {
		t.Fatal(err)
	}
	override := string(builtin) + "Application.Okta.SelfLink,_links.self.href,,\nApplication.Okta.Realm,realmId,,\n" +
		"Application.Okta.Serials,devices.profile.serialNumber,list,\n" + // read only when a table reads it
		"Application.Okta.IMEIs,devices.profile.imei,list,\n" // what the connector never fills: a warning
	src, err := mapping.NewSource(connector.Specs{okta.Spec, onelogin.Spec}, os.DirFS("../mappings"),
		fstest.MapFS{"okta.csv": {Data: []byte(override)}})
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Tables = mapping.NewKeeper(src)
	r := e.mustRun(engine.Options{})
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "source devices.profile.imei stays empty") || strings.Contains(w, "serialNumber stays") {
		t.Errorf("warnings %q", r.Warnings)
	}
	serials := 0
	for _, rec := range e.fake.Users(e.conn.ID) {
		if rec.Attributes["Application.Okta.Serials"] != nil {
			serials++
		}
	}
	if serials == 0 {
		t.Error("no user's devices came with their serial numbers")
	}
	users := e.fake.Users(e.conn.ID)
	if len(users) == 0 || len(users) != len(e.truth()) {
		t.Fatalf("%d users delivered, want %d", len(users), len(e.truth()))
	}
	for id, rec := range users {
		if got, want := rec.Attributes["Application.Okta.SelfLink"], e.conn.URL+"/api/v1/users/"+id; got != want {
			t.Fatalf("user %s: SelfLink %v, want %s", id, got, want)
		}
		if rec.Attributes["Application.Okta.Realm"] == nil || rec.Attributes["User.FirstName"] == nil {
			t.Fatalf("user %s: %v", id, rec.Attributes)
		}
	}
}
