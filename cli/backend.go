package cli

import (
	"context"

	"neurons-connector/api"
	"neurons-connector/control"
	"neurons-connector/local"
)

// Backend is everything the commands ask of the connectors' store. It has
// two implementations: local.Backend, on the database file, and
// control.Client, on the daemon that holds it; session.connect picks one.
// Every request is typed: a secret travels as the bytes the command read,
// a table comes back as content the command writes itself.
type Backend interface {
	Add(ctx context.Context, req api.AddRequest) (api.Connector, error)
	Edit(ctx context.Context, req api.EditRequest) (api.Connector, error)
	Remove(ctx context.Context, req api.RemoveRequest) (api.Removed, error)
	List(ctx context.Context) ([]api.Connector, error)
	Show(ctx context.Context, name string) (api.Connector, error)
	Test(ctx context.Context, name string) (string, error)
	Run(ctx context.Context, req api.RunRequest, events func(api.Event)) (api.RunResult, error)
	Status(ctx context.Context, name string) ([]api.Status, error)
	Export(ctx context.Context, target string) (api.Table, error)
	Close() error
}

// The two implementations, checked by the compiler.
var (
	_ Backend = (*local.Backend)(nil)
	_ Backend = (*control.Client)(nil)
)
