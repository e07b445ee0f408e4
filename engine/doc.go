// Package engine owns a connector run: fetch pages from a provider, map each
// user, diff against the snapshot, write the outbox and cursor in one
// transaction, hold or pass the run's deletes (the deletion guard), and push
// the outbox to the sink in order (the pusher, Deliver). It also owns the
// scheduler, the Provider contract with its optional parts (provider.go),
// and Driver, a provider's Spec with its constructor (driver.go). It never
// knows a provider's wire format, and decides on failures from their
// classes in package fault alone.
package engine
