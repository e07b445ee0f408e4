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
	// User is the account the service runs as: the system account on
	// Linux, NT SERVICE\neurons-connector on Windows.
	User string
	// DataDir is the service's data directory, and Writable the other
	// folders it writes (the CSV drop), the only ones the Linux unit lets
	// it write.
	DataDir  string
	Writable []string
}

// WindowsUser is the virtual account of the Windows service: its own SID,
// no password, no rights beyond what the data folder's ACL gives it.
const WindowsUser = `NT SERVICE\` + Name

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
		UserName:    in.windowsUser(),
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

// windowsUser is the account kardianos/service gives Windows; the Linux
// unit is rendered here and names its user itself.
func (in Install) windowsUser() string {
	if in.User == WindowsUser {
		return in.User
	}
	return ""
}

// DefaultDataDirUnix is where the Linux service keeps its data: systemd's
// StateDirectory, created for the service's account.
const DefaultDataDirUnix = "/var/lib/" + Name

// SystemdUnit is the unit file installed on Linux. It is rendered here in
// full (kardianos/service's template engine leaves text without actions as
// it is), so that the test reads exactly what is installed. The service runs
// as its own account, with no capabilities, a read-only system but for its
// data (and CSV drop) folders, and only the network families it uses.
func (in Install) SystemdUnit() string {
	lines := []string{
		"[Unit]",
		"Description=Ivanti Neurons connector: syncs Okta and OneLogin users into Neurons",
		"Wants=network-online.target",
		"After=network-online.target",
		"StartLimitIntervalSec=600",
		"StartLimitBurst=5",
		"",
		"[Service]",
		// serve says READY=1 once it holds its database and answers on its
		// socket: until then the unit is "activating", and a serve that
		// exits first fails the start instead of passing for started.
		"Type=notify",
		// A first start after an upgrade migrates the database before it is
		// ready (a copy of the file, then a transaction per schema version).
		"TimeoutStartSec=5min",
		"ExecStart=" + systemdQuote(in.Executable) + " serve --env-file " + systemdQuote(in.EnvFile),
		"Restart=on-failure",
		"RestartSec=10s",
		"TimeoutStopSec=10s",
	}
	if in.User != "" {
		lines = append(lines, "User="+in.User, "Group="+in.User)
	}
	if in.DataDir == "" || in.DataDir == DefaultDataDirUnix {
		lines = append(lines, "StateDirectory="+Name, "StateDirectoryMode=0700")
	}
	rw := []string{}
	if in.DataDir != "" {
		rw = append(rw, systemdQuote(in.DataDir))
	}
	for _, d := range in.Writable {
		rw = append(rw, "-"+systemdQuote(d)) // "-": a folder not made yet is no failure to start
	}
	if len(rw) > 0 {
		lines = append(lines, "ReadWritePaths="+strings.Join(rw, " "))
	}
	lines = append(lines,
		"UMask=0077",
		"NoNewPrivileges=yes",
		"CapabilityBoundingSet=",
		"AmbientCapabilities=",
		"ProtectSystem=strict",
		"ProtectHome=read-only",
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectControlGroups=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"RestrictSUIDSGID=yes",
		"LockPersonality=yes",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
		"",
	)
	return strings.Join(lines, "\n")
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
