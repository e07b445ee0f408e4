// Command neurons-connector runs Okta and OneLogin user connectors for the
// Ivanti Neurons platform. This file only wires the process: the signal
// context, the embedded mapping tables, the garbage collector's defaults;
// the commands live in package cli, the daemon in package daemon.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"
	_ "time/tzdata" // --time-zone must work on hosts without a zoneinfo database (Windows)

	"golang.org/x/term"

	"neurons-connector/cli"
	"neurons-connector/engine"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
	"neurons-connector/service"
)

// drivers are the identity providers this program connects to. A new
// provider is a package with a Driver, added here.
var drivers = engine.Drivers{okta.Driver, onelogin.Driver}

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// The built-in mapping tables and the target catalog.
//
//go:embed mappings/*.csv
var mappings embed.FS

// Garbage collector defaults, unless GOGC or GOMEMLIMIT say otherwise: a
// sync allocates mostly short-lived decoded JSON, so collecting at 300 %
// heap growth saves about a fifth of a full run's CPU (measured with
// `neurons-connector bench`); the soft limit makes the collector work
// harder instead of letting a large tenant's heap grow past it.
const (
	defaultGCPercent   = 300
	defaultMemoryLimit = 128 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	tables, err := fs.Sub(mappings, "mappings")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	stopProfile := startProfile(os.Getenv("NC_CPU_PROFILE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stderr, journal := service.Journal(os.Stderr, os.Getenv)
	code := cli.Run(ctx, os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: stderr, Journal: journal,
		Lookup: os.LookupEnv, Setenv: os.Setenv, Environ: os.Environ, Now: time.Now, Local: time.Local, Tables: tables, Drivers: drivers, Version: version,
		StdinTerminal: func() (int, bool) {
			fd := int(os.Stdin.Fd())
			return fd, term.IsTerminal(fd)
		},
	})
	stop()
	stopProfile()
	os.Exit(code)
}

// startProfile writes a CPU profile of this process to path (for `go tool
// pprof`), when set: how a run's CPU time was measured and halved (README,
// Performance). A profile that cannot be started is said on stderr and
// the command runs as usual.
func startProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path) //nolint:gosec // G304: a path the admin gives for the profile
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "neurons-connector: NC_CPU_PROFILE: %v; running without a profile\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
