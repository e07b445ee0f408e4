package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ksvc "github.com/kardianos/service"
)

// StopTimeout bounds Stop: Windows gives a service about 5 s at shutdown,
// and the daemon must have closed its database by then.
const StopTimeout = 4500 * time.Millisecond

// Program adapts the daemon to kardianos/service: Start returns at once and
// runs the daemon in a goroutine; Stop cancels it and waits, bounded, so the
// database closes cleanly.
type Program struct {
	// Run is the daemon: it runs until ctx ends and returns once stopped.
	Run func(ctx context.Context) error
	// Failed is called when Run returns an error on its own, not because
	// Stop asked; the service manager should see the process fail so that
	// it restarts it.
	Failed func(error)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start implements ksvc.Interface.
func (p *Program) Start(ksvc.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("the daemon is already running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		err := p.Run(ctx)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
		if err != nil && ctx.Err() == nil && p.Failed != nil {
			p.Failed(err)
		}
	}()
	return nil
}

// Stop implements ksvc.Interface.
func (p *Program) Stop(ksvc.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-time.After(StopTimeout):
		return fmt.Errorf("the daemon did not stop within %s", StopTimeout)
	}
}

// Done is closed when the daemon has returned.
func (p *Program) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}
