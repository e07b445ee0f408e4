package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"neurons-connector/api"
	"neurons-connector/control"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/sink/sinktest"
	"neurons-connector/store"
)

// TestMain lets the test binary be the program in a child process: with
// NC_TEST_AS_CLI=1 it runs the command line of its arguments as main does.
func TestMain(m *testing.M) {
	if os.Getenv("NC_TEST_AS_CLI") == "1" {
		limitFileSize(os.Getenv("NC_TEST_FSIZE"))
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Lookup: os.LookupEnv, Setenv: os.Setenv, Environ: os.Environ,
			Now: time.Now, Local: time.Local, Tables: builtinTables(), Drivers: testDrivers})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// daemonEnv is the simulators, the fake sink and a data directory for
// child processes of the real program.
type daemonEnv struct {
	t      *testing.T
	env    []string
	dir    string
	listen string
	fake   *sinktest.Server
	okta   *oktatest.Server
	ol     *onelogintest.Server
	oktaU  string
	olU    string
	appKey []byte // the PEM key of the Okta org's OAuth app, in $OKTA_APP_KEY
}

func newDaemonEnv(t *testing.T) *daemonEnv {
	t.Helper()
	e := &daemonEnv{t: t, dir: filepath.Join(t.TempDir(), "data")}
	app, appKey := daemonApp(t)
	e.appKey = appKey
	e.okta = oktatest.New(oktatest.Options{Users: 150, Seed: 7, Token: "Okta-Daemon-Token-41", NoLimits: true,
		OAuthApps: []oktatest.OAuthApp{app}})
	oktaSrv := e.okta.Start()
	t.Cleanup(oktaSrv.Close)
	e.ol = onelogintest.New(onelogintest.Options{Users: 120, Seed: 8, ClientID: "ol-daemon", ClientSecret: "OL-Daemon-Secret-42", HourlyLimit: -1})
	olSrv := e.ol.Start()
	t.Cleanup(olSrv.Close)
	e.fake = sinktest.New(sinktest.Options{ClientSecret: "Sink-Daemon-Secret-43"})
	sinkSrv := e.fake.Start()
	t.Cleanup(sinkSrv.Close)
	e.oktaU, e.olU = oktaSrv.URL, olSrv.URL
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.listen = l.Addr().String()
	_ = l.Close()
	e.env = append(os.Environ(), "NC_TEST_AS_CLI=1", "NC_DATA_DIR="+e.dir, "NC_LISTEN="+e.listen,
		"NC_NEURONS_URL="+sinkSrv.URL, "NC_NEURONS_TOKEN_URL="+sinkSrv.URL+sinktest.TokenPath,
		"NC_NEURONS_CLIENT_ID=sink-client", "NC_NEURONS_CLIENT_SECRET=Sink-Daemon-Secret-43",
		"OKTA_TOKEN=Okta-Daemon-Token-41", "OL_SECRET=OL-Daemon-Secret-42", "TZ=UTC", "OKTA_APP_KEY="+string(appKey))
	return e
}

