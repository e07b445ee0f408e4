package engine_test

import (
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/store"
)

// A sink that answers {"accepted": N} with N below the batch's records did
// not take them all: the contract's N is what was durably accepted. The
// batch still counts as delivered, as the contract says, but the shortfall
// is logged and kept for status, and a resend, which sends every selected
// user again, makes it good and clears it.
func TestASinkThatAcceptsFewerRecordsIsNoticed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	e.fake.DropNext(1, 3)
	e.mustRun(engine.Options{})
	shortfall := func() (store.Shortfall, bool) {
		var sf store.Shortfall
		var ok bool
		_ = e.db.View(func(tx *store.Tx) error { sf, ok = tx.Shortfall(e.conn.ID); return nil })
		return sf, ok
	}
	sf, ok := shortfall()
	if !ok || sf.Records != 3 || sf.Batches != 1 || sf.LastBatch == "" {
		t.Fatalf("the shortfall: %+v, %v", sf, ok)
	}
	if got, want := len(e.held()), len(e.truth())-3; got != want {
		t.Fatalf("the sink holds %d users, want %d", got, want)
	}
	if !strings.Contains(e.logs.String(), "the sink accepted fewer records than the batch held") {
		t.Errorf("no warning in the log:\n%s", e.logs)
	}
	e.clock.Advance(time.Minute)
	e.mustRun(engine.Options{Resend: true})
	e.assertSinkIsTruth()
	if sf, ok := shortfall(); ok {
		t.Errorf("after the resend the shortfall is still kept: %+v", sf)
	}
}
