package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/spf13/cobra"

	"neurons-connector/api"
	"neurons-connector/clock"
	"neurons-connector/control"
	"neurons-connector/engine"
	"neurons-connector/internal/egress"
	"neurons-connector/local"
	"neurons-connector/secret"
	"neurons-connector/service"
	"neurons-connector/settings"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// session is what a command runs with, computed once by prepare.
type session struct {
	lookup  func(string) (string, bool) // the environment, and serve's --env-file
	cfg     settings.Settings
	log     *slog.Logger
	clk     clock.Clock
	backend Backend // set for commands that need one
}

// testClockVar is a hidden setting for end-to-end tests: START*SPEED runs
// the clock from START (RFC 3339) at SPEED times real time, so a test sees
// a daemon's schedule slots pass in seconds.
const testClockVar = "NC_TEST_CLOCK"

// keyFileName is the sealing key's name inside the data directory.
const keyFileName = "secret.key"

// prepare computes the session of cmd from what it declared it needs.
func (t *tree) prepare(cmd *cobra.Command) (*session, error) {
	s := &session{lookup: t.env.Lookup, clk: nowClock{now: t.env.Now}}
	s.log = newLogger(t.env.Stderr, s.cfg, nil, t.env.Journal)
	needs := needsOf(cmd)
	if needs == "" {
		return s, fmt.Errorf("internal error: command %q declares nothing it needs", cmd.CommandPath())
	}
	if needs == needsNothing {
		return s, nil
	}
	lookup, warnings, err := t.withSettingsFile(cmd, t.env.Lookup)
	if err != nil {
		return s, err
	}
	s.lookup = lookup
	if s.cfg, err = t.loadSettings(cmd.Context(), lookup); err != nil {
		return s, err
	}
	// A CA file the admin named that cannot be read would otherwise show
	// only as "certificate not trusted" at the first call through the proxy.
	if err := egress.CheckEnvRoots(func(k string) string { v, _ := lookup(k); return v }); err != nil {
		return s, usagef("%v", err)
	}
	s.log = newLogger(t.env.Stderr, s.cfg, nil, t.env.Journal)
	for _, w := range append(warnings, t.misspelt()...) {
		s.log.Warn(w)
	}
	if s.clk, err = testClock(lookup, t.env.Now); err != nil {
		return s, err
	}
	if needs == needsSettings {
		return s, nil
	}
	s.backend, err = s.connect(cmd.Context(), t.env)
	switch {
	case err != nil && needs == needsHint:
		s.backend, err = nil, nil // the database is only a hint here
	case err != nil:
		err = &opError{err: err} // the daemon cannot be reached: the operation failed (exit 1)
	}
	return s, err
}

// connect is the one place that decides where a command's requests go: to
// the daemon when one answers on the data directory's socket (it holds
// the database), else to the database itself.
func (s *session) connect(ctx context.Context, env Env) (Backend, error) {
	cl, err := control.Find(ctx, s.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cl != nil {
		return cl, nil
	}
	return s.local(env, s.log), nil
}

// local is the backend on the database, with log as its logger.
func (s *session) local(env Env, log *slog.Logger) *local.Backend {
	cfg := s.cfg
	ua := "neurons-connector/" + env.Version
	return local.New(local.Config{
		DataDir: cfg.DataDir, Key: keyFunc(cfg), Server: cfg.ServerName, Tables: env.Tables, MappingsDir: cfg.MappingsDir,
		Clock: s.clk, Local: env.Local, Log: log, Drivers: env.Drivers, UserAgent: ua, LocalSink: cfg.Sink == settings.SinkCSV,
		SinkName: cfg.SinkName(), CSVDir: cfg.CSVDir, NetworkFS: env.NetworkFS,
		Sink: func(db *store.DB) (engine.Sink, error) {
			if cfg.Sink == settings.SinkCSV {
				return &sink.CSV{Dir: cfg.CSVDir, State: filepath.Join(cfg.DataDir, sink.CSVStateDir), DB: db}, nil
			}
			return sink.NewNeurons(sink.NeuronsOptions{URL: cfg.NeuronsURL, TokenURL: cfg.NeuronsTokenURL,
				ClientID: cfg.NeuronsClientID, ClientSecret: cfg.NeuronsClientSecret, Scope: cfg.NeuronsScope, UserAgent: ua})
		},
	})
}

// loadSettings decodes the environment.
func (t *tree) loadSettings(ctx context.Context, lookup func(string) (string, bool)) (settings.Settings, error) {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	def, err := service.DefaultDataDir(getenv, service.CurrentUID())
	if err != nil {
		def = "" // reported by Load as an empty NC_DATA_DIR, with the fix
	}
	if t.env.DefaultDataDir != "" {
		def = t.env.DefaultDataDir
	}
	cfg, err := settings.Load(ctx, envconfig.LookuperFunc(lookup), settings.Overrides{DataDir: t.dataDir, DefaultDataDir: def})
	if err != nil {
		return cfg, api.MarkBadInput(err)
	}
	return cfg, nil
}

// keyFunc finds the sealing key: NC_SECRET_KEY, else the key file in the
// data directory (created with the first secret).
func keyFunc(cfg settings.Settings) store.KeyFunc {
	return func(create bool) (*secret.Sealer, error) {
		if cfg.SecretKey.IsSet() {
			return secret.ParseKey(string(cfg.SecretKey.Reveal()))
		}
		return secret.LoadKeyFile(filepath.Join(cfg.DataDir, keyFileName), create)
	}
}

// testClock is the clock NC_TEST_CLOCK asks for, else the real one.
func testClock(lookup func(string) (string, bool), now func() time.Time) (clock.Clock, error) {
	v, ok := lookup(testClockVar)
	if !ok || v == "" {
		return nowClock{now: now}, nil
	}
	at, speed, _ := strings.Cut(v, "*")
	start, err := time.Parse(time.RFC3339, at)
	n, serr := strconv.ParseFloat(speed, 64)
	if err != nil || serr != nil || n < 1 {
		return nil, usagef("%s: %q is not START*SPEED, e.g. 2026-06-01T01:59:00Z*60 (a test setting; unset it)", testClockVar, v)
	}
	return clock.NewScaled(start, n), nil
}

// nowClock tells now's time and sleeps in real time.
type nowClock struct {
	clock.Real
	now func() time.Time
}

func (c nowClock) Now() time.Time { return c.now() }

// newLogger writes to w at NC_LOG_LEVEL in NC_LOG_FORMAT, without the time
// when w is systemd's journal; with sysLog
// (the service manager's log, where the platform needs it) warnings and
// errors are copied there. Every component shares its handler, whose lock
// keeps lines whole.
func newLogger(w io.Writer, cfg settings.Settings, sysLog service.SystemLogger, journal bool) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if journal { // journald stamps each line; the level comes first, for its priority
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if sysLog != nil && service.TeeToSystemLog {
		h = service.Tee(h, sysLog)
	}
	return slog.New(h)
}
