//go:build !windows

package service

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// PrepareInstall readies the host for the service in: on Linux with
// systemd, the system account it runs as (created if missing), its data
// directory and CSV drop folder, and its settings file, all handed over to
// that account; env are the settings file's values. It returns what it did
// that an admin should know. Elsewhere (launchd) the service runs as root,
// as before.
func PrepareInstall(in *Install, env map[string]string) ([]string, error) {
	if runtime.GOOS != "linux" || Platform() != "linux-systemd" {
		return nil, nil
	}
	dataDir := env["NC_DATA_DIR"]
	if dataDir == "" {
		dataDir = DefaultDataDirUnix
	}
	acct, err := EnsureAccount(dataDir)
	if err != nil {
		return nil, err
	}
	in.User, in.DataDir = acct.Name, dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", dataDir, err)
	}
	var notes []string
	paths := []string{dataDir, in.EnvFile}
	if csv := env["NC_CSV_DIR"]; csv != "" && !within(csv, dataDir) {
		in.Writable = append(in.Writable, csv)
		paths = append(paths, csv)
	}
	for _, p := range paths {
		changed, err := HandOver(p, acct)
		if err != nil {
			return nil, fmt.Errorf("give %s to the %s account: %w", p, acct.Name, err)
		}
		if changed && p != in.EnvFile {
			notes = append(notes, fmt.Sprintf("handed %s over to the %s account (an earlier version ran the service as root)", p, acct.Name))
		}
	}
	return notes, nil
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
