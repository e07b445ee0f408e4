package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"neurons-connector/api"
	"neurons-connector/control"
	"neurons-connector/engine"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
	"neurons-connector/settings"
	"neurons-connector/store"
)

// builtinTables are the tables main embeds, read from the repository.
func builtinTables() fs.FS { return os.DirFS("../mappings") }

// testDrivers are main's drivers.
var testDrivers = engine.Drivers{okta.Driver, onelogin.Driver}

// harness runs the real command tree in-process against a temporary data
// directory, with an injected environment, clock and standard input.
type harness struct {
	t   *testing.T
	dir string
	env map[string]string
	now time.Time
	// drivers and tables replace main's when set.
	drivers engine.Drivers
	tables  fs.FS
	// settingsFile stands for the service's settings file (absent unless a
	// test writes it); setenv records what commands set in the process's
	// environment.
	settingsFile string
	setenv       map[string]string
	// networkFS, when set, stands for the file systems' kinds (Env.NetworkFS).
	networkFS func(dir string) (string, bool)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	return &harness{t: t, dir: dir, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		settingsFile: filepath.Join(tmp, "neurons-connector.env"), setenv: map[string]string{},
		env: map[string]string{"NC_DATA_DIR": dir, "OKTA_TOKEN": "00OktaToken-Distinctive-9f3c", "OL_SECRET": "ol-secret-7d1e"}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (h *harness) runIn(stdin string, args ...string) result {
	h.t.Helper()
	return h.runCtx(context.Background(), stdin, args...)
}

// runCtx is runIn until ctx ends: serve, stopped by cancelling it.
func (h *harness) runCtx(ctx context.Context, stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	drivers, tables := testDrivers, builtinTables()
	if h.drivers != nil {
		drivers = h.drivers
	}
	if h.tables != nil {
		tables = h.tables
	}
	code := Run(ctx, args, Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Lookup: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
		Setenv: func(k, v string) error { h.setenv[k] = v; return nil },
		Environ: func() []string {
			var kv []string
			for k, v := range h.env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		SettingsFile:   h.settingsFile,
		DefaultDataDir: filepath.Join(filepath.Dir(h.settingsFile), "default-data"),
		Now:            func() time.Time { return h.now },
		Tables:         tables, Drivers: drivers,
		Local: time.UTC, NetworkFS: h.networkFS,
	})
	return result{code, out.String(), errb.String()}
}

func (h *harness) run(args ...string) result { h.t.Helper(); return h.runIn("", args...) }

// serveWhileUp runs serve in this process, calls up once its socket answers
// (from another goroutine; up is not called if it never does within a
// minute), then stops it, and returns what serve did.
func (h *harness) serveWhileUp(up func()) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if cl, _ := control.Find(ctx, h.dir); cl != nil {
				_ = cl.Close()
				up()
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return h.runCtx(ctx, "", "serve")
}

func (h *harness) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("%v: exit %d, stderr %s", args, r.code, r.stderr)
	}
	return r
}

func (h *harness) addOkta(name string, extra ...string) {
	h.t.Helper()
	h.mustRun(append([]string{"connector", "add", "okta", "--name", name, "--url", "https://acme.okta.com",
		"--token-env", "OKTA_TOKEN"}, extra...)...)
}

func (h *harness) addOneLogin(name string, extra ...string) {
	h.t.Helper()
	h.mustRun(append([]string{"connector", "add", "onelogin", "--name", name, "--domain", "acme.onelogin.com",
		"--client-id", "cid-1", "--client-secret-env", "OL_SECRET"}, extra...)...)
}

