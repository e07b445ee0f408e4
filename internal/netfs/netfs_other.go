//go:build !linux && !darwin && !windows

package netfs

func of(string) (string, bool) { return "", false }
