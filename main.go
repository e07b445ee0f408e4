// Command neurons-connector runs Okta and OneLogin user connectors for the
// Ivanti Neurons platform: it keeps their configuration in a local bbolt
// database and (as the engine lands) syncs users into Neurons. This file
// wires the process; the command tree lives in the cmd_*.go files.
package main

import (
	"context"
	"embed"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // --time-zone must work on hosts without a zoneinfo database (Windows)

	"golang.org/x/term"
)

// Garbage collector defaults, unless GOGC or GOMEMLIMIT say otherwise. A
// sync allocates mostly short-lived decoded JSON, so collecting at 300 %
// heap growth instead of Go's 100 % saves about a fifth of a full run's CPU
// (measured with `neurons-connector bench`); the soft memory limit makes
// the collector work harder instead of letting a large tenant's heap grow
// past it.
const (
	defaultGCPercent   = 300
	defaultMemoryLimit = 128 << 20
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// builtinMappings holds the default mapping tables and the target catalog.
//
//go:embed mappings/*.csv
var builtinMappings embed.FS

// builtinTables is mappings/ as the root of a file system.
func builtinTables() fs.FS {
	sub, err := fs.Sub(builtinMappings, "mappings")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		lookup:   os.LookupEnv,
		now:      time.Now,
		mappings: builtinTables(),
		local:    time.Local,
		stdinTerminal: func() (int, bool) {
			fd := int(os.Stdin.Fd())
			return fd, term.IsTerminal(fd)
		},
	})
	stop()
	os.Exit(code)
}
