package clock

import (
	"context"
	"time"
)

// Scaled is a wall clock that starts at a chosen instant and runs Speed
// times faster than real time. The daemon uses it only when the hidden
// NC_TEST_CLOCK setting asks, so that an end-to-end test can watch a
// schedule's slots pass in seconds.
type Scaled struct {
	start time.Time
	real  time.Time
	speed float64
}

// NewScaled returns a clock showing start now and running speed times
// faster than real time (speed ≥ 1).
func NewScaled(start time.Time, speed float64) *Scaled {
	return &Scaled{start: start, real: time.Now(), speed: max(speed, 1)}
}

// Now implements Clock.
func (s *Scaled) Now() time.Time {
	return s.start.Add(time.Duration(float64(time.Since(s.real)) * s.speed))
}

// Sleep implements Clock: d of the scaled clock's time.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return Real{}.Sleep(ctx, time.Duration(float64(d)/s.speed))
}
