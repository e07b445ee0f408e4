package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/api"
	"neurons-connector/providers/okta/oktatest"
)

// The secrets never show: a whole scenario with distinctive secrets (the
// daemon at debug level, connectors added through it, good and failing
// runs, provider faults, a sink outage, every status and listing form,
// dry-run output, metrics, errors) and not one byte of a secret in any
// output, in the daemon's log, or in any file of the data directory.
func TestSecretsAppearNowhere(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	wrong := "Okta-Wrong-Token-5150"
	e.env = append(e.env, "WRONG_TOKEN="+wrong)
	// The app's key, by each line of its body.
	keyLines := strings.Split(strings.TrimSpace(string(e.appKey)), "\n")
	secrets := append([]string{"Okta-Daemon-Token-41", "OL-Daemon-Secret-42", "Sink-Daemon-Secret-43", wrong},
		keyLines[1:len(keyLines)-1]...)
	var outputs []string
	keep := func(r result) result { outputs = append(outputs, r.stdout, r.stderr); return r }

	serve, logs, exited := e.serve() // NC_LOG_LEVEL=debug
	keep(e.mustCLI("connector", "add", "okta", "--name", "Okta", "--url", e.oktaU, "--token-env", "OKTA_TOKEN", "--inactive"))
	keep(e.cliIn("OL-Daemon-Secret-42", "connector", "add", "onelogin", "--name", "OL", "--domain", e.olU,
		"--client-id", "ol-daemon", "--client-secret-stdin", "--inactive"))
	keep(e.mustCLI("connector", "add", "okta", "--name", "Okta wrong", "--url", e.oktaU, "--token-env", "WRONG_TOKEN", "--inactive"))
	keep(e.mustCLI("connector", "add", "okta", "--name", "Okta app", "--url", e.oktaU, "--auth", "oauth", "--client-id", "0oaDaemonApp",
		"--private-key-env", "OKTA_APP_KEY", "--inactive"))
	keep(e.mustCLI("run", "Okta app"))
	keep(e.mustCLI("connector", "test", "Okta app"))
	keep(e.mustCLI("run", "Okta"))
	keep(e.mustCLI("run", "OL"))
	if r := keep(e.cli("run", "Okta wrong")); r.code != 1 {
		t.Errorf("a run with a wrong token: exit %d", r.code)
	}
	if r := keep(e.cli("connector", "test", "Okta wrong")); r.code != 1 {
		t.Errorf("test with a wrong token: exit %d", r.code)
	}
	// Provider faults that are retried, and a sink that fails twice.
	e.okta.Inject(oktatest.Fault{Path: "/api/v1/users", Status: 500, Times: 2})
	keep(e.mustCLI("run", "Okta", "--full"))
	for _, id := range e.ol.IDs(1)[:3] {
		e.ol.SetTitle(id, "Changed")
	}
	e.fake.FailNext(2, http.StatusServiceUnavailable, "")
	keep(e.mustCLI("run", "OL"))
	keep(e.cli("run", "OL", "--dry-run", "--full"))
	// A failed run's error is in status, in words, without the token.
	var failed api.Status
	if r := keep(e.mustCLI("status", "Okta wrong", "--json")); json.Unmarshal([]byte(r.stdout), &failed) != nil ||
		failed.LastRun == nil || failed.LastRun.Result != "failed" || !strings.Contains(failed.LastRun.Error, "401") {
		t.Errorf("status of the failed run: %s", r.stdout)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"status", "Okta wrong"}, {"status", "OL", "--json"},
		{"connector", "list", "--json"}, {"connector", "show", "Okta"}, {"connector", "show", "OL", "--json"},
		{"mapping", "export", "OL"}, {"connector", "edit", "Okta", "--token-env", "NO_SUCH"},
		{"connector", "show", "Okta app", "--json"}, {"connector", "edit", "Okta app", "--private-key-env", "OKTA_TOKEN"}} {
		keep(e.cli(args...))
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+e.listen+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	outputs = append(outputs, string(body))
	e.stop(serve, exited)
	outputs = append(outputs, logs.String())
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Error("the scenario did not exercise the debug and error log levels")
	}

	for i, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output %d shows the secret %q:\n%s", i, s[:8]+"…", out)
			}
		}
	}
	err = filepath.Walk(e.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the secret %q in plain text", filepath.Base(path), s[:8]+"…")
			}
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 && filepath.Ext(path) != ".csv" {
			t.Errorf("%s has mode %v; only its owner may read it", filepath.Base(path), perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TLS is always verified: a provider whose certificate the system does
// not trust is refused with the fix in the message, and trusting its CA the
// usual way (SSL_CERT_FILE) is all it takes; there is no switch to turn
// verification off.
func TestCustomCAThroughSSLCertFile(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	sim := oktatest.New(oktatest.Options{Users: 5, Token: "Okta-Daemon-Token-41", NoLimits: true})
	srv, _ := sim.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := oktatest.WriteCA(srv, ca); err != nil {
		t.Fatal(err)
	}
	e.mustCLI("connector", "add", "okta", "--name", "TLS", "--url", srv.URL, "--token-env", "OKTA_TOKEN")
	if r := e.cli("connector", "test", "TLS"); r.code != 1 || !strings.Contains(r.stderr, "SSL_CERT_FILE") {
		t.Errorf("an untrusted certificate: exit %d, %q", r.code, r.stderr)
	}
	e.env = append(e.env, "SSL_CERT_FILE="+ca)
	if r := e.mustCLI("connector", "test", "TLS"); !strings.Contains(r.stdout, "OK:") {
		t.Errorf("with the CA trusted: %q", r.stdout)
	}
}
