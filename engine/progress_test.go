package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"neurons-connector/engine"
)

// waitingProvider waits (as a rate-limited sweep does) before its one
// page, saying what for.
type waitingProvider struct {
	stubProvider
	until time.Time
}

func (p *waitingProvider) Fetch(ctx context.Context, req engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	select {
	case <-time.After(1500 * time.Millisecond): // wall time: progress ticks each wall second
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.stubProvider.Fetch(ctx, req, page)
}

func (p *waitingProvider) Stats() engine.Stats {
	return engine.Stats{Calls: 7, WaitingFor: "the apps rate limit", WaitingUntil: p.until}
}

// A pass that waits before its first page reports progress meanwhile:
// what it has called and what it waits for, never two reports at once.
func TestProgressTicksBeforeTheFirstPage(t *testing.T) {
	e := newEnv(t, 10, "ACTIVE")
	prov := &waitingProvider{stubProvider: stubProvider{users: []engine.User{{ID: "u1", Status: "ACTIVE",
		Raw: map[string]any{"id": "u1", "status": "ACTIVE", "profile": map[string]any{"login": "a@x"}}}}},
		until: time.Now().Add(time.Minute)}
	e.prov = prov
	var mu sync.Mutex
	var early []engine.Progress
	busy := false
	e.mustRun(engine.Options{Progress: func(p engine.Progress) {
		mu.Lock()
		if busy {
			t.Error("two progress reports at once")
		}
		busy = true
		mu.Unlock()
		if p.Pages == 0 {
			early = append(early, p)
		}
		mu.Lock()
		busy = false
		mu.Unlock()
	}})
	if len(early) == 0 || early[0].Stats.WaitingFor != "the apps rate limit" || !early[0].Stats.WaitingUntil.Equal(prov.until) {
		t.Fatalf("progress before the first page: %+v", early)
	}
}
