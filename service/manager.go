package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	ksvc "github.com/kardianos/service"
)

// SystemLogger is the service manager's log (the Windows event log).
type SystemLogger = ksvc.Logger

// Platform names the service manager of this host (systemd, windows-service ...).
func Platform() string { return ksvc.Platform() }

// Serve runs daemon as the service manager expects: under the manager it
// answers its stop requests; in a terminal (or a test) ctx (main's signal
// context) stops it, with no second signal handler. daemon gets the
// manager's log where the platform needs one (Windows), else nil.
func Serve(ctx context.Context, in Install, daemon func(ctx context.Context, sysLog SystemLogger) error) error {
	var sysLog SystemLogger
	prg := &Program{Run: func(ctx context.Context) error { return daemon(ctx, sysLog) }}
	wait := func() {
		select {
		case <-ctx.Done():
		case <-prg.Done():
		}
	}
	if ksvc.Interactive() {
		if err := prg.Start(nil); err != nil {
			return err
		}
		wait()
		return prg.Stop(nil)
	}
	cfg := in.Config()
	cfg.Option["RunWait"] = wait
	s, err := ksvc.New(prg, cfg)
	if err != nil {
		return err
	}
	if TeeToSystemLog { // only where stderr reaches no log (Windows)
		if sysLog, err = s.Logger(nil); err != nil {
			return fmt.Errorf("open the system log: %w", err)
		}
	}
	if runtime.GOOS == "windows" {
		// The service manager restarts a service that exits; a daemon that
		// failed by itself must exit for its recovery actions to apply.
		prg.Failed = func(error) { os.Exit(1) }
	}
	return s.Run()
}

// InstallService registers the service with the host's service manager.
func InstallService(in Install) error {
	s, err := ksvc.New(&Program{}, in.Config())
	if err != nil {
		return err
	}
	if err := s.Install(); err != nil {
		return fmt.Errorf("install the service (%s): %w (run as root / in an elevated prompt)", ksvc.Platform(), err)
	}
	return nil
}

// Control performs action (start, stop, restart, uninstall) on the
// installed service.
func Control(in Install, action string) error {
	s, err := ksvc.New(&Program{}, in.Config())
	if err != nil {
		return err
	}
	if err := ksvc.Control(s, action); err != nil {
		return fmt.Errorf("%s the service (%s): %w (run as root / in an elevated prompt)", action, ksvc.Platform(), err)
	}
	return nil
}

// ErrNotInstalled is State's answer when no service is installed.
var ErrNotInstalled = errors.New("not installed")

// State says whether the installed service runs: running, stopped or unknown.
func State(in Install) (string, error) {
	s, err := ksvc.New(&Program{}, in.Config())
	if err != nil {
		return "", err
	}
	st, err := s.Status()
	if errors.Is(err, ksvc.ErrNotInstalled) {
		return "", ErrNotInstalled
	}
	if err != nil {
		return "", fmt.Errorf("read the service's status from %s: %w; is that the host's service manager, and is it running?", ksvc.Platform(), err)
	}
	switch st {
	case ksvc.StatusRunning:
		return "running", nil
	case ksvc.StatusStopped:
		return "stopped", nil
	}
	return "unknown", nil
}
