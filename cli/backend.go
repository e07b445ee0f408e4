package cli

import (
	"neurons-connector/api"
	"neurons-connector/control"
	"neurons-connector/local"
)

// Backend is where a command's requests go (api.Backend): the database
// itself, or the daemon that holds it; session.connect picks one.
type Backend = api.Backend

// The two implementations, checked by the compiler.
var (
	_ Backend = (*local.Backend)(nil)
	_ Backend = (*control.Client)(nil)
)
