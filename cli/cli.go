// Package cli is the command layer: the cobra command tree of product.md
// §2, one file per command group. Every command that touches connectors is
// written once against Backend, which is either the local database or the
// running daemon (over its local socket); which commands need one is
// declared on the command (see needsBackend) and decided in one place,
// before the command runs. Commands get their settings, logger, clock and
// backend from a session computed once per invocation.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"neurons-connector/api"
	"neurons-connector/control"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/mapping"
	"neurons-connector/service"
	"neurons-connector/settings"
)

// Env is what the program takes from its process; main builds it once.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Journal says that Stderr goes to systemd's journal, which stamps
	// each line itself: log lines leave their time out (service.Journal
	// puts each line's priority in front of it).
	Journal bool
	Lookup  func(string) (string, bool)
	// Environ lists the environment as NAME=value (os.Environ), to warn
	// of a setting misspelt there; nil skips the check.
	Environ func() []string
	Now     func() time.Time
	Local   *time.Location
	Tables  fs.FS // the built-in mapping tables and targets.csv
	// Drivers are the supported provider kinds, in the order help lists
	// them; nothing in this package names a kind otherwise.
	Drivers engine.Drivers
	// StdinTerminal reports whether stdin is an interactive terminal and
	// its descriptor, for reading a secret without echo.
	StdinTerminal func() (fd int, ok bool)
	Version       string
	// Setenv sets a variable of the process's environment: the proxy and
	// CA variables of a settings file (networkVariables), which Go's HTTP
	// client and TLS verification read there. Nil sets nothing.
	Setenv func(key, value string) error
	// SettingsFile is the service's settings file that commands on its
	// data directory read; empty for the platform's (service install's).
	// DefaultDataDir replaces the platform's default data directory (tests:
	// a command given none never touches the host's).
	SettingsFile, DefaultDataDir string
	// NetworkFS says whether a folder is on a network file system (nil:
	// netfs.Of); tests pretend the data directory is on one.
	NetworkFS func(dir string) (kind string, remote bool)
}

// Run executes one command line and returns the process's exit code
// (product.md §2): 0 success, 1 the operation failed, 2 bad usage or
// invalid input (nothing was changed).
func Run(ctx context.Context, args []string, env Env) int {
	if env.StdinTerminal == nil {
		env.StdinTerminal = func() (int, bool) { return 0, false }
	}
	if env.Version == "" {
		env.Version = "dev"
	}
	if len(env.Drivers) == 0 { // a wiring mistake, not the admin's
		fmt.Fprintln(env.Stderr, "neurons-connector: built without provider drivers")
		return 1
	}
	// A progress line ends before a log line; what either stream prints of
	// text from elsewhere is inert on a terminal (inertWriter).
	env.Stderr = newLineWriter(env.Stderr)
	env.Stdout = inertWriter{env.Stdout}
	t := &tree{env: env}
	root := t.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if t.s != nil && t.s.backend != nil {
		_ = t.s.backend.Close()
	}
	if err == nil {
		return 0
	}
	code := 2 // errors raised by cobra itself are usage errors
	var oe *opError
	if errors.As(err, &oe) {
		code = 1
	}
	if errors.Is(err, fault.ErrBadInput) {
		code = 2
	}
	var se *settings.Error
	var mp mapping.Problems
	var re *control.RemoteError
	msg := "neurons-connector: " + oneLine(err.Error())
	if errors.As(err, &se) || errors.As(err, &mp) || (errors.As(err, &re) && re.Lines) {
		// Several problems, each on its own line naming its variable or FILE:LINE.
		msg = "neurons-connector: " + err.Error()
	}
	fmt.Fprintln(env.Stderr, msg)
	if cmd, _, ferr := root.Find(args); ferr == nil && cmd.Name() == "serve" {
		service.ReportFailure(t.install(""), msg) // under the service manager, where stderr reaches no log
	}
	return code
}

// opError marks an operation that failed (exit 1).
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// usagef reports bad usage or invalid input: exit code 2.
func usagef(format string, args ...any) error { return api.BadInput(format, args...) }

// oneLine folds cobra's multi-line messages ("Did you mean this?") into one.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n\nDid you mean this?\n\t", "; did you mean: ")
	s = strings.ReplaceAll(s, "\n\t", ", ")
	return strings.ReplaceAll(s, "\n", " ")
}
