package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"neurons-connector/internal/private"

	ksvc "github.com/kardianos/service"
)

// Install describes the service an admin installs.
type Install struct {
	Executable string // absolute path of this binary
	EnvFile    string // the settings file the service reads
}

// Recovery settings of the Windows service: restart 10 s after a failure,
// and count failures afresh after a day without one. kardianos/service sets
// no recovery actions unless told, so they are given explicitly.
const (
	windowsOnFailure      = "restart"
	windowsOnFailureDelay = "10s"
	windowsResetPeriod    = 24 * 60 * 60
)

// Config is the kardianos/service configuration of the service. Secrets
// never appear in it: the service reads its settings from the environment
// file, whose path is its only argument besides "serve".
func (in Install) Config() *ksvc.Config {
	return &ksvc.Config{
		Name:        Name,
		DisplayName: "Ivanti Neurons connector",
		Description: "Syncs users from Okta and OneLogin into Ivanti Neurons (neurons-connector serve).",
		Executable:  in.Executable,
		Arguments:   []string{"serve", "--env-file", in.EnvFile},
		Option: ksvc.KeyValue{
			"SystemdScript":          in.SystemdUnit(),
			"OnFailure":              windowsOnFailure,
			"OnFailureDelayDuration": windowsOnFailureDelay,
			"OnFailureResetPeriod":   windowsResetPeriod,
			"StartType":              "automatic",
			"DelayedAutoStart":       true, // after the network is up at boot
		},
	}
}

// SystemdUnit is the unit file installed on Linux. It is rendered here in
// full (kardianos/service's template engine leaves text without actions as
// it is), so that the test reads exactly what is installed.
func (in Install) SystemdUnit() string {
	return strings.Join([]string{
		"[Unit]",
		"Description=Ivanti Neurons connector: syncs Okta and OneLogin users into Neurons",
		"Wants=network-online.target",
		"After=network-online.target",
		"StartLimitIntervalSec=600",
		"StartLimitBurst=5",
		"",
		"[Service]",
		"Type=simple",
		"ExecStart=" + systemdQuote(in.Executable) + " serve --env-file " + systemdQuote(in.EnvFile),
		"Restart=on-failure",
		"RestartSec=10s",
		"TimeoutStopSec=10s",
		"UMask=0077",
		"NoNewPrivileges=yes",
		"PrivateTmp=yes",
		"ProtectSystem=full",
		"ProtectHome=read-only",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
		"",
	}, "\n")
}

// systemdQuote quotes a path for ExecStart when it needs it.
func systemdQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$%") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// EnsureEnvFile creates the settings file if it does not exist: readable by
// its owner (the service account) only, one line per setting, those set in
// the installing environment filled in and the others commented out. An
// existing file is left as it is. It reports whether it created the file.
func EnsureEnvFile(path string, names []string, lookup func(string) (string, bool)) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	var b strings.Builder
	b.WriteString("# Settings of the neurons-connector service (see `neurons-connector --help`).\n")
	b.WriteString("# Readable only by the service's account: it may hold secrets.\n")
	for _, n := range names {
		v, ok := lookup(n)
		if !ok || v == "" {
			fmt.Fprintf(&b, "# %s=\n", n)
			continue
		}
		line, err := formatEnv(n, v)
		if err != nil {
			return false, err
		}
		b.WriteString(line + "\n")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, private.Restrict(path, false)
}

// LoadEnvFile reads a settings file. It refuses one that other accounts can
// read, since it may hold the Neurons client secret.
func LoadEnvFile(path string) (map[string]string, error) {
	if err := private.Check(path, private.Secret); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("settings file %s does not exist", path)
		}
		return nil, fmt.Errorf("settings file: %w", err)
	}
	m, err := readEnvFile(path)
	if err != nil {
		return nil, fmt.Errorf("settings file %s: %w", path, err)
	}
	return m, nil
}
