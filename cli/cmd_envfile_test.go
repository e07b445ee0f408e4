package cli

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/service"
)

// A service behind a corporate proxy that inspects TLS: the settings file,
// the only environment a service has (the unit and the Windows service
// carry none), names the proxy (HTTPS_PROXY) and the proxy's CA
// (SSL_CERT_FILE). The daemon reaches the org through the proxy and
// trusts the CA, as a command in the admin's shell with those variables
// would.
func TestTheSettingsFileReachesTheNetwork(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	env := e.env[:0:0]
	for _, kv := range e.env {
		name, _, _ := strings.Cut(kv, "=")
		if !networkVariables[strings.ToUpper(name)] {
			env = append(env, kv)
		}
	}
	e.env = env
	sim := oktatest.New(oktatest.Options{Users: 40, Seed: 3, Token: "Okta-Daemon-Token-41", NoLimits: true})
	srv, _ := sim.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "corporate-ca.pem")
	if err := oktatest.WriteCA(srv, ca); err != nil {
		t.Fatal(err)
	}
	var tunnels atomic.Int32
	proxy := httptest.NewServer(tunnel(t, srv.Listener.Addr().String(), &tunnels))
	defer proxy.Close()
	// A name only the proxy can reach (this host resolves nothing), which
	// the simulator's certificate covers.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	e.mustCLI("connector", "add", "okta", "--name", "Proxied", "--url", "https://acme.example.com:"+port, "--token-env", "OKTA_TOKEN")
	file := filepath.Join(t.TempDir(), "neurons-connector.env")
	if err := os.WriteFile(file, []byte("HTTPS_PROXY="+proxy.URL+"\nSSL_CERT_FILE="+ca+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve, logs, exited := e.serveWith([]string{"serve", "--env-file", file})
	r := e.cli("run", "Proxied")
	if r.code != 0 {
		t.Fatalf("run through the daemon: exit %d, %s\n%s", r.code, r.stderr, logs.String())
	}
	if got, want := len(e.fake.Users(e.statuses()[0].ID)), len(sim.IDs("ACTIVE")); got != want || tunnels.Load() == 0 {
		t.Errorf("the sink holds %d users (want %d); %d tunnels through the proxy", got, want, tunnels.Load())
	}
	e.stop(serve, exited)
}

// tunnel is an HTTP proxy that answers CONNECT to any host by a tunnel to
// target, counting them.
func tunnel(t *testing.T, target string, n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		n.Add(1)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			_ = up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(up, bufio.NewReader(io.MultiReader(buf, conn)))
			_ = up.Close()
		}()
		_, _ = io.Copy(conn, up)
		_ = conn.Close()
	})
}

