package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	ksvc "github.com/kardianos/service"
	"github.com/spf13/cobra"

	"neurons-connector/clock"
	"neurons-connector/service"
	"neurons-connector/settings"
)

// testClockVar is a hidden setting for end-to-end tests: START*SPEED runs
// the daemon's clock from START (RFC 3339) at SPEED times real time, so a
// test sees schedule slots pass in seconds.
const testClockVar = "NC_TEST_CLOCK"

func (a *app) serveCmd() *cobra.Command {
	var envFile string
	cmd := &cobra.Command{
		Use:   "serve [--env-file FILE]",
		Short: "Run the daemon in the foreground: every connector on its schedule",
		Long: `Run the daemon: every connector of this server (NC_SERVER_NAME) on its schedule,
each on its own, with the local control endpoint on NC_LISTEN (status, runs and
connector changes from the command line; /healthz; Prometheus /metrics). This
is what the installed service runs; run it in a terminal to watch it work.
Ctrl-C or SIGTERM stops it: the page being committed is finished, what the sink
accepts within a few seconds is delivered, and the database is closed.

While it runs, every other command (status, run, connector ...) goes through
it, since it holds the database.`,
		Example: `  neurons-connector serve
  neurons-connector serve --env-file /etc/neurons-connector/neurons-connector.env`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := a.useTestClock(); err != nil {
				return err
			}
			return a.serve(cmd.Context())
		}),
	}
	cmd.Flags().StringVar(&envFile, "env-file", "", "read settings from `FILE` (NAME=value lines; the environment wins)")
	return cmd
}

// useTestClock installs the clock NC_TEST_CLOCK asks for.
func (a *app) useTestClock() error {
	v, ok := a.lookup(testClockVar)
	if !ok || v == "" {
		return nil
	}
	at, speed, _ := strings.Cut(v, "*")
	start, err := time.Parse(time.RFC3339, at)
	n, serr := strconv.ParseFloat(speed, 64)
	if err != nil || serr != nil || n < 1 {
		return usagef("%s: %q is not START*SPEED, e.g. 2026-06-01T01:59:00Z*60 (a test setting; unset it)", testClockVar, v)
	}
	a.clk = clock.NewScaled(start, n)
	a.now = a.clk.Now
	return nil
}

// serve runs the daemon through kardianos/service: under the service
// manager it answers its stop requests; in a terminal (or a test) the
// signal context of main stops it, with no second signal handler.
func (a *app) serve(ctx context.Context) error {
	prg := &service.Program{Run: a.runDaemon}
	if ksvc.Interactive() {
		a.log = a.newLogger(nil)
		if err := prg.Start(nil); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-prg.Done():
		}
		return prg.Stop(nil)
	}
	cfg := a.installConfig("")
	cfg.Option["RunWait"] = func() {
		select {
		case <-ctx.Done():
		case <-prg.Done():
		}
	}
	s, err := ksvc.New(prg, cfg)
	if err != nil {
		return err
	}
	var sysLog ksvc.Logger
	if service.TeeToSystemLog { // only where stderr reaches no log (Windows)
		if sysLog, err = s.Logger(nil); err != nil {
			return fmt.Errorf("open the system log: %w", err)
		}
	}
	a.log = a.newLogger(sysLog)
	if runtime.GOOS == "windows" {
		// The service manager restarts a service that exits; a daemon that
		// failed by itself must exit for its recovery actions to apply.
		prg.Failed = func(err error) {
			a.log.Error("daemon failed", "error", err)
			os.Exit(1)
		}
	}
	return s.Run()
}

// newLogger is the logger of settings; with sysLog (the service manager's
// log, where the platform needs it) warnings and errors are copied there.
func (a *app) newLogger(sysLog ksvc.Logger) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(a.cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(a.stderr, opts)
	if a.cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(a.stderr, opts)
	}
	if sysLog != nil && service.TeeToSystemLog {
		h = service.Tee(h, sysLog)
	}
	return slog.New(h)
}

// installConfig is the service's configuration; envFile empty means the
// platform's default settings file.
func (a *app) installConfig(envFile string) *ksvc.Config {
	exe, err := os.Executable()
	if err == nil {
		exe, _ = filepath.Abs(exe)
	}
	if envFile == "" {
		envFile = a.defaultEnvFile()
	}
	return service.Install{Executable: exe, EnvFile: envFile}.Config()
}

