package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/service"
)

func (t *tree) serviceCmd() *cobra.Command {
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
				envFile = t.defaultEnvFile()
			}
			abs, err := filepath.Abs(envFile)
			if err != nil {
				return usagef("--env-file: %v", err)
			}
			if err := service.CheckInstall(t.install(abs), t.installSettings(abs)); err != nil {
				return usagef("%v", err) // nothing written yet
			}
			created, err := service.EnsureEnvFile(abs, settingsFileNames(), t.env.Lookup)
			if err != nil {
				return fmt.Errorf("write the settings file %s: %w", abs, err)
			}
			env, err := service.LoadEnvFile(abs)
			if err != nil {
				return err
			}
			in := t.install(abs)
			notes, err := service.PrepareInstall(&in, env)
			if err != nil {
				return err
			}
			if err := service.InstallService(in); err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(t.env.Stdout, strings.ToUpper(n[:1])+n[1:]+".")
			}
			what := "kept the existing"
			if created {
				what = "wrote the"
			}
			_, err = fmt.Fprintf(t.env.Stdout, "Installed the %s service; %s settings file %s (edit it, then: neurons-connector service start).\n",
				service.Name, what, abs)
			return err
		}),
	}
	install.Flags().StringVar(&envFile, "env-file", "", "the service's settings `FILE` (default: the platform's, see above)")
	// control is a command that acts on the installed service through do,
	// which returns the line that says how it went.
	control := func(verb, short, long string, do func(context.Context, service.Install) (string, error)) *cobra.Command {
		return declare(&cobra.Command{
			Use:   verb,
			Short: short,
			Long:  long,
			Args:  needArgs(0, "no arguments"),
			RunE: action(func(cmd *cobra.Command, _ []string) error {
				line, err := do(cmd.Context(), t.install(""))
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(t.env.Stdout, line)
				return err
			}),
		}, needsNothing)
	}
	// startOr is start or restart: a start that fails is the operation
	// failing (exit 1), with its reason.
	startOr := func(verb string) func(context.Context, service.Install) (string, error) {
		return func(ctx context.Context, in service.Install) (string, error) {
			line, err := service.Start(ctx, in, verb)
			if err != nil {
				return "", &opError{err: err}
			}
			return line, nil
		}
	}
	stop := func(_ context.Context, in service.Install) (string, error) {
		if err := service.Control(in, "stop"); err != nil {
			return "", err
		}
		return fmt.Sprintf("Service %s: stop done.", service.Name), nil
	}
	startLong := func(what string) string {
		return what + ` and wait until it is up. With systemd that is when the daemon
says it is ready: it has read its settings, holds its database and answers on its
socket (the unit is Type=notify); a start that fails says why, from the unit's log
(journalctl -u neurons-connector), with exit code 1. A unit that failed too often
is let start again, and one waiting to restart after a failure restarts at once.
On Windows the service must still run a few seconds after the start; a service that
stops says why in the Application event log.`
	}
	status := declare(&cobra.Command{
		Use:   "status",
		Short: "Say whether the service is installed and running, and why not",
		Long: `Say whether the service is installed and running. With systemd, running means
the daemon said it is ready, with what it serves; a service that stopped at start
and restarts every 10 s, or that systemd gave up on, says so with the line of its
log that says why.`,
		Args: needArgs(0, "no arguments"),
		RunE: action2(func() error {
			state, err := service.State(t.install(""))
			if errors.Is(err, service.ErrNotInstalled) {
				_, err = fmt.Fprintln(t.env.Stdout, "not installed (install with: neurons-connector service install)")
				return err
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(t.env.Stdout, state)
			return err
		}),
	}, needsNothing)
	return group("service", "Install, remove, start and stop the OS service", declare(install, needsSettings),
		control("uninstall", "Stop and remove the service (the data directory and settings file stay)", "", service.Uninstall),
		control("start", "Start the installed service and wait until the daemon is ready", startLong("Start the installed service"), startOr("start")),
		control("stop", "Stop the service (it finishes the page in hand and closes the database)", "", stop),
		control("restart", "Restart the service and wait until the daemon is ready", startLong("Restart the service"), startOr("restart")),
		status)
}

// installSettings are the settings the service will have, as far as
// CheckInstall needs them: the settings file's when there is one (install
// keeps it), else those of the installing shell, which a new file takes.
func (t *tree) installSettings(envFile string) map[string]string {
	if vars, err := service.LoadEnvFile(envFile); err == nil {
		return vars
	}
	vars := map[string]string{}
	for _, k := range []string{"NC_DATA_DIR", "NC_CSV_DIR"} {
		if v, ok := t.env.Lookup(k); ok {
			vars[k] = v
		}
	}
	return vars
}

// action2 adapts a function without arguments to action.
func action2(fn func() error) func(*cobra.Command, []string) error {
	return action(func(*cobra.Command, []string) error { return fn() })
}