// writeSettings writes the harness's stand-in for the service's settings
// file, private as the service requires.
func (h *harness) writeSettings(lines ...string) {
	h.t.Helper()
	if err := os.WriteFile(h.settingsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// A command run by hand on the service's data directory (no --data-dir,
// no NC_DATA_DIR: `sudo neurons-connector …` with the service stopped)
// reads the service's settings file, the environment first: a connector
// added that way lands in the data directory the service uses, and runs
// go to the service's sink. Given a data directory, a command reads only
// its environment.
func TestCommandsOnTheServicesDataReadItsSettings(t *testing.T) {
	h := newHarness(t)
	delete(h.env, "NC_DATA_DIR")
	serviceDir := filepath.Join(t.TempDir(), "service-data")
	csvDir := t.TempDir()
	h.writeSettings("NC_DATA_DIR="+serviceDir, "NC_SINK=csv", "NC_CSV_DIR="+csvDir, "HTTPS_PROXY=http://proxy.corp.example:3128",
		"NO_PROXY=.corp.example", "TZ=Europe/Berlin")
	h.env["NO_PROXY"] = "from-the-shell"
	r := h.mustRun("connector", "add", "okta", "--name", "Okta prod", "--url", "https://acme.okta.com", "--token-env", "OKTA_TOKEN")
	if _, err := os.Stat(filepath.Join(serviceDir, "neurons-connector.db")); err != nil {
		t.Fatalf("the connector is not in the service's data directory: %v", err)
	}
	if !strings.Contains(r.stderr, "TZ is not read") || !strings.Contains(r.stderr, "HTTPS_PROXY") {
		t.Errorf("a variable the file does not take: stderr %q", r.stderr)
	}
	if h.setenv["HTTPS_PROXY"] != "http://proxy.corp.example:3128" || len(h.setenv) != 1 {
		t.Errorf("set in the process: %v (the shell's NO_PROXY wins over the file's)", h.setenv)
	}

	// With a data directory given, the file is not read: a broken one
	// changes nothing.
	h.writeSettings("NC_NEURON_URL=https://ingest.example.com")
	h.env["NC_DATA_DIR"] = h.dir
	h.mustRun("connector", "list")
	delete(h.env, "NC_DATA_DIR")
	h.mustRun("--data-dir", h.dir, "connector", "list")
}

// A misspelt setting in the settings file would be ignored without a word:
// NC_NEURON_URL for NC_NEURONS_URL sends everything to the CSV drop. It
// stops the command (and the service) with exit 2, naming the line's
// variable and the setting meant, and changes nothing.
func TestAMisspeltSettingIsRefused(t *testing.T) {
	h := newHarness(t)
	delete(h.env, "NC_DATA_DIR")
	serviceDir := filepath.Join(t.TempDir(), "service-data")
	h.writeSettings("NC_DATA_DIR="+serviceDir, "NC_NEURON_URL=https://ingest.example.com", "nc_log_level=debug")
	r := h.run("connector", "list")
	if r.code != 2 || !strings.Contains(r.stderr, "NC_NEURON_URL is not a setting (did you mean NC_NEURONS_URL?)") ||
		!strings.Contains(r.stderr, "nc_log_level is not a setting (did you mean NC_LOG_LEVEL?)") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(serviceDir); !os.IsNotExist(err) {
		t.Errorf("the refused command created the data directory: %v", err)
	}
	// serve --env-file reads the same way.
	file := filepath.Join(t.TempDir(), "nc.env")
	if err := os.WriteFile(file, []byte("NC_SINK=csv\nNC_CSV_DRI=/srv/drop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["NC_DATA_DIR"] = h.dir
	if r := h.run("serve", "--env-file", file); r.code != 2 || !strings.Contains(r.stderr, "NC_CSV_DRI is not a setting (did you mean NC_CSV_DIR?)") {
		t.Errorf("serve: exit %d, %q", r.code, r.stderr)
	}
}

// The environment is not ours alone, so a misspelt setting there is a
// warning, not an error; only names close to a setting are named.
func TestAMisspeltSettingInTheEnvironmentIsWarnedOf(t *testing.T) {
	h := newHarness(t)
	h.env["NC_NEURON_URL"] = "https://ingest.example.com"
	h.env["NC_UNRELATED_TOOL_OPTION"] = "1"
	r := h.mustRun("connector", "list")
	if !strings.Contains(r.stderr, "the environment sets NC_NEURON_URL, which is not a setting (did you mean NC_NEURONS_URL?)") ||
		strings.Contains(r.stderr, "NC_UNRELATED_TOOL_OPTION") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

// The settings file service install writes offers the proxy and CA
// variables (filled from the installing shell when set there), and reads
// back without a complaint.
func TestTheInstalledSettingsFileOffersTheProxy(t *testing.T) {
	h := newHarness(t)
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"HTTPS_PROXY": "http://proxy.corp.example:3128", "NC_SINK": "csv"}[k]
		return v, ok
	}
	if created, err := service.EnsureEnvFile(h.settingsFile, settingsFileNames(), lookup); !created || err != nil {
		t.Fatalf("created %v, %v", created, err)
	}
	data, err := os.ReadFile(h.settingsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nHTTPS_PROXY=http://proxy.corp.example:3128\n", "\n# SSL_CERT_FILE=\n", "\n# NO_PROXY=\n", "\nNC_SINK=csv\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the file lacks %q:\n%s", strings.TrimSpace(want), data)
		}
	}
	// A command on the service's data reads it back: no complaint, and
	// the proxy set for the process.
	delete(h.env, "NC_DATA_DIR")
	r := h.mustRun("connector", "list")
	if strings.Contains(r.stderr, "warning") || strings.Contains(r.stderr, "WARN") || h.setenv["HTTPS_PROXY"] != "http://proxy.corp.example:3128" {
		t.Errorf("reading it back: stderr %q, set %v", r.stderr, h.setenv)
	}
}
