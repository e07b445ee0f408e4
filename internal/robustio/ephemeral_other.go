//go:build !windows

package robustio

// ephemeral is false: elsewhere a rename does not fail for a moment.
func ephemeral(error) bool { return false }
