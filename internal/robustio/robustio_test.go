package robustio

import (
	"errors"
	"testing"
	"time"
)

var errHeld = errors.New("held for a moment")

// A rename retries while the error may pass, stops at once on any other,
// and gives up once its patience is spent, with the last error.
func TestRetry(t *testing.T) {
	mayPass := func(err error) bool { return errors.Is(err, errHeld) }
	var slept time.Duration
	sleep := func(d time.Duration) { slept += d }
	calls := 0
	failTimes := func(n int) func() error {
		calls = 0
		return func() error {
			if calls++; calls <= n {
				return errHeld
			}
			return nil
		}
	}
	if err := retry(failTimes(5), mayPass, time.Second, sleep); err != nil || calls != 6 {
		t.Errorf("held five times: %v after %d calls", err, calls)
	}
	other := errors.New("no such folder")
	calls = 0
	if err := retry(func() error { calls++; return other }, mayPass, time.Second, sleep); !errors.Is(err, other) || calls != 1 {
		t.Errorf("another error: %v after %d calls", err, calls)
	}
	slept = 0
	if err := retry(failTimes(1<<30), mayPass, 50*time.Millisecond, sleep); !errors.Is(err, errHeld) || slept > 50*time.Millisecond || calls < 5 {
		t.Errorf("held for good: %v after %d calls and %v asleep", err, calls, slept)
	}
}
