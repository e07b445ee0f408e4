package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	ksvc "github.com/kardianos/service"

	"neurons-connector/clock"
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

// ReportFailure copies the error that stops serve, run by the service
// manager, to the manager's log where stderr reaches none (Windows): one
// that stops it before the daemon runs (its settings file, a CA file)
// left no trace there, and `service start` points to that log.
func ReportFailure(in Install, msg string) {
	if !TeeToSystemLog || ksvc.Interactive() {
		return
	}
	s, err := ksvc.New(&Program{}, in.Config())
	if err != nil {
		return
	}
	if l, err := s.Logger(nil); err == nil {
		_ = l.Error(msg)
	}
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

// Start starts (action "start") or restarts the installed service and
// returns the line that says so once the service manager says it is up,
// or an error (ErrStartFailed) that says why it is not. With systemd that
// is when serve said READY=1 (it holds its database and answers on its
// socket), with the reason from the unit's log when it failed; on Windows,
// when the service is still running a few seconds after the start.
func Start(ctx context.Context, in Install, action string) (string, error) {
	if Platform() == "linux-systemd" {
		notes := RepairInstall(in) // before the start it lets through
		line, err := newSystemd(in.Executable).start(ctx, action)
		if err != nil {
			return "", err
		}
		return withNotes(notes, line), nil
	}
	if _, err := State(in); errors.Is(err, ErrNotInstalled) {
		return "", fmt.Errorf("%w: install it first (neurons-connector service install)", ErrNotInstalled)
	}
	if err := Control(in, action); err != nil {
		if runtime.GOOS == "windows" {
			return "", fmt.Errorf("%w; a service that started and stopped says why in the Application event log "+
				"(Get-WinEvent -ProviderName %s -MaxEvents 5 | Format-List)", err, Name)
		}
		return "", err
	}
	if runtime.GOOS == "windows" {
		return watchStart(ctx, func() (string, error) { return State(in) }, action, clock.Real{}.Sleep)
	}
	return fmt.Sprintf("Service %s: %s done.", Name, action), nil
}

// withNotes puts what was mended before a start ahead of its line.
func withNotes(notes []string, line string) string {
	for i := len(notes) - 1; i >= 0; i-- {
		line = strings.ToUpper(notes[i][:1]) + notes[i][1:] + ".\n" + line
	}
	return line
}

// watchStart is Start's wait on Windows, where the service manager calls
// the service running as soon as its process answers it: a serve that
// stops at start (its settings, its database) shows as stopped within
// moments, before its recovery action starts it again 10 s later.
func watchStart(ctx context.Context, state func() (string, error), action string, sleep func(context.Context, time.Duration) error) (string, error) {
	for i := 0; i < 12; i++ {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return "", err
		}
		if st, err := state(); err == nil && st == "stopped" {
			return "", fmt.Errorf("%w: it stopped as it started; the Application event log says why (Get-WinEvent "+
				"-ProviderName %s -MaxEvents 5 | Format-List), and the service tries again in 10 s", ErrStartFailed, Name)
		}
	}
	return fmt.Sprintf("Service %s: %s done; it runs.", Name, action), nil
}

// Uninstall removes the installed service, stopping it first: the
// service managers remove a running service's registration and leave its
// process running (systemd: the unit file gone, the daemon still holding
// the database, and `service status` saying "not installed").
func Uninstall(ctx context.Context, in Install) (string, error) {
	stopped := ""
	if up(ctx, in) {
		if err := Control(in, "stop"); err != nil {
			return "", err
		}
		stopped = "stopped it, then "
	}
	if err := Control(in, "uninstall"); err != nil {
		return "", err
	}
	if Platform() == sysvPlatform {
		if err := sysvUnlink(sysvEtc, Name); err != nil {
			return "", fmt.Errorf("the service is uninstalled; remove its links from /etc/rc?.d: %w", err)
		}
	}
	return fmt.Sprintf("Service %s: %suninstalled; the data directory and the settings file stay.", Name, stopped), nil
}

// up says whether the installed service's process runs or is starting.
func up(ctx context.Context, in Install) bool {
	if Platform() == "linux-systemd" {
		return newSystemd(in.Executable).up(ctx)
	}
	st, err := State(in)
	return err == nil && st == "running"
}

// ErrNotInstalled is State's answer when no service is installed.
var ErrNotInstalled = errors.New("not installed")

// State says whether the installed service runs: running, stopped or
// unknown; with systemd, running only once serve said it is ready, and a
// service that failed or restarts after failures says so and why.
func State(in Install) (string, error) {
	if Platform() == "linux-systemd" {
		return newSystemd(in.Executable).describe(context.Background())
	}
	s, err := ksvc.New(&Program{}, in.Config())
	if err != nil {
		return "", err
	}
	st, err := s.Status()
	if Platform() == sysvPlatform {
		st, err = sysvStatus(sysvEtc, Name, st, err)
	}
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
