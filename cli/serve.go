package cli

import (
	"context"
	"os"
	"path/filepath"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"

	"neurons-connector/daemon"
	"neurons-connector/service"
)

func (t *tree) serveCmd() *cobra.Command {
	var envFile string
	cmd := &cobra.Command{
		Use:   "serve [--env-file FILE]",
		Short: "Run the daemon in the foreground: every connector on its schedule",
		Long: `Run the daemon: every connector of this server (NC_SERVER_NAME) on its schedule,
each on its own. The command line reaches it through its local socket in the data
directory (a named pipe on Windows), which only the daemon's own user and root (on
Windows: SYSTEM, administrators and the service's account) may use; NC_LISTEN
serves /healthz and the Prometheus /metrics, read-only, with no token. This is
what the installed service runs; run it in a terminal to watch it work. Ctrl-C or
SIGTERM stops it: the page being committed is finished, what the sink accepts
within a few seconds is delivered, and the database is closed.

While it runs, every other command (status, run, connector ...) goes through
it, since it holds the database.`,
		Example: `  neurons-connector serve
  neurons-connector serve --env-file /etc/neurons-connector/neurons-connector.env`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			s := t.s
			return service.Serve(cmd.Context(), t.install(""), func(ctx context.Context, sysLog service.SystemLogger) error {
				log := newLogger(t.env.Stderr, s.cfg, sysLog, t.env.Journal)
				err := daemon.Run(ctx, daemon.Config{DataDir: s.cfg.DataDir, Listen: s.cfg.Listen, Server: s.cfg.ServerName,
					Sink: s.cfg.Sink, Version: t.env.Version, Key: keyFunc(s.cfg), Clock: s.clk, Local: t.env.Local, Log: log,
					Backend: s.local(t.env, log), Notify: func(state string) {
						// systemd's unit is Type=notify: without READY=1 it counts the
						// start as failed once its timeout passes.
						if _, err := sddaemon.SdNotify(false, state); err != nil {
							log.Warn("cannot tell systemd the daemon's state (NOTIFY_SOCKET)", "error", err)
						}
					}})
				if err != nil {
					log.Error("daemon failed", "error", err)
				}
				return err
			})
		}),
	}
	cmd.Flags().StringVar(&envFile, "env-file", "", "read settings from `FILE` (NAME=value lines; the environment wins)")
	return declare(cmd, needsSettings)
}

// install is the service as installed; envFile empty means the platform's
// default settings file.
func (t *tree) install(envFile string) service.Install {
	exe, err := os.Executable()
	if err == nil {
		exe, _ = filepath.Abs(exe)
	}
	if envFile == "" {
		envFile = t.defaultEnvFile()
	}
	return service.Install{Executable: exe, EnvFile: envFile}
}

func (t *tree) defaultEnvFile() string {
	return service.DefaultEnvFile(func(k string) string { v, _ := t.env.Lookup(k); return v })
}
