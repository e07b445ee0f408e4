// Package engine will own a connector run: fetch pages from a provider, map
// each user, diff against the snapshot, write the outbox and cursor in one
// transaction, and push to the sink in order. It also owns the scheduler and
// the classification of errors into transient, permanent and configuration
// failures. It never knows a provider's wire format.
//
// The package is empty until the sync engine lands; see the README's
// architecture section for the plan.
package engine
