// Package robustio renames files the way Windows needs: an antivirus
// scanner or the search indexer opens a file just written, without
// sharing its deletion, and a rename into or over it then fails for a
// moment with "Access is denied" or a sharing violation. Go's own tools
// retry such errors for about two seconds (cmd/go/internal/robustio);
// the connector's atomic writes (the CSV drop, the pipe's name, mapping
// exports, salvage and restore) do likewise. Elsewhere a rename is
// os.Rename.
package robustio

import (
	"math/rand/v2"
	"os"
	"time"
)

// Patience is how long a rename keeps retrying an error that may pass: a
// scanner holds a file for milliseconds, Excel for as long as it shows it,
// which the caller then names.
const Patience = 2 * time.Second

// Rename is os.Rename, retried on Windows while it fails in a way a
// scanner's brief hold causes, for up to Patience; the last error then.
func Rename(from, to string) error {
	return retry(func() error { return os.Rename(from, to) }, ephemeral, Patience, time.Sleep)
}

// retry calls f until it succeeds, fails in a way mayPass does not
// excuse, or patience is spent, sleeping between calls (a millisecond,
// then growing by up to half again with jitter).
func retry(f func() error, mayPass func(error) bool, patience time.Duration, sleep func(time.Duration)) error {
	var spent time.Duration
	pause := time.Millisecond
	for {
		err := f()
		if err == nil || !mayPass(err) || spent+pause > patience {
			return err
		}
		sleep(pause)
		spent += pause
		pause += time.Duration(rand.Int64N(int64(pause)/2 + 1)) //nolint:gosec // G404: jitter, not a secret
	}
}