// daemonApp is an OAuth service app with an EC key (quick to make; RSA
// keys are tested elsewhere), requiring DPoP, granted every scope.
func daemonApp(t *testing.T) (oktatest.OAuthApp, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return oktatest.OAuthApp{ClientID: "0oaDaemonApp", DPoP: true, Scopes: okta.DefaultScopes,
			Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ec-1", Algorithm: string(jose.ES256), Use: "sig"}}},
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// cli runs one command of the real program in a child process.
func (e *daemonEnv) cli(args ...string) result { e.t.Helper(); return e.cliIn("", args...) }

// cliIn is cli with standard input.
func (e *daemonEnv) cliIn(stdin string, args ...string) result {
	e.t.Helper()
	return e.command(stdin, nil, args...)
}

func (e *daemonEnv) command(stdin string, env []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append([]string(nil), e.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func (e *daemonEnv) mustCLI(args ...string) result {
	e.t.Helper()
	r := e.cli(args...)
	if r.code != 0 {
		e.t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
	}
	return r
}

func (e *daemonEnv) statuses() []api.Status {
	e.t.Helper()
	var views []api.Status
	r := e.mustCLI("status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &views); err != nil {
		e.t.Fatalf("status --json: %v: %s", err, r.stdout)
	}
	return views
}

// waitRuns polls status until every named connector has a finished run.
func (e *daemonEnv) waitRuns(within time.Duration, names ...string) map[string]api.Status {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := map[string]api.Status{}
		for _, v := range e.statuses() {
			if v.LastRun != nil {
				got[v.Name] = v
			}
		}
		done := true
		for _, n := range names {
			if _, ok := got[n]; !ok {
				done = false
			}
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no run of %v within %s; status: %+v", names, within, got)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func hourlyAt(t time.Time) string { return fmt.Sprintf("00:%02d", t.Minute()) }

// The daemon end to end: two connectors run on their minute-level slots
// (the daemon's clock runs 60 times faster than real time), a third added
// through the command line while it runs runs on its slot too, status and
// /metrics answer, SIGTERM stops it cleanly, and afterwards the database
// is consistent and the sink holds every selected user.
func TestServeRunsConnectorsOnScheduleAndStopsCleanly(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	const speed = 60
	start := time.Now().UTC().Truncate(time.Second)
	slotA := start.Truncate(time.Minute).Add(2 * time.Minute)
	slotB := slotA.Add(time.Minute)
	e.mustCLI("connector", "add", "okta", "--name", "Okta A", "--url", e.oktaU, "--token-env", "OKTA_TOKEN",
		"--repeats", "hourly", "--start-time", hourlyAt(slotA), "--time-zone", "UTC", "--rate-share", "100")
	e.mustCLI("connector", "add", "onelogin", "--name", "OneLogin B", "--domain", e.olU, "--client-id", "ol-daemon",
		"--client-secret-env", "OL_SECRET", "--repeats", "hourly", "--start-time", hourlyAt(slotB), "--time-zone", "UTC",
		"--user-status", "active,locked")

	serve, logs, exited := e.serve(testClockVar + "=" + start.Format(time.RFC3339) + fmt.Sprintf("*%d", speed))
	realStart := time.Now()

	runs := e.waitRuns(20*time.Second, "Okta A", "OneLogin B")
	for name, slot := range map[string]time.Time{"Okta A": slotA, "OneLogin B": slotB} {
		r := runs[name].LastRun
		if r.Result != "ok" || r.Mode != "full" {
			t.Errorf("%s: %+v", name, r)
		}
		if r.Start.Before(slot) || r.Start.After(slot.Add(time.Minute)) {
			t.Errorf("%s ran at %s, its slot was %s", name, r.Start.Format(time.RFC3339), slot.Format(time.RFC3339))
		}
		if runs[name].Daemon == nil {
			t.Errorf("%s: status did not come from the running daemon", name)
		}
	}

	// A third connector, added while the daemon holds the database: the CLI
	// goes through the daemon's socket, and the new schedule applies at once.
	daemonNow := start.Add(time.Since(realStart) * speed)
	slotC := daemonNow.Truncate(time.Minute).Add(3 * time.Minute)
	add := e.mustCLI("connector", "add", "okta", "--name", "Okta C", "--url", e.oktaU, "--token-file", writeSecret(t, "Okta-Daemon-Token-41"),
		"--repeats", "hourly", "--start-time", hourlyAt(slotC), "--time-zone", "UTC", "--user-status", "active,suspended")
	if !strings.Contains(add.stdout, `Added okta connector "Okta C"`) {
		t.Errorf("add through the daemon: %q", add.stdout)
	}
	runs = e.waitRuns(20*time.Second, "Okta C")
	if r := runs["Okta C"].LastRun; r.Result != "ok" || r.Start.Before(slotC) || r.Start.After(slotC.Add(time.Minute)) {
		t.Errorf("Okta C: %+v, slot %s", r, slotC.Format(time.RFC3339))
	}
	// An explicit run through the daemon, queued on the connector's worker.
	if r := e.cli("run", "Okta A"); r.code != 0 || !strings.Contains(r.stderr, "incremental run") {
		t.Errorf("run through the daemon: exit %d: %s", r.code, r.stderr)
	}

	checkMetrics(t, e)
	// A resend through the daemon: the worker gets the flag.
	if r := e.cli("run", "Okta A", "--resend"); r.code != 0 || !strings.Contains(r.stderr, "full run (resend of every selected user) ok") ||
		strings.Contains(r.stderr, " 0 upserted") {
		t.Errorf("resend through the daemon: exit %d: %s", r.code, r.stderr)
	}

	e.stop(serve, exited)
	if _, err := os.Stat(filepath.Join(e.dir, control.SocketFile)); !os.IsNotExist(err) {
		t.Error("the daemon's socket was left behind after a clean stop")
	}
	checkConsistent(t, e)

	// Without the daemon, the same commands read the database themselves.
	for _, v := range e.statuses() {
		if v.Daemon != nil || v.LastRun == nil || v.LastRun.Result != "ok" {
			t.Errorf("status without the daemon: %s: %+v", v.Name, v)
		}
	}
	for _, secret := range []string{"Okta-Daemon-Token-41", "OL-Daemon-Secret-42", "Sink-Daemon-Secret-43"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the daemon's debug log shows a secret")
		}
	}
}

// serve starts the daemon in a child process and waits until it answers.
func (e *daemonEnv) serve(env ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	e.t.Helper()
	return e.serveWith([]string{"serve"}, env...)
}

// serveWith is serve with the command line args (serve and its flags).
func (e *daemonEnv) serveWith(args []string, env ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t := e.t
	t.Helper()
	serve, logs, exited := e.startServe(args, env...)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if cl, _ := control.Find(context.Background(), e.dir); cl != nil {
			_ = cl.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not come up:\n%s", logs.String())
		}
	}
	return serve, &logs.Buffer, exited
}

// startServe starts the daemon in a child process, killed when the test
// ends, its log shown if the test failed.
func (e *daemonEnv) startServe(args []string, env ...string) (*exec.Cmd, *syncBuffer, chan error) {
	t := e.t
	t.Helper()
	serve := exec.Command(os.Args[0], args...)
	serve.Env = append(append(append([]string(nil), e.env...), "NC_LOG_LEVEL=debug"), env...)
	logs := &syncBuffer{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return serve, logs, exited
}

// stop sends SIGTERM and expects a clean exit within 5 s.
func (e *daemonEnv) stop(serve *exec.Cmd, exited chan error) {
	e.t.Helper()
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			e.t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		e.t.Fatal("the daemon did not stop within 5 s of SIGTERM")
	}
}

// syncBuffer is a bytes.Buffer safe for the child's two streams.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

func writeSecret(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkMetrics(t *testing.T, e *daemonEnv) {
	t.Helper()
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+e.listen+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The TCP port serves liveness and metrics, without a credential, and
	// nothing that controls the daemon.
	for _, path := range []string{"/v1/status", "/v1/ping", "/v1/exec", "/v1/connectors/list"} {
		if code, _ := get(path); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("TCP %s: %d, want nothing there", path, code)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`neurons_connector_runs_total{connector="Okta A",mode="full",result="ok"} 1`,
		`neurons_connector_runs_total{connector="OneLogin B",mode="full",result="ok"} 1`,
		`neurons_connector_runs_total{connector="Okta C",mode="full",result="ok"} 1`,
		`neurons_connector_api_calls_total{code="200",provider="onelogin"}`,
		`neurons_connector_outbox_batches{connector="Okta A",type="okta"} 0`,
		`neurons_connector_last_success_timestamp_seconds{connector="OneLogin B",type="onelogin"}`,
		`neurons_connector_users_fetched_total{connector="Okta A"}`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
}

// checkConsistent opens the database the daemon closed: nothing waits in
// an outbox, and the sink holds exactly the users each snapshot knows.
func checkConsistent(t *testing.T, e *daemonEnv) {
	t.Helper()
	db, err := store.Open(store.PathIn(e.dir), store.Options{})
	if err != nil {
		t.Fatalf("open the database after the stop: %v", err)
	}
	defer func() { _ = db.Close() }()
	want := map[string]int{"Okta A": len(e.okta.IDs("ACTIVE")), "OneLogin B": len(e.ol.IDs(1, 3)),
		"Okta C": len(e.okta.IDs("ACTIVE", "SUSPENDED"))}
	err = db.View(func(tx *store.Tx) error {
		all, err := tx.Connectors()
		if err != nil {
			return err
		}
		if len(all) != 3 {
			t.Errorf("%d connectors", len(all))
		}
		for _, c := range all {
			held := len(e.fake.Users(c.ID))
			if n := tx.OutboxDepth(c.ID); n != 0 {
				t.Errorf("%s: %d batches left in the outbox", c.Name, n)
			}
			if held != want[c.Name] || tx.SnapshotSize(c.ID) != held {
				t.Errorf("%s: sink holds %d, snapshot %d, source selects %d", c.Name, held, tx.SnapshotSize(c.ID), want[c.Name])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every command works while the daemon holds the database: secrets read
// here travel to it, output and exit codes come back, a file argument is
// written here, and bad input is still exit 2 with nothing changed.
func TestCommandsGoThroughARunningDaemon(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	serve, _, exited := e.serve()
	add := e.cliIn("Okta-Daemon-Token-41", "connector", "add", "okta", "--name", "Okta", "--url", e.oktaU,
		"--token-stdin", "--inactive")
	if add.code != 0 {
		t.Fatalf("add: %d %s", add.code, add.stderr)
	}
	if r := e.mustCLI("connector", "test", "Okta"); !strings.Contains(r.stdout, "OK:") || !strings.Contains(r.stdout, "Neurons' token endpoint") {
		t.Errorf("test through the daemon (the secret must have arrived, the daemon's sink asked): %q", r.stdout)
	}
	if r := e.cli("connector", "edit", "Okta", "--token-env", "NO_SUCH_VAR"); r.code != 2 || !strings.Contains(r.stderr, "--token-env") {
		t.Errorf("bad secret source: %d %q", r.code, r.stderr)
	}
	if r := e.cli("connector", "add", "okta", "--name", "Okta", "--url", e.oktaU, "--token-env", "OKTA_TOKEN"); r.code != 2 ||
		!strings.Contains(r.stderr, "--name") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("duplicate name through the daemon: %d %q", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "okta.csv")
	if r := e.mustCLI("mapping", "export", "Okta", "-o", out); !strings.Contains(r.stdout, out) {
		t.Errorf("export: %q", r.stdout)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "target,source,transform,notes") {
		t.Errorf("exported table: %v %.40q", err, b)
	}
	if r := e.cli("run", "Okta"); r.code != 0 || !strings.Contains(r.stderr, "inactive") {
		t.Errorf("run: %d %s", r.code, r.stderr)
	}
	var id string
	for _, v := range e.statuses() {
		id = v.ID
		if v.Daemon == nil || v.LastRun == nil || v.LastRun.Result != "ok" {
			t.Errorf("status: %+v", v)
		}
	}
	delivered := len(e.fake.Users(id))
	if delivered == 0 {
		t.Fatal("nothing delivered")
	}
	// A preview through the daemon (it holds the database the directory
	// of managers is read from).
	b, _ := os.ReadFile(out)
	edited := writeTable(t, strings.Replace(string(b), "User.JobTitle,profile.title,,", "User.JobTitle,profile.department,,", 1))
	if r := e.mustCLI("mapping", "preview", edited, "Okta", "--users", "5"); !strings.Contains(r.stdout, "User.JobTitle:") ||
		!strings.Contains(r.stdout, "5 users read") {
		t.Errorf("preview through the daemon:\n%s%s", r.stdout, r.stderr)
	}
	someone := e.okta.IDs("ACTIVE")[0]
	if r := e.mustCLI("explain", "Okta", someone); !strings.Contains(r.stdout, "User "+someone) || !strings.Contains(r.stdout, "Last queued: the same record") {
		t.Errorf("explain through the daemon:\n%s%s", r.stdout, r.stderr)
	}
	if r := e.mustCLI("connector", "remove", "Okta", "--purge"); !strings.Contains(r.stdout, "Removed") {
		t.Errorf("remove: %q %q", r.stdout, r.stderr)
	}
	if n := len(e.fake.Users(id)); n != 0 {
		t.Errorf("after remove --purge the sink still holds %d users", n)
	}
	if r := e.mustCLI("connector", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list after remove: %q", r.stdout)
	}
	e.stop(serve, exited)
}
