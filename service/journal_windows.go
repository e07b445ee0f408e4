//go:build windows

package service

import "os"

// streamID: there is no journal on Windows.
func streamID(*os.File) (string, bool) { return "", false }
