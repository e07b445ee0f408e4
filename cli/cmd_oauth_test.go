package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"neurons-connector/api"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/settings"
	"neurons-connector/sink/sinktest"
	"neurons-connector/store"
)

// oauthOrg is a simulated org with two API Services apps requiring DPoP:
// one granted every scope, one without okta.devices.read; and a harness
// whose sink is a fake.
type oauthOrg struct {
	h                *harness
	sim              *oktatest.Server
	fake             *sinktest.Server
	url              string
	keyPEM, otherPEM []byte
	keyFile          string
}

func newOAuthOrg(t *testing.T) *oauthOrg {
	t.Helper()
	key, pemBytes := rsaPEM(t)
	_, other := rsaPEM(t)
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "nc-1", Algorithm: string(jose.RS256), Use: "sig"}
	sim := oktatest.New(oktatest.Options{Users: 40, Seed: 3, Token: "00Token-For-OAuth-Test", NoLimits: true,
		OAuthApps: []oktatest.OAuthApp{
			{ClientID: "0oaNeuronsApp", Keys: []jose.JSONWebKey{jwk}, Scopes: okta.DefaultScopes, DPoP: true},
			{ClientID: "0oaFewScopes", Keys: []jose.JSONWebKey{jwk}, DPoP: true,
				Scopes: []string{"okta.users.read", "okta.apps.read", "okta.logs.read", "okta.orgs.read"}},
		}})
	srv := sim.Start()
	t.Cleanup(srv.Close)
	h := newHarness(t)
	fake := h.withFakeSink("Sink-Secret-OAuth")
	h.env["SIM_TOKEN"] = "00Token-For-OAuth-Test"
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return &oauthOrg{h: h, sim: sim, fake: fake, url: srv.URL, keyPEM: pemBytes, otherPEM: other, keyFile: keyFile}
}

