package engine

import (
	"log/slog"
	"time"

	"neurons-connector/connector"
	"neurons-connector/secret"
)

// A Driver is one kind of provider as the program knows it: the Spec that
// the commands, the connector rules and the mapping tables read, and how to
// open a client. Each provider package exports one; main lists them, and
// nothing else names a kind. A client that can also diagnose its
// credentials implements Checker.
type Driver struct {
	Spec *connector.Spec
	Open func(OpenRequest) (Provider, error)
	// IdleLimit, if set, is how long a connector's credential may go
	// unused before the provider revokes it (Okta: an API token unused for
	// 30 days), 0 when it does not lapse: the daemon calls the provider
	// between runs that are further apart (Scheduler.IdleLimit).
	IdleLimit func(connector.Config) time.Duration
}

// OpenRequest is what a driver needs to open a connector's client.
type OpenRequest struct {
	Config    connector.Config
	Secret    secret.Value
	Log       *slog.Logger
	UserAgent string
	// DataDir is the program's private (0700) data directory, for a
	// provider's temporary files.
	DataDir string
}

// Drivers is the list of supported kinds, in the order help shows them.
type Drivers []Driver

// Specs returns the drivers' specs in order.
func (ds Drivers) Specs() connector.Specs {
	out := make(connector.Specs, len(ds))
	for i, d := range ds {
		out[i] = d.Spec
	}
	return out
}

// Find returns the driver of kind.
func (ds Drivers) Find(kind connector.Kind) (Driver, bool) {
	for _, d := range ds {
		if d.Spec.Kind == kind {
			return d, true
		}
	}
	return Driver{}, false
}
