//go:build windows

package cli

// limitFileSize has no Windows counterpart; the full-disk test runs on Unix.
func limitFileSize(string) {}
