package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSystemdUnit(t *testing.T) {
	unit := Install{Executable: "/opt/neurons connector/neurons-connector", EnvFile: "/etc/neurons-connector/neurons-connector.env",
		User: "neurons-connector", DataDir: DefaultDataDirUnix, Writable: []string{"/srv/neurons drop"}}.SystemdUnit()
	for _, want := range []string{
		// Its own account, no capabilities, a read-only system but for its
		// folders, only the network families it uses.
		"User=neurons-connector\n",
		"Group=neurons-connector\n",
		"StateDirectory=neurons-connector\n",
		"StateDirectoryMode=0700\n",
		`ReadWritePaths=/var/lib/neurons-connector -"/srv/neurons drop"` + "\n",
		"ProtectSystem=strict\n",
		"CapabilityBoundingSet=\n",
		"AmbientCapabilities=\n",
		"NoNewPrivileges=yes\n",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n",
		`ExecStart="/opt/neurons connector/neurons-connector" serve --env-file /etc/neurons-connector/neurons-connector.env` + "\n",
		"Restart=on-failure\n",
		"RestartSec=10s\n",
		// Started means serve said READY=1 (TestServeTellsSystemdWhenItIsReady).
		"Type=notify\n",
		"TimeoutStartSec=5min\n",
		"TimeoutStopSec=10s\n",
		"After=network-online.target\n",
		"UMask=0077\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	// Settings (secrets among them) come from the file, never the unit; and
	// kardianos/service's template engine must find nothing to expand.
	for _, bad := range []string{"Environment=", "EnvironmentFile=", "{{", "ProtectSystem=full"} {
		if strings.Contains(unit, bad) {
			t.Errorf("unit contains %q:\n%s", bad, unit)
		}
	}
}

func TestServiceConfigSetsRecoveryExplicitly(t *testing.T) {
	cfg := Install{Executable: `C:\Program Files\neurons-connector\neurons-connector.exe`,
		EnvFile: `C:\ProgramData\neurons-connector\neurons-connector.env`, User: WindowsUser}.Config()
	if cfg.Name != Name || strings.Join(cfg.Arguments, " ") != `serve --env-file C:\ProgramData\neurons-connector\neurons-connector.env` {
		t.Errorf("name %q, arguments %q", cfg.Name, cfg.Arguments)
	}
	// A virtual account, not LocalSystem (kardianos/service's default when
	// no user is named).
	if cfg.UserName != `NT SERVICE\neurons-connector` {
		t.Errorf("the Windows service runs as %q", cfg.UserName)
	}
	want := map[string]any{"OnFailure": "restart", "OnFailureDelayDuration": "10s", "OnFailureResetPeriod": 86400, "StartType": "automatic"}
	for k, v := range want {
		if cfg.Option[k] != v {
			t.Errorf("Option[%s] = %v, want %v", k, cfg.Option[k], v)
		}
	}
	if _, err := time.ParseDuration(cfg.Option["OnFailureDelayDuration"].(string)); err != nil {
		t.Error(err)
	}
	if len(cfg.EnvVars) != 0 {
		t.Error("settings passed as service environment variables (they would land in the registry)")
	}
}

func TestEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "nc.env")
	env := map[string]string{"NC_SINK": "neurons", "NC_NEURONS_CLIENT_SECRET": `se"cr$et`}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	created, err := EnsureEnvFile(path, []string{"NC_DATA_DIR", "NC_SINK", "NC_NEURONS_CLIENT_SECRET"}, lookup)
	if err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	if runtime.GOOS != "windows" {
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
			t.Errorf("mode %v", info.Mode().Perm())
		}
	}
	got, err := LoadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["NC_SINK"] != "neurons" || got["NC_NEURONS_CLIENT_SECRET"] != `se"cr$et` {
		t.Errorf("read back %q", got)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "# NC_DATA_DIR=\n") {
		t.Errorf("unset settings are not listed as comments:\n%s", b)
	}
	// A second install keeps the admin's edits.
	if created, err := EnsureEnvFile(path, nil, lookup); created || err != nil {
		t.Errorf("existing file: created %v, %v", created, err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadEnvFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("a world-readable settings file was accepted: %v", err)
		}
	}
}

func TestProgramStartStop(t *testing.T) {
	stopped := make(chan struct{})
	p := &Program{Run: func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // closing the database
		close(stopped)
		return nil
	}}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(nil); err == nil {
		t.Error("a second Start was accepted")
	}
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Stop returned before the daemon finished")
	}

	failed := make(chan error, 1)
	q := &Program{Run: func(context.Context) error { return errors.New("database damaged") }, Failed: func(err error) { failed <- err }}
	if err := q.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := <-failed; err.Error() != "database damaged" {
		t.Errorf("Failed got %v", err)
	}
	<-q.Done()
	if err := q.Stop(nil); err == nil {
		t.Error("Stop hid the daemon's own failure")
	}
}