func rsaPEM(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func showJSON(t *testing.T, h *harness, name string) api.Connector {
	t.Helper()
	var v api.Connector
	if err := json.Unmarshal([]byte(h.mustRun("connector", "show", name, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func setting(v api.Connector, flag string) (string, bool) {
	for _, o := range v.Options {
		if o.Flag == flag {
			return o.Value, true
		}
	}
	return "", false
}

// An Okta connector signs in as an OAuth service app: added with its client
// ID and private key (sealed, never shown), tested, run (with DPoP, as the
// app requires), switched to a token and back; the key shows nowhere.
func TestOktaConnectorAsAnOAuthApp(t *testing.T) {
	o := newOAuthOrg(t)
	h := o.h
	var outputs []string
	keep := func(r result) result { outputs = append(outputs, r.stdout, r.stderr); return r }
	keep(h.mustRun("connector", "add", "okta", "--name", "App", "--url", o.url, "--auth", "oauth",
		"--client-id", "0oaNeuronsApp", "--private-key-file", o.keyFile, "--inactive"))
	v := showJSON(t, h, "App")
	if a, _ := setting(v, "auth"); a != "oauth" || v.ClientID != "0oaNeuronsApp" || v.Secrets["privateKey"] != "set" || len(v.Secrets) != 1 {
		t.Errorf("show --json: %+v", v)
	}
	if r := keep(h.mustRun("connector", "show", "App")); !strings.Contains(r.stdout, "Sign-in:") || !strings.Contains(r.stdout, "Private key:") ||
		!strings.Contains(r.stdout, "0oaNeuronsApp") {
		t.Errorf("show:\n%s", r.stdout)
	}
	if r := keep(h.mustRun("connector", "test", "App")); !strings.Contains(r.stdout, "accepted the OAuth app 0oaNeuronsApp and can read users") ||
		strings.Contains(r.stdout, "warning") {
		t.Errorf("test: %q", r.stdout)
	}
	keep(h.mustRun("run", "App"))
	id := showJSON(t, h, "App").ID
	if got, want := len(o.fake.Users(id)), len(o.sim.IDs("ACTIVE")); got != want || want == 0 {
		t.Errorf("the sink holds %d users, want %d", got, want)
	}
	if dpop := schemesSeen(o.sim)["DPoP"]; dpop == 0 || schemesSeen(o.sim)["SSWS"] > 0 {
		t.Errorf("requests by scheme: %v", schemesSeen(o.sim))
	}

	// To a token and back: each switch needs the new way's secret and
	// forgets the old one.
	keep(h.mustRun("connector", "edit", "App", "--auth", "token", "--token-env", "SIM_TOKEN"))
	v = showJSON(t, h, "App")
	if a, _ := setting(v, "auth"); a != "token" || v.ClientID != "" || v.Secrets["token"] != "set" || len(v.Secrets) != 1 {
		t.Errorf("after the switch to a token: %+v", v)
	}
	if _, ok := setting(v, "client-id"); ok {
		t.Error("a token connector shows a client ID")
	}
	if sealed := secretsOf(t, h, id); strings.Join(sealed, ",") != "token" {
		t.Errorf("sealed secrets after the switch to a token: %v", sealed)
	}
	keep(h.mustRun("connector", "test", "App"))
	keep(h.runIn(string(o.keyPEM), "connector", "edit", "App", "--auth", "oauth", "--client-id", "0oaNeuronsApp", "--private-key-stdin"))
	if sealed := secretsOf(t, h, id); strings.Join(sealed, ",") != "private_key" {
		t.Errorf("sealed secrets after the switch back: %v", sealed)
	}
	keep(h.mustRun("run", "App", "--full"))

	// The key is in no output and in no file of the data directory.
	lines := strings.Split(strings.TrimSpace(string(o.keyPEM)), "\n")
	body := lines[1 : len(lines)-1]
	for i, out := range outputs {
		for _, l := range body {
			if strings.Contains(out, l) {
				t.Fatalf("output %d shows the private key:\n%s", i, out)
			}
		}
	}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(h.dir, e.Name()))
		for _, l := range body {
			if err == nil && bytes.Contains(b, []byte(l)) {
				t.Fatalf("%s holds the private key in plain text", e.Name())
			}
		}
	}
}

// secretsOf lists the names of the secrets sealed for a connector.
func secretsOf(t *testing.T, h *harness, id string) []string {
	t.Helper()
	db, err := store.Open(store.PathIn(h.dir), store.Options{Key: keyFunc(settings.Settings{DataDir: h.dir})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var names []string
	err = db.View(func(tx *store.Tx) error {
		for _, n := range []string{"token", "private_key"} {
			if tx.HasSecret(id, n) {
				names = append(names, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func schemesSeen(sim *oktatest.Server) map[string]int {
	out := map[string]int{}
	for _, r := range sim.Requests() {
		out[r.Auth]++
	}
	return out
}

// Every mistake in signing in as an app is one line with exit 2, and
// changes nothing.
func TestOAuthOptionMistakes(t *testing.T) {
	o := newOAuthOrg(t)
	h := o.h
	h.mustRun("connector", "add", "okta", "--name", "Tok", "--url", o.url, "--token-env", "SIM_TOKEN")
	pub := filepath.Join(t.TempDir(), "pub.pem")
	key, _ := rsaPEM(t)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	_ = os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	junk := filepath.Join(t.TempDir(), "junk.pem")
	_ = os.WriteFile(junk, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), 0o600)
	add := []string{"connector", "add", "okta", "--name", "New", "--url", o.url}
	cases := []struct {
		args []string
		want string
	}{
		{append(add, "--auth", "oauth", "--private-key-file", o.keyFile), "--auth oauth needs --client-id"},
		{append(add, "--auth", "oauth", "--client-id", "0oa1"), "the OAuth app's private key is required: give --private-key-env VAR, --private-key-file FILE or --private-key-stdin"},
		{append(add, "--auth", "oauth", "--client-id", "0oa1", "--private-key-file", pub), "give the private key, not the public key"},
		{append(add, "--auth", "oauth", "--client-id", "0oa1", "--private-key-file", junk), "not a readable RSA or EC private key"},
		{append(add, "--auth", "oauth", "--client-id", "0oa1", "--token-env", "SIM_TOKEN"), "the Okta API token given is the secret of --auth token"},
		{append(add, "--client-id", "0oa1", "--token-env", "SIM_TOKEN"), "--client-id is an option of --auth oauth"},
		{append(add, "--auth", "saml", "--token-env", "SIM_TOKEN"), `unknown sign-in "saml" for okta connectors; valid: token, oauth`},
		{append(add, "--auth", "oauth", "--client-id", "two words", "--private-key-file", o.keyFile), "--client-id: \"two words\" is not an identifier"},
		{append(add, "--auth", "oauth", "--client-id", "0oa1", "--private-key-file", o.keyFile, "--token-env", "SIM_TOKEN"), "both give a secret; give only one"},
		{[]string{"connector", "edit", "Tok", "--client-id", "0oa1"}, "--client-id is an option of --auth oauth"},
		{[]string{"connector", "edit", "Tok", "--auth", "oauth", "--client-id", "0oa1"}, "which needs the OAuth app's private key"},
		{[]string{"connector", "edit", "Tok", "--private-key-file", o.keyFile}, "add --auth oauth to switch"},
		{[]string{"connector", "add", "onelogin", "--name", "OL", "--domain", "acme.onelogin.com", "--client-id", "c", "--auth", "oauth"},
			"--auth chooses how okta connectors sign in; onelogin connectors sign in one way, with --domain, --client-id and --client-secret-env, --client-secret-file or --client-secret-stdin"},
	}
	before := h.snapshot()
	for _, tc := range cases {
		r := h.run(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q on one line", tc.args[2:], r.code, r.stderr, tc.want)
		}
	}
	if after := h.snapshot(); !maps.Equal(before, after) {
		t.Error("a refused command changed the data directory")
	}
}

// connector test explains the app's own mistakes: a key Okta does not
// know, an optional scope not granted (a line each, and the test passes),
// no admin role.
func TestConnectorTestExplainsOAuthMistakes(t *testing.T) {
	o := newOAuthOrg(t)
	h := o.h
	other := filepath.Join(t.TempDir(), "other.pem")
	_ = os.WriteFile(other, o.otherPEM, 0o600)
	h.mustRun("connector", "add", "okta", "--name", "Wrong key", "--url", o.url, "--auth", "oauth", "--client-id", "0oaNeuronsApp",
		"--private-key-file", other)
	r := h.run("connector", "test", "Wrong key")
	if r.code != 1 || !strings.Contains(r.stderr, "Okta refused the app 0oaNeuronsApp") || !strings.Contains(r.stderr, "Public Keys") ||
		!strings.Contains(r.stderr, `connector edit "Wrong key" --client-id ID --private-key-file FILE`) {
		t.Errorf("a key the app does not have: exit %d, %q", r.code, r.stderr)
	}
	h.mustRun("connector", "add", "okta", "--name", "Few", "--url", o.url, "--auth", "oauth", "--client-id", "0oaFewScopes",
		"--private-key-file", o.keyFile, "--key-id", "nc-1")
	r = h.mustRun("connector", "test", "Few")
	if !strings.Contains(r.stdout, "can read users\nwarning: the OAuth app 0oaFewScopes is not granted okta.devices.read, so device type and OS are not read "+
		"(each user keeps the devices last read, if any); "+
		"grant it in the Admin Console (Applications > Applications > the app > Okta API Scopes)") {
		t.Errorf("a scope not granted: %q", r.stdout)
	}
	h.mustRun("connector", "add", "okta", "--name", "Role", "--url", o.url, "--auth", "oauth", "--client-id", "0oaNeuronsApp",
		"--private-key-file", o.keyFile)
	h.mustRun("run", "Role")
	o.sim.SetNoAdmin(true)
	r = h.run("connector", "test", "Role")
	if r.code != 1 || !strings.Contains(r.stderr, "the OAuth app 0oaNeuronsApp lacks an admin role") ||
		!strings.Contains(r.stderr, "assign the app the Read-Only Administrator role") {
		t.Errorf("no admin role: exit %d, %q", r.code, r.stderr)
	}
}
