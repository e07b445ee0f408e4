// Package engine owns a connector run: fetch pages from a provider, map each
// user, diff against the snapshot, write the outbox and cursor in one
// transaction, and push to the sink in order. It also owns the scheduler and
// the classification of errors. It never knows a provider's wire format: a
// provider is anything that implements Provider.
//
// So far the package holds the contract between the engine and the
// providers (provider.go); the run itself lands with the sync engine.
package engine
