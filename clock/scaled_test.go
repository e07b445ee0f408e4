package clock

import (
	"context"
	"testing"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	start := time.Date(2026, 6, 1, 1, 59, 0, 0, time.UTC)
	c := NewScaled(start, 600)
	if got := c.Now(); got.Before(start) || got.After(start.Add(time.Minute)) {
		t.Fatalf("now %s", got)
	}
	before := time.Now()
	if err := c.Sleep(context.Background(), time.Minute); err != nil { // 100 ms of real time
		t.Fatal(err)
	}
	if took := time.Since(before); took < 90*time.Millisecond {
		t.Errorf("a scaled minute took %s of real time, want 100 ms", took)
	}
	if got := c.Now().Sub(start); got < time.Minute {
		t.Errorf("after sleeping a minute the clock moved %s", got)
	}
}
