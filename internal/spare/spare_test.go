package spare

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// What is put is got back, newest first, even across collections (which
// empty a sync.Pool); beyond Max, values are let go; and concurrent use is
// safe (go test -race).
func TestListKeepsWhatItIsGiven(t *testing.T) {
	var made atomic.Int64
	l := &List[*[]byte]{Max: 2, New: func() *[]byte { made.Add(1); b := make([]byte, 0, 8); return &b }}
	a, b, c := l.Get(), l.Get(), l.Get()
	if made.Load() != 3 {
		t.Fatalf("%d made for three gets from an empty list", made.Load())
	}
	l.Put(a)
	l.Put(b)
	l.Put(c) // over Max: dropped
	runtime.GC()
	runtime.GC()
	if got := l.Get(); got != b {
		t.Error("the last value put was not the first got")
	}
	if got := l.Get(); got != a {
		t.Error("the first value put was not kept")
	}
	if l.Get(); made.Load() != 4 {
		t.Errorf("%d made; a value beyond Max was kept", made.Load())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				l.Put(l.Get())
			}
		})
	}
	wg.Wait()
}
