package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/engine"
)

// acme is a made-up third provider: a driver and a mapping table are all
// it brings. Nothing else in the program names it.
var acmeSpec = &connector.Spec{
	Kind: "acme", Title: "Acme",
	Options: []connector.Option{{
		Flag: "endpoint", Label: "Endpoint", Example: "https://id.acme.example", Usage: "Acme endpoint",
		Set: func(c *connector.Config, v string) (err error) { c.URL, err = connector.ParseBaseURL(v); return err },
		Get: func(c connector.Config) string { return c.URL },
	}},
	Auth:          []connector.Auth{{Secret: connector.Secret{Flag: "api-key", What: "Acme API key", Label: "API key", Key: "apiKey", Store: "api_key"}}},
	Statuses:      []connector.Status{{Name: "on", Code: -1}, {Name: "off", Code: -1}},
	DefaultStatus: "on",
	Record: connector.Record{App: "Application.Acme.", Article: "an Acme", Example: "mail",
		Fields: []string{"id", "mail", "given", "status"}, StatusLabels: map[string]string{"ON": "Active", "OFF": "Off"}},
}

const acmeKey = "acme-key-5f2d"

type acmeClient struct{ key string }

func (c acmeClient) Fetch(_ context.Context, _ engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	if c.key != acmeKey {
		return nil, errors.New("401 from Acme")
	}
	return []byte("c1"), page([]engine.User{
		{ID: "a1", Status: "on", Raw: map[string]any{"id": "a1", "mail": "ada@acme.example", "given": "Ada", "status": "on"}},
		{ID: "a2", Status: "on", Raw: map[string]any{"id": "a2", "mail": "bo@acme.example", "given": "Bo", "status": "on"}},
	})
}

func (c acmeClient) Check(context.Context, []string) (string, error) {
	if c.key != acmeKey {
		return "", errors.New("the key was refused")
	}
	return "Acme answered with the key", nil
}

var acmeDriver = engine.Driver{Spec: acmeSpec, Open: func(r engine.OpenRequest) (engine.Provider, error) {
	return acmeClient{key: string(r.Secret.Reveal())}, nil
}}

const acmeTable = "target,source,transform,notes\nUser.Email,mail,,\nUser.FullName,given,,\nUser.Status,status,status,\n"

// A third provider touches its own package and main's list: with its
// driver in the list and its table beside the others, every command knows
// it (add with its own option and secret flags, show, edit's checks,
// test, run, mapping check) and nothing else changes.
func TestAThirdProviderNeedsOnlyItsDriverAndTable(t *testing.T) {
	h := newHarness(t)
	h.drivers = append(append(engine.Drivers{}, testDrivers...), acmeDriver)
	tables := fstest.MapFS{"acme.csv": {Data: []byte(acmeTable)}}
	for _, f := range []string{"targets.csv", "okta.csv", "onelogin.csv"} {
		data, err := os.ReadFile(filepath.Join("../mappings", f))
		if err != nil {
			t.Fatal(err)
		}
		tables[f] = &fstest.MapFile{Data: data}
	}
	h.tables = tables
	h.env["ACME_KEY"] = acmeKey
	h.env["NC_CSV_DIR"] = t.TempDir()

	if r := h.run("connector", "add", "acme", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--api-key-env VAR") ||
		!strings.Contains(r.stdout, "--endpoint") || !strings.Contains(r.stdout, "from: on, off (default on)") {
		t.Fatalf("help: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := h.run("connector", "add", "acme", "--name", "Acme"); r.code != 2 || !strings.Contains(r.stderr, "--endpoint is required; e.g. --endpoint https://id.acme.example") {
		t.Fatalf("add without endpoint: %d %s", r.code, r.stderr)
	}
	h.mustRun("connector", "add", "acme", "--name", "Acme", "--endpoint", "https://id.acme.example", "--api-key-env", "ACME_KEY")

	var v api.Connector
	if err := json.Unmarshal([]byte(h.mustRun("connector", "show", "Acme", "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v.Type != "acme" || v.Secrets["apiKey"] != "set" || len(v.Options) != 1 || v.Options[0].Value != "https://id.acme.example" {
		t.Errorf("show: %+v", v)
	}
	if out := h.mustRun("connector", "show", "Acme").stdout; !strings.Contains(out, "Endpoint") || !strings.Contains(out, "API key") {
		t.Errorf("show text:\n%s", out)
	}
	if r := h.run("connector", "edit", "Acme", "--url", "https://x.okta.com"); r.code != 2 ||
		!strings.Contains(r.stderr, `--url is not an option of acme connectors; "Acme" takes --endpoint`) {
		t.Errorf("edit with an Okta option: %d %s", r.code, r.stderr)
	}
	if r := h.run("connector", "edit", "Acme", "--token-env", "OKTA_TOKEN"); r.code != 2 || !strings.Contains(r.stderr, "of okta connectors") {
		t.Errorf("edit with Okta's secret: %d %s", r.code, r.stderr)
	}
	if out := h.mustRun("connector", "test", "Acme").stdout; !strings.Contains(out, "Acme answered with the key") {
		t.Errorf("test: %s", out)
	}
	h.mustRun("run", "Acme")
	var st []api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].LastRun == nil || st[0].LastRun.Upserted != 2 {
		t.Errorf("status after the run: %+v", st)
	}
	file := filepath.Join(t.TempDir(), "acme.csv")
	if err := os.WriteFile(file, []byte(acmeTable), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := h.mustRun("mapping", "check", file).stdout; !strings.Contains(out, "OK, 3 rows (type acme)") {
		t.Errorf("mapping check: %s", out)
	}
}
