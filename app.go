package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/mapping"
	"neurons-connector/secret"
	"neurons-connector/service"
	"neurons-connector/settings"
	"neurons-connector/store"
)

// app is everything a command touches outside the process, injected so that
// tests run the real command tree against a temporary data directory.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	now            func() time.Time
	local          *time.Location
	mappings       fs.FS // the built-in tables and targets.csv
	// stdinTerminal reports whether stdin is an interactive terminal and its
	// descriptor, for reading a secret without echo.
	stdinTerminal func() (fd int, ok bool)

	dataDirFlag string
	cfg         settings.Settings
	log         *slog.Logger // see logger
	clk         clock.Clock  // see clock

	// inDaemon is set on the app that runs a command for the CLI inside the
	// daemon: the database is the daemon's, runs go through its scheduler.
	inDaemon *daemon
	// skipDB makes a command that only takes hints from the database (mapping
	// check) do without, because a daemon holds it.
	skipDB bool
}

// clock tells a.now's time and sleeps in real time, unless NC_TEST_CLOCK
// installed a scaled one.
func (a *app) clock() clock.Clock {
	if a.clk == nil {
		a.clk = nowClock{now: a.now}
	}
	return a.clk
}

type nowClock struct {
	clock.Real
	now func() time.Time
}

func (c nowClock) Now() time.Time { return c.now() }

// keyFileName is the sealing key's name inside the data directory.
const keyFileName = "secret.key"

// exitError carries the exit code of product.md §2: 1 the operation failed,
// 2 bad usage or invalid input (nothing was changed).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usagef reports bad usage or invalid input: exit code 2.
func usagef(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// run executes one command line and returns the process's exit code.
func run(ctx context.Context, args []string, a *app) int {
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var re *remoteExit
	if errors.As(err, &re) {
		return re.code
	}
	code := 2 // errors raised by cobra itself are usage errors
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	var se *settings.Error
	var mp mapping.Problems
	if errors.As(err, &se) || errors.As(err, &mp) {
		// Several problems, each on its own line naming its variable or FILE:LINE.
		fmt.Fprintln(a.stderr, "neurons-connector: "+err.Error())
		return code
	}
	fmt.Fprintln(a.stderr, "neurons-connector: "+oneLine(err.Error()))
	return code
}

// oneLine folds cobra's multi-line messages ("Did you mean this?") into one.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n\nDid you mean this?\n\t", "; did you mean: ")
	s = strings.ReplaceAll(s, "\n\t", ", ")
	return strings.ReplaceAll(s, "\n", " ")
}

// action wraps a command's work: an error it does not classify is an
// operation failure (exit 1).
func action(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return &exitError{code: 1, err: err}
	}
}

// loadSettings decodes the environment once per process, before any command
// that needs it runs.
func (a *app) loadSettings(ctx context.Context) error {
	getenv := func(k string) string { v, _ := a.lookup(k); return v }
	def, err := service.DefaultDataDir(getenv, service.CurrentUID())
	if err != nil {
		def = "" // reported by Load as an empty NC_DATA_DIR, with the fix
	}
	a.cfg, err = settings.Load(ctx, envconfig.LookuperFunc(a.lookup),
		settings.Overrides{DataDir: a.dataDirFlag, DefaultDataDir: def})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}

// keyFunc finds the sealing key: NC_SECRET_KEY, else the key file in the data
// directory (created with the first secret).
func (a *app) keyFunc() store.KeyFunc {
	return func(create bool) (*secret.Sealer, error) {
		if a.cfg.SecretKey.IsSet() {
			return secret.ParseKey(string(a.cfg.SecretKey.Reveal()))
		}
		return secret.LoadKeyFile(filepath.Join(a.cfg.DataDir, keyFileName), create)
	}
}

// openStore opens the database. Only commands that create something pass
// create; the others get store.ErrNoDatabase on a fresh host and treat it as
// "no connectors yet", so that looking never writes.
func (a *app) openStore(create bool) (*store.DB, error) {
	if a.inDaemon != nil {
		return a.inDaemon.db.Borrow(), nil
	}
	if a.skipDB {
		return nil, store.ErrNoDatabase
	}
	if create {
		if err := service.PrepareDataDir(a.cfg.DataDir); err != nil {
			return nil, fmt.Errorf("prepare data directory: %w", err)
		}
	}
	return store.Open(store.PathIn(a.cfg.DataDir), store.Options{Create: create, Key: a.keyFunc()})
}

// view runs fn in a read transaction; with no database yet it runs fn with a
// nil transaction, meaning "nothing stored".
func (a *app) view(fn func(tx *store.Tx) error) error {
	db, err := a.openStore(false)
	if errors.Is(err, store.ErrNoDatabase) {
		return fn(nil)
	}
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.View(fn)
}

// update runs fn in one write transaction: a command's writes land together
// or not at all.
func (a *app) update(create bool, fn func(tx *store.Tx) error) error {
	db, err := a.openStore(create)
	if errors.Is(err, store.ErrNoDatabase) {
		return fn(nil)
	}
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.Update(fn)
}

// openConnector opens the database and finds the named connector and, with
// withSecret, opens its secret. The caller closes the database.
func (a *app) openConnector(name string, withSecret bool) (*store.DB, connector.Config, secret.Value, error) {
	var c connector.Config
	var sec secret.Value
	db, err := a.openStore(false)
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, c, sec, unknownConnector(name)
	}
	if err != nil {
		return nil, c, sec, err
	}
	err = db.View(func(tx *store.Tx) error {
		var err error
		if c, err = findConnector(tx, name); err != nil || !withSecret {
			return err
		}
		sec, err = tx.Secret(c.ID, secretName(c.Kind))
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, c, sec, err
	}
	return db, c, sec, nil
}

// readStdin reads a secret from standard input, without echo on a terminal.
func (a *app) readStdin(prompt string) (secret.Value, error) {
	if fd, ok := a.stdinTerminal(); ok {
		fmt.Fprint(a.stderr, prompt+": ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return secret.Value{}, fmt.Errorf("read %s: %w", prompt, err)
		}
		return secret.FromReader(strings.NewReader(string(b)))
	}
	return secret.FromReader(a.stdin)
}
