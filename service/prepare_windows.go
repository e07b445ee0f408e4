//go:build windows

package service

import "os"

// PrepareInstall readies the host for the service in: it runs as the
// virtual account NT SERVICE\neurons-connector instead of LocalSystem, and
// its data folder gets the ACL that admits that account (with SYSTEM and
// Administrators) and nobody else. env are the settings file's values.
func PrepareInstall(in *Install, env map[string]string) ([]string, error) {
	in.User = WindowsUser
	dataDir := env["NC_DATA_DIR"]
	if dataDir == "" {
		var err error
		if dataDir, err = DefaultDataDir(os.Getenv, -1); err != nil {
			return nil, err
		}
	}
	in.DataDir = dataDir
	return nil, PrepareDataDir(dataDir)
}

// CheckInstall says why the service, once installed, could not start; on
// Windows the service's account may run a binary anywhere an administrator
// installs from.
func CheckInstall(Install, map[string]string) error { return nil }

// RepairInstall mends what an earlier version's install left that keeps
// the service from starting; nothing on Windows.
func RepairInstall(Install) []string { return nil }