func (h *harness) list() []api.Connector {
	h.t.Helper()
	var views []api.Connector
	r := h.mustRun("connector", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &views); err != nil {
		h.t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return views
}

// snapshot hashes every file in the data directory, to prove a failed
// command changed nothing.
func (h *harness) snapshot() map[string][32]byte {
	h.t.Helper()
	out := map[string][32]byte{}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(h.dir, e.Name()))
		if err != nil {
			h.t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

func TestAddListShowsTokenSetAndNeverStoresIt(t *testing.T) {
	h := newHarness(t)
	r := h.mustRun("connector", "add", "okta", "--name", "Okta prod", "--url", "https://acme.okta.com",
		"--token-env", "OKTA_TOKEN", "--user-status", "active,suspended")
	if !strings.Contains(r.stdout, `Added okta connector "Okta prod"`) {
		t.Errorf("stdout = %q", r.stdout)
	}
	views := h.list()
	if len(views) != 1 {
		t.Fatalf("%d connectors", len(views))
	}
	v := views[0]
	if v.Name != "Okta prod" || v.Type != "okta" || v.URL != "https://acme.okta.com" || v.Secrets["token"] != "set" ||
		strings.Join(v.UserStatuses, ",") != "ACTIVE,SUSPENDED" || v.Server != "Cloud" || !v.Active ||
		v.Repeats != "daily" || v.StartTime != "02:00" || v.RateShare != 50 || v.FullEvery != "24h" {
		t.Errorf("listed %+v", v)
	}
	raw, err := os.ReadFile(store.PathIn(h.dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(h.env["OKTA_TOKEN"])) {
		t.Fatal("the token's bytes are in the database file")
	}
	for _, args := range [][]string{{"connector", "list"}, {"connector", "show", "okta prod", "--json"}, {"status"}, {"status", "Okta prod", "--json"}} {
		if out := h.mustRun(args...); strings.Contains(out.stdout+out.stderr, h.env["OKTA_TOKEN"]) {
			t.Errorf("%v printed the token", args)
		}
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{h.dir, 0o700}, {store.PathIn(h.dir), 0o600}, {filepath.Join(h.dir, keyFileName), 0o600}} {
		info, err := os.Stat(p.path)
		if err != nil || runtime.GOOS != "windows" && info.Mode().Perm() != p.mode { // Windows: ACLs, not modes
			t.Errorf("%s: mode %v, want %v (%v)", p.path, info.Mode().Perm(), p.mode, err)
		}
	}
}

func TestOneLoginConnectorAndStdinSecret(t *testing.T) {
	h := newHarness(t)
	r := h.runIn("ol-from-stdin\n", "connector", "add", "onelogin", "--name", "OneLogin", "--domain", "api.eu.onelogin.com",
		"--client-id", "cid-9", "--client-secret-stdin", "--user-status", "active,3,Password-Pending",
		"--repeats", "hourly", "--start-time", "7:45", "--inactive", "--rate-share", "20", "--full-every", "2d")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	v := h.list()[0]
	if v.Type != "onelogin" || v.URL != "https://api.eu.onelogin.com" || v.ClientID != "cid-9" || v.Secrets["clientSecret"] != "set" ||
		strings.Join(v.UserStatuses, ",") != "active,locked,password-pending" || v.Repeats != "hourly" ||
		v.StartTime != "07:45" || v.Active || v.RateShare != 20 || v.FullEvery != "48h" {
		t.Errorf("listed %+v", v)
	}
	raw, _ := os.ReadFile(store.PathIn(h.dir))
	if bytes.Contains(raw, []byte("ol-from-stdin")) {
		t.Fatal("client secret stored in plain text")
	}
}

func TestEditChangesOnlyWhatIsGiven(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod", "--user-status", "active,suspended", "--start-time", "03:00")
	before := h.list()[0]
	h.now = h.now.Add(time.Hour)
	r := h.mustRun("connector", "edit", "OKTA PROD", "--name", "Okta main", "--repeats", "weekly", "--time-zone", "Europe/Berlin")
	if !strings.Contains(r.stdout, "--name, --repeats, --time-zone") {
		t.Errorf("stdout = %q", r.stdout)
	}
	after := h.list()[0]
	if after.Name != "Okta main" || after.Repeats != "weekly" || after.TimeZone != "Europe/Berlin" ||
		after.Schedule != "weekly on Monday at 03:00 (Europe/Berlin)" {
		t.Errorf("edited %+v", after)
	}
	if after.ID != before.ID || after.StartTime != "03:00" || strings.Join(after.UserStatuses, ",") != "ACTIVE,SUSPENDED" ||
		after.URL != before.URL || after.Secrets["token"] != "set" || !after.Updated.After(before.Updated) {
		t.Errorf("edit changed more than given: %+v", after)
	}
	// A rotated token replaces the sealed one.
	h.env["NEW_TOKEN"] = "00Rotated-Token-1234"
	h.mustRun("connector", "edit", "Okta main", "--token-env", "NEW_TOKEN")
	db, err := store.Open(store.PathIn(h.dir), store.Options{Key: keyFunc(settings.Settings{DataDir: h.dir})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.View(func(tx *store.Tx) error {
		v, err := tx.Secret(before.ID, okta.Spec.Auth[0].Secret.Store)
		if err == nil && string(v.Reveal()) != "00Rotated-Token-1234" {
			t.Errorf("token after edit = %q", v.Reveal())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRemove(t *testing.T) {
	h := newHarness(t)
	h.addOkta("A")
	h.addOneLogin("B")
	r := h.mustRun("connector", "remove", "a")
	if !strings.Contains(r.stdout, `Removed okta connector "A"`) {
		t.Errorf("stdout = %q", r.stdout)
	}
	views := h.list()
	if len(views) != 1 || views[0].Name != "B" {
		t.Fatalf("after remove: %+v", views)
	}
	h.addOkta("A") // the name is free again
}

func TestReadOnlyCommandsOnAFreshHost(t *testing.T) {
	h := newHarness(t)
	if r := h.mustRun("connector", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list --json on a fresh host = %q", r.stdout)
	}
	if r := h.mustRun("status"); !strings.Contains(r.stdout, "No connectors yet") {
		t.Errorf("status = %q", r.stdout)
	}
	if r := h.run("status", "X"); r.code != 2 {
		t.Errorf("status X: exit %d", r.code)
	}
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Fatal("looking created the data directory")
	}
}

func TestStatusShowsRunFigures(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod")
	h.addOneLogin("Elsewhere", "--server", "Branch")
	db, err := store.Open(store.PathIn(h.dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = db.Update(func(tx *store.Tx) error {
		c, err := tx.ConnectorByName("Okta prod")
		if err != nil {
			return err
		}
		id = c.ID
		if err := tx.PutCursor(id, store.Cursor{Value: []byte("w"), Saved: h.now.Add(-90 * time.Minute)}); err != nil {
			return err
		}
		return tx.AddRun(id, store.Run{ID: "r_1", Mode: "full", Start: h.now.Add(-2 * time.Hour), End: h.now.Add(-90 * time.Minute),
			Result: "failed", Error: "okta: 401 invalid token", Fetched: 1200, Upserted: 1100, Deleted: 3,
			APICalls: 7, RateLimitWaits: 2, RateLimitWait: 1500 * time.Millisecond})
	})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var views []api.Status
	r := h.mustRun("status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &views); err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 {
		t.Fatalf("%d views", len(views))
	}
	other, okta := views[0], views[1]
	if other.OnThisServer || !okta.OnThisServer {
		t.Errorf("server match wrong: %v %v", other.OnThisServer, okta.OnThisServer)
	}
	lr := okta.LastRun
	if lr == nil || lr.Result != "failed" || lr.Fetched != 1200 || lr.Upserted != 1100 || lr.Deleted != 3 ||
		lr.APICalls != 7 || lr.RateLimitWaits != 2 || lr.RateLimitWait != "1.5s" || lr.Error != "okta: 401 invalid token" {
		t.Errorf("last run %+v", lr)
	}
	if okta.CursorAge != "1h30m0s" || other.LastRun != nil {
		t.Errorf("cursor age %q, other's last run %+v", okta.CursorAge, other.LastRun)
	}
	table := h.mustRun("status").stdout
	for _, want := range []string{"Branch (not this one)", "2026-11-23 08:00 full", "failed", "1200", "never"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	detail := h.mustRun("status", "Okta prod").stdout
	for _, want := range []string{"Last error:", "okta: 401 invalid token", "7, 2 rate-limit waits (1.5s)", "saved 1h30m0s ago"} {
		if !strings.Contains(detail, want) {
			t.Errorf("status detail lacks %q:\n%s", want, detail)
		}
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	h := newHarness(t)
	root := (&tree{}).root()
	cmds := [][]string{{}}
	for _, c := range root.Commands() {
		cmds = append(cmds, []string{c.Name()})
		for _, s := range c.Commands() {
			cmds = append(cmds, []string{c.Name(), s.Name()})
			for _, ss := range s.Commands() {
				cmds = append(cmds, []string{c.Name(), s.Name(), ss.Name()})
			}
		}
	}
	for _, path := range cmds {
		r := h.run(append(path, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v --help: exit %d, %q", path, r.code, r.stdout)
		}
	}
	add := h.run("connector", "add", "okta", "--help").stdout
	for _, flag := range []string{"--name", "--server", "--url", "--token-env", "--token-file", "--token-stdin", "--user-status",
		"--repeats", "--start-time", "--time-zone", "--active", "--inactive", "--rate-share", "--full-every", "LOCKED_OUT"} {
		if !strings.Contains(add, flag) {
			t.Errorf("add okta --help lacks %s", flag)
		}
	}
}

func TestVersionNeedsNoSettings(t *testing.T) {
	h := newHarness(t)
	h.env["NC_LOG_LEVEL"] = "nonsense"
	if r := h.run("version"); r.code != 0 || !strings.HasPrefix(r.stdout, "neurons-connector ") {
		t.Fatalf("version: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := h.run("connector", "list")
	if r.code != 2 || !strings.Contains(r.stderr, "NC_LOG_LEVEL") {
		t.Fatalf("bad settings: %d %q", r.code, r.stderr)
	}
}

func TestWrongSecretKeyIsAClearError(t *testing.T) {
	h := newHarness(t)
	h.env["NC_SECRET_KEY"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes
	h.addOkta("Okta prod")
	if _, err := os.Stat(filepath.Join(h.dir, keyFileName)); !os.IsNotExist(err) {
		t.Error("a key file was written although NC_SECRET_KEY was set")
	}
	before := h.snapshot()
	h.env["NC_SECRET_KEY"] = "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=" // another 32 bytes
	r := h.run("connector", "edit", "Okta prod", "--token-env", "OKTA_TOKEN")
	if r.code != 1 || !strings.Contains(r.stderr, "not the one this database was sealed with") {
		t.Fatalf("exit %d, %q", r.code, r.stderr)
	}
	if !maps.Equal(before, h.snapshot()) {
		t.Error("the failed edit changed the data directory")
	}
	delete(h.env, "NC_SECRET_KEY") // and no key at all: no new key file may appear
	r = h.run("connector", "edit", "Okta prod", "--token-env", "OKTA_TOKEN")
	if r.code != 1 || !strings.Contains(r.stderr, "restore the key file") {
		t.Fatalf("exit %d, %q", r.code, r.stderr)
	}
	if !maps.Equal(before, h.snapshot()) {
		t.Error("a missing key changed the data directory")
	}
}

func TestHeldDatabaseIsAClearError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addOkta("Okta prod")
	// bbolt locks with flock, which conflicts between two opens of one file
	// even inside one process; the store test does the same across processes.
	db, err := store.Open(store.PathIn(h.dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	r := h.run("connector", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "is in use by another process: is the neurons-connector service running?") {
		t.Fatalf("exit %d, %q", r.code, r.stderr)
	}
}

// A second connector on the same tenant is allowed (a move between servers,
// two status selections) but noted: its users reach Neurons once per
// connector.
func TestASecondConnectorOnTheSameTenantIsNoted(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod")
	r := h.mustRun("connector", "add", "okta", "--name", "Okta again", "--url", "https://ACME.okta.com/", "--token-env", "OKTA_TOKEN")
	if !strings.Contains(r.stdout, `Note: "Okta prod" reads https://acme.okta.com too`) || !strings.Contains(r.stdout, "--rate-share") {
		t.Errorf("stdout: %q", r.stdout)
	}
	r = h.mustRun("connector", "add", "okta", "--name", "Other org", "--url", "https://other.okta.com", "--token-env", "OKTA_TOKEN")
	if strings.Contains(r.stdout, "Note:") {
		t.Errorf("another org: %q", r.stdout)
	}
}
