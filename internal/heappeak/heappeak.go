// Package heappeak measures the most heap a piece of work held, for the
// benchmarks that promise memory bounds (huge provider pages, the CSV
// drop): sampling every millisecond is coarse, but a peak that grows with
// the input shows.
package heappeak

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Of runs fn and returns the most heap allocated while it ran, sampled
// every millisecond, less what was allocated before it began.
func Of(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
					peak.Store(ms.HeapAlloc - base)
				}
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}