func (a *app) defaultEnvFile() string {
	return service.DefaultEnvFile(func(k string) string { v, _ := a.lookup(k); return v })
}

func (a *app) serviceCmd() *cobra.Command {
	var envFile string
	install := &cobra.Command{
		Use:   "install [--env-file FILE]",
		Short: "Install the service (systemd unit or Windows service); it starts at boot",
		Long: `Install neurons-connector as a service that runs "serve" at boot and is restarted
after a failure (systemd: Restart=on-failure; Windows: recovery action restart
after 10 s). The service reads its settings from an environment file readable by
its account only (default ` + "`" + `/etc/neurons-connector/neurons-connector.env` + "`" + ` on Linux,
%ProgramData%\neurons-connector\neurons-connector.env on Windows). If the file does
not exist it is created, with the NC_* settings of this shell filled in and the
others commented out: secrets go there, never into the unit or the registry.
Needs root / an elevated prompt.`,
		Example: `  sudo -E neurons-connector service install && sudo neurons-connector service start`,
		Args:    needArgs(0, "no arguments"),
		RunE: action(func(*cobra.Command, []string) error {
			if envFile == "" {
				envFile = a.defaultEnvFile()
			}
			abs, err := filepath.Abs(envFile)
			if err != nil {
				return usagef("--env-file: %v", err)
			}
			created, err := service.EnsureEnvFile(abs, settings.Variables(), a.lookup)
			if err != nil {
				return fmt.Errorf("write the settings file %s: %w", abs, err)
			}
			s, err := ksvc.New(&service.Program{}, a.installConfig(abs))
			if err != nil {
				return err
			}
			if err := s.Install(); err != nil {
				return fmt.Errorf("install the service (%s): %w (run as root / in an elevated prompt)", ksvc.Platform(), err)
			}
			what := "kept the existing"
			if created {
				what = "wrote the"
			}
			_, err = fmt.Fprintf(a.stdout, "Installed the %s service; %s settings file %s (edit it, then: neurons-connector service start).\n",
				service.Name, what, abs)
			return err
		}),
	}
	install.Flags().StringVar(&envFile, "env-file", "", "the service's settings `FILE` (default: the platform's, see above)")
	control := func(action, short string) *cobra.Command {
		return &cobra.Command{
			Use:         action,
			Short:       short,
			Args:        needArgs(0, "no arguments"),
			Annotations: map[string]string{skipSettings: "yes"},
			RunE: action2(func() error {
				s, err := a.installed()
				if err != nil {
					return err
				}
				if err := ksvc.Control(s, action); err != nil {
					return fmt.Errorf("%s the service (%s): %w (run as root / in an elevated prompt)", action, ksvc.Platform(), err)
				}
				_, err = fmt.Fprintf(a.stdout, "Service %s: %s done.\n", service.Name, action)
				return err
			}),
		}
	}
	status := &cobra.Command{
		Use:         "status",
		Short:       "Say whether the service is installed and running",
		Args:        needArgs(0, "no arguments"),
		Annotations: map[string]string{skipSettings: "yes"},
		RunE: action2(func() error {
			s, err := a.installed()
			if err != nil {
				return err
			}
			st, err := s.Status()
			if errors.Is(err, ksvc.ErrNotInstalled) {
				_, err = fmt.Fprintln(a.stdout, "not installed (install with: neurons-connector service install)")
				return err
			}
			if err != nil {
				return fmt.Errorf("read the service's status from %s: %w; is that the host's service manager, and is it running?", ksvc.Platform(), err)
			}
			state := map[ksvc.Status]string{ksvc.StatusRunning: "running", ksvc.StatusStopped: "stopped"}[st]
			if state == "" {
				state = "unknown"
			}
			_, err = fmt.Fprintln(a.stdout, state)
			return err
		}),
	}
	return group("service", "Install, remove, start and stop the OS service", install,
		control("uninstall", "Remove the service (the data directory and settings file stay)"),
		control("start", "Start the installed service"),
		control("stop", "Stop the service (it finishes the page in hand and closes the database)"),
		control("restart", "Restart the service"),
		status)
}

// installed is the service as the OS service manager knows it, for the
// commands that control it.
func (a *app) installed() (ksvc.Service, error) {
	return ksvc.New(&service.Program{}, a.installConfig(""))
}

// action2 adapts a function without arguments to action.
func action2(fn func() error) func(*cobra.Command, []string) error {
	return action(func(*cobra.Command, []string) error { return fn() })
}
