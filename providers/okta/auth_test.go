package okta

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/secret"
)

// oauthFixture is a simulated org with one API Services app, and a client
// that authenticates as it.
type oauthFixture struct {
	sim    *oktatest.Server
	clock  *clock.Fake
	client *Client
	key    *rsa.PrivateKey
}

func newOAuthFixture(t *testing.T, app oktatest.OAuthApp, key crypto.Signer, kid string) *oauthFixture {
	t.Helper()
	return oauthFixtureOn(t, oktatest.Options{Users: 60, NoLimits: true}, app, key, kid)
}

// oauthFixtureOn is newOAuthFixture on a simulator of the given options.
func oauthFixtureOn(t *testing.T, opts oktatest.Options, app oktatest.OAuthApp, key crypto.Signer, kid string) *oauthFixture {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app.ClientID = "0oaconnector"
	app.Keys = []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"}}
	if key == nil {
		key, kid = rk, "k1"
	}
	fc := clock.NewFake(t0)
	opts.Clock, opts.OAuthApps, opts.TokenTTL = fc, []oktatest.OAuthApp{app}, 10*time.Minute
	sim := oktatest.New(opts)
	srv := sim.Start()
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, Clock: fc, PageSize: 25, Logger: slog.New(slog.DiscardHandler),
		OAuth: &OAuth{ClientID: app.ClientID, Key: key, KeyID: kid}})
	if err != nil {
		t.Fatal(err)
	}
	return &oauthFixture{sim: sim, clock: fc, client: c, key: rk}
}

func (f *oauthFixture) pass(t *testing.T) (int, error) {
	t.Helper()
	n := 0
	_, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}}, func(users []engine.User) error {
		n += len(users)
		return nil
	})
	return n, err
}

func schemes(sim *oktatest.Server) map[string]int {
	out := map[string]int{}
	for _, r := range sim.Requests() {
		out[r.Auth]++
	}
	return out
}

func TestOAuthAppRunsAFullPass(t *testing.T) {
	for _, dpop := range []bool{false, true} {
		f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: DefaultScopes, DPoP: dpop}, nil, "")
		n, err := f.pass(t)
		if err != nil || n == 0 {
			t.Fatalf("dpop %v: %d users, %v", dpop, n, err)
		}
		want := "Bearer"
		if dpop {
			want = "DPoP"
		}
		got := schemes(f.sim)
		if got[want] == 0 || got["SSWS"] > 0 || got[map[bool]string{true: "Bearer", false: "DPoP"}[dpop]] > 0 {
			t.Errorf("dpop %v: requests by scheme %v", dpop, got)
		}
		if f.sim.TokensIssued() != 1 {
			t.Errorf("dpop %v: %d tokens issued for one pass; the token is cached", dpop, f.sim.TokensIssued())
		}
		// The simulator logs a request once its answer is sent: the last
		// one may be logged a moment after the client has counted it.
		calls := f.client.Stats().Calls
		for deadline := time.Now().Add(2 * time.Second); len(f.sim.Requests()) < calls && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if answered := len(f.sim.Requests()); calls != answered {
			t.Errorf("dpop %v: the run counted %d calls, the org answered %d (token requests included)", dpop, calls, answered)
		}
	}
}

// A token that is about to expire is renewed before use; one revoked
// mid-run is renewed once on the 401; a DPoP nonce the server moves to is
// taken from its challenge.
func TestOAuthTokensAreRenewed(t *testing.T) {
	f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: DefaultScopes, DPoP: true}, nil, "")
	if _, err := f.pass(t); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(9 * time.Minute) // a minute of life left: renewed before use
	if _, err := f.pass(t); err != nil || f.sim.TokensIssued() != 2 {
		t.Fatalf("near expiry: %v, %d tokens", err, f.sim.TokensIssued())
	}
	f.sim.RevokeTokens()
	if _, err := f.pass(t); err != nil || f.sim.TokensIssued() != 3 {
		t.Fatalf("revoked: %v, %d tokens", err, f.sim.TokensIssued())
	}
	f.sim.RotateDPoPNonce()
	if _, err := f.pass(t); err != nil || f.sim.TokensIssued() != 3 {
		t.Fatalf("a new nonce: %v, %d tokens (a nonce needs no new token)", err, f.sim.TokensIssued())
	}
}

// The app's mistakes are configuration errors that say what to fix, and
// never quote the key.
func TestOAuthMistakesSayWhatToFix(t *testing.T) {
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, c := range []struct {
		name string
		app  oktatest.OAuthApp
		key  crypto.Signer
		kid  string
		want string
	}{
		{"another key", oktatest.OAuthApp{Scopes: DefaultScopes}, other, "k1", "public key of the private key given is registered"},
		{"an unknown kid", oktatest.OAuthApp{Scopes: DefaultScopes}, nil, "k9", `kid "k9"`},
		{"okta.users.read not granted", oktatest.OAuthApp{Scopes: []string{"okta.apps.read", "okta.orgs.read"}}, nil, "", "grant them to the app"},
	} {
		key, kid := c.key, c.kid
		f := newOAuthFixture(t, c.app, nil, "")
		if key == nil {
			key = f.key
		}
		if kid == "" {
			kid = "k1"
		}
		f.client.auth.(*oauthApp).cfg.Key, f.client.auth.(*oauthApp).cfg.KeyID = key, kid
		_, err := f.pass(t)
		if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a configuration error saying %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), "eyJ") {
			t.Errorf("%s: the error quotes a key or token: %v", c.name, err)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8 := func(k any) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	sec1, _ := x509.MarshalECPrivateKey(ek)
	pub, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	for name, data := range map[string][]byte{
		"RSA PKCS#1": enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)),
		"RSA PKCS#8": enc("PRIVATE KEY", pkcs8(rk)),
		"EC SEC 1":   enc("EC PRIVATE KEY", sec1),
		"EC PKCS#8":  enc("PRIVATE KEY", pkcs8(ek)),
		// What `openssl ecparam -name prime256v1 -genkey` writes: the
		// curve's parameters (its OID) first, then the key.
		"EC after its parameters": append(enc("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}),
			enc("EC PRIVATE KEY", sec1)...),
		// A bundle: the app's certificate or public key, then its key.
		"a bundle": append(append(enc("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), enc("PUBLIC KEY", pub)...),
			enc("PRIVATE KEY", pkcs8(rk))...),
	} {
		if _, err := ParsePrivateKey(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	secretBytes := x509.MarshalPKCS1PrivateKey(rk)[10:40]
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"not PEM":        {[]byte("hello"), "neither PEM nor a JWK"},
		"the public key": {enc("PUBLIC KEY", pub), "not the public key"},
		"damaged":        {enc("PRIVATE KEY", secretBytes), "not a readable"},
		// `openssl genrsa -aes256` (OpenSSL 3) and `openssl pkcs8 -topk8`
		// with a passphrase; and OpenSSL 1.1's genrsa -aes256, whose
		// encryption is in the block's headers.
		"encrypted PKCS#8": {enc("ENCRYPTED PRIVATE KEY", secretBytes), "encrypted with a passphrase"},
		"encrypted PKCS#1": {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: secretBytes,
			Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,0123456789ABCDEF0123456789ABCDEF"}}), "encrypted with a passphrase"},
		"OpenSSH's format": {enc("OPENSSH PRIVATE KEY", secretBytes), "ssh-keygen -p -m PKCS8"},
		"a PuTTY key":      {[]byte("PuTTY-User-Key-File-3: ssh-rsa\r\nEncryption: none\r\n"), "PuTTYgen"},
		"parameters alone": {enc("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), "no private key"},
	} {
		_, err := ParsePrivateKey(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), secretBytes) {
			t.Errorf("%s: the error quotes the key", name)
		}
	}
}

// The Admin Console's "Generate new key" shows the private key as a JWK
// (JSON) unless PEM is chosen, and tools that make keys for service apps
// write JWKs: the key is taken in either form, and a JWK's kid is the key
// ID when --key-id is not given (an app with several keys needs it).
func TestPrivateKeyAsJWK(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := func(k any, kid string) []byte {
		b, err := jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "RS256", Use: "sig"}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, c := range map[string]struct {
		data    []byte
		wantKid string
	}{
		"RSA":                 {jwk(rk, "k2"), "k2"},
		"EC, no kid":          {jwk(ek, ""), ""},
		"a set of one":        {[]byte(`{"keys":[` + string(jwk(rk, "k3")) + `]}`), "k3"},
		"pretty, CRLF, a BOM": {append([]byte("\ufeff"), bytes.ReplaceAll(jwk(rk, "k4"), []byte(`,"`), []byte(",\r\n  \""))...), "k4"},
	} {
		key, kid, err := parseKey(c.data)
		if err != nil || key == nil || kid != c.wantKid {
			t.Errorf("%s: %v, kid %q, %v", name, key != nil, kid, err)
		}
	}
	secretPart := jwk(rk, "k5")[40:80]
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"the public key": {jwk(&rk.PublicKey, "k1"), "the JWK holds a public key"},
		"a set of two":   {[]byte(`{"keys":[` + string(jwk(rk, "a")) + `,` + string(jwk(ek, "b")) + `]}`), "2 keys"},
		"a secret key":   {jwk([]byte("0123456789abcdef0123456789abcdef"), "s"), "neither an RSA nor an EC"},
		"damaged":        {append([]byte(`{"kty":"RSA","n":"`), secretPart...), "not a readable JWK"},
	} {
		_, _, err := parseKey(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), secretPart) {
			t.Errorf("%s: the error quotes the key", name)
		}
	}
	// An app with two keys registered: the JWK's kid picks ours, where
	// the same key as PEM without --key-id is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	app := oktatest.OAuthApp{ClientID: "0oatwo", Scopes: DefaultScopes, Keys: []jose.JSONWebKey{
		{Key: &other.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"},
		{Key: &rk.PublicKey, KeyID: "k2", Algorithm: string(jose.RS256), Use: "sig"}}}
	sim := oktatest.New(oktatest.Options{Users: 30, NoLimits: true, OAuthApps: []oktatest.OAuthApp{app}})
	srv := sim.Start()
	t.Cleanup(srv.Close)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	for name, c := range map[string]struct {
		key  []byte
		want string
	}{
		"JWK with kid k2":    {jwk(rk, "k2"), ""},
		"PEM without its ID": {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), "is not registered"},
	} {
		p, err := open(engine.OpenRequest{Config: connector.Config{Name: "x", URL: srv.URL, Auth: "oauth", ClientID: app.ClientID},
			Secret: secret.New(c.key), Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = p.(*Client).Check(t.Context(), nil)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// An app not granted the scopes of optional parts still runs: the token is
// asked again without them, and the run leaves those parts out with a
// warning that names the scope and where to grant it.
func TestOAuthOptionalScopesMissing(t *testing.T) {
	f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: []string{"okta.users.read", "okta.orgs.read"}}, nil, "")
	var users []engine.User
	cur, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}}, func(page []engine.User) error {
		users = append(users, page...)
		return nil
	})
	if err != nil || len(users) == 0 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	for _, u := range users {
		if _, ok := u.Raw["appLinks"]; ok {
			t.Fatalf("user %s has appLinks without okta.apps.read", u.ID)
		}
	}
	// An incremental pass: the System Log is not asked either.
	if err := f.sim.EditProfile(f.sim.IDs("ACTIVE")[0], map[string]any{"title": "Changed"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Incremental, Cursor: cur, Statuses: []string{"ACTIVE"}},
		func([]engine.User) error { return nil }); err != nil {
		t.Fatal(err)
	}
	warnings := f.client.Stats().Warnings
	for _, scope := range []string{"okta.apps.read", "okta.devices.read", "okta.logs.read", "okta.groups.read"} {
		n := 0
		for _, w := range warnings {
			if strings.Contains(w, "not granted "+scope) {
				n++
			}
		}
		if n != 2 { // once per pass
			t.Errorf("%d warnings for %s in two passes:\n%s", n, scope, strings.Join(warnings, "\n"))
		}
	}
	joined := strings.Join(warnings, "\n")
	if strings.Contains(joined, "not granted okta.orgs.read") || strings.Contains(joined, "unavailable") || strings.Contains(joined, "System Log is not readable") ||
		f.sim.TokensIssued() != 1 {
		t.Errorf("warnings %s; %d tokens", joined, f.sim.TokensIssued())
	}
	// No call bound to be refused was made.
	for _, r := range f.sim.Requests() {
		if strings.HasPrefix(r.URL, "/api/v1/apps") || strings.HasPrefix(r.URL, "/api/v1/devices") || strings.HasPrefix(r.URL, "/api/v1/logs") ||
			strings.HasPrefix(r.URL, "/api/v1/groups") ||
			strings.Contains(r.URL, "/appLinks") || r.Status == 403 {
			t.Errorf("the passes called %s (%d) without its scope", r.URL, r.Status)
		}
	}
}

// The token endpoint failing for a while (a 503, a 502, a reset
// connection) is a transient failure: the request is tried again and the
// pass completes.
func TestOAuthTokenEndpointOutage(t *testing.T) {
	for name, fault := range map[string]oktatest.Fault{
		"503 twice":  {Path: oktatest.TokenPath, Times: 2, Status: 503},
		"502":        {Path: oktatest.TokenPath, Status: 502},
		"connection": {Path: oktatest.TokenPath, Reset: true},
		// In OAuth's shape: a failed token inline hook (Okta's reference), a
		// gateway. Before, these were taken as the app's settings refused,
		// and the run waited hours for an admin.
		"server_error 500":        {Path: oktatest.TokenPath, Status: 500, OAuthError: "server_error", Summary: "hook failed"},
		"server_error 400":        {Path: oktatest.TokenPath, Status: 400, OAuthError: "server_error", Summary: "hook failed"},
		"temporarily_unavailable": {Path: oktatest.TokenPath, Times: 2, Status: 503, OAuthError: "temporarily_unavailable"},
	} {
		f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: DefaultScopes}, nil, "")
		f.client.opts.MaxRetries = 4
		f.sim.Inject(fault)
		n, err := f.pass(t)
		if err != nil || n == 0 || f.sim.PendingFaults() != 0 {
			t.Errorf("%s: %d users, %v (faults left %d)", name, n, err, f.sim.PendingFaults())
		}
	}
}

// The org's token endpoint spent by its other clients (an integration that
// loops on a refused secret) is waited out as Okta's 429 asks: until the
// window's reset, with one token request per window, however many
// requests of the pass need the token at once. Before, each of them sent
// its own token request at each of five backoff steps (1 s to 16 s), 31 s
// in all, and the pass failed before a reset up to a minute away.
func TestATokenEndpointStormIsWaitedOut(t *testing.T) {
	for _, midPass := range []bool{false, true} {
		f := oauthFixtureOn(t, oktatest.Options{Users: 60}, oktatest.OAuthApp{Scopes: DefaultScopes}, nil, "")
		if midPass {
			// A token in hand, revoked: every request in flight is refused
			// and wants a new one while the endpoint is spent.
			if n, err := f.pass(t); err != nil || n == 0 {
				t.Fatalf("first pass: %d users, %v", n, err)
			}
			f.sim.RevokeTokens()
		}
		f.clock.Advance(20 * time.Second) // 40 s from the window's reset
		f.sim.OthersSpend("oauth2", 1_000_000)
		before := len(f.sim.Requests())
		storm := f.clock.Now()
		if n, err := f.pass(t); err != nil || n == 0 {
			t.Fatalf("mid-pass %v: %d users, %v", midPass, n, err)
		}
		var refused, issued []time.Time
		for _, r := range f.sim.Requests()[before:] {
			switch {
			case r.URL != oktatest.TokenPath:
			case r.Status == http.StatusTooManyRequests:
				refused = append(refused, r.Time)
			case r.Status == http.StatusOK:
				issued = append(issued, r.Time)
			}
		}
		reset := storm.Truncate(time.Minute).Add(time.Minute)
		if len(refused) != 1 || len(issued) != 1 || issued[0].Before(reset) {
			t.Errorf("mid-pass %v: token requests refused at %v and issued at %v; the window reset at %v",
				midPass, refused, issued, reset)
		}
		if s := f.client.Stats(); s.RateLimitWaits == 0 || s.RateLimitWait < 40*time.Second {
			t.Errorf("mid-pass %v: the wait is not counted as a rate-limit wait: %+v", midPass, s)
		}
	}
}

// Requests that want a token at once while the endpoint is spent send one
// token request between them, not one each in turn: the simulator's clock
// stands still here, as a real one nearly does between them.
func TestRequestsThatWantATokenAtOnceAskOnce(t *testing.T) {
	f := oauthFixtureOn(t, oktatest.Options{Users: 60}, oktatest.OAuthApp{Scopes: DefaultScopes}, nil, "")
	f.sim.OthersSpend("oauth2", 1_000_000)
	app := f.client.auth.(*oauthApp)
	u, _ := url.Parse(f.client.opts.BaseURL + "/api/v1/users")
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, _, err := app.header(t.Context(), http.MethodGet, u)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; !isTokenWait(err) {
			t.Errorf("a request got %v, not the wait", err)
		}
	}
	if n := f.sim.Calls()["oauth2"]; n != 1 {
		t.Errorf("%d token requests into a spent window, want 1", n)
	}
}

// A run asks for the scopes of what it reads only: with a mapping that
// reads no apps or devices, an app granted neither runs without a warning.
func TestOAuthAsksOnlyTheScopesTheRunUses(t *testing.T) {
	f := newOAuthFixture(t, oktatest.OAuthApp{Scopes: []string{"okta.users.read", "okta.logs.read", "okta.orgs.read"}}, nil, "")
	n := 0
	_, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}, Fields: []string{"profile", "status"}},
		func(users []engine.User) error {
			n += len(users)
			return nil
		})
	if err != nil || n == 0 {
		t.Fatalf("%d users, %v", n, err)
	}
	if w := f.client.Stats().Warnings; len(w) > 0 || f.sim.TokensIssued() != 1 {
		t.Errorf("warnings %v, %d tokens", w, f.sim.TokensIssued())
	}
	if got := f.client.auth.(*oauthApp).cfg.Scopes; strings.Join(got, " ") != "okta.users.read okta.logs.read okta.orgs.read" {
		t.Errorf("scopes asked %v", got)
	}
}

// An OAuth app's share of the org's limits is paced as a token's is
// (issue 18 point 6): a full pass that needs several windows of the users
// bucket never sends more than the app's share in one and provokes no 429.
// With DPoP, a request the server challenges for a new nonce (401
// use_dpop_nonce) is sent twice, and Okta counts both: here the nonce
// moves after every 10 calls, and the second sending is paced as a
// request of its own. Before, it went unpaced and uncounted: 199 users
// requests in a window of 180, 34 and 35 in windows of 30 for devices and
// apps.
func TestOAuthAppIsPacedToItsShare(t *testing.T) {
	for _, dpop := range []bool{false, true} {
		t.Run(fmt.Sprint("dpop=", dpop), func(t *testing.T) {
			t.Parallel()
			rk, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			app := oktatest.OAuthApp{ClientID: "0oapaced", Scopes: DefaultScopes, DPoP: dpop,
				Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"}}}
			fc := clock.NewFake(t0)
			so := oktatest.Options{Users: 8000, Clock: fc, OAuthApps: []oktatest.OAuthApp{app}}
			if dpop {
				so.NonceEvery = 10
			}
			sim := oktatest.New(so)
			srv := sim.Start()
			t.Cleanup(srv.Close)
			c, err := New(Options{BaseURL: srv.URL, Clock: fc, PageSize: 20, RateShare: 30, Logger: slog.New(slog.DiscardHandler),
				OAuth: &OAuth{ClientID: app.ClientID, Key: rk, KeyID: "k1"}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if _, err := c.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE", "SUSPENDED", "STAGED"}},
				func(users []engine.User) error {
					n += len(users)
					return nil
				}); err != nil || n == 0 {
				t.Fatalf("%d users, %v", n, err)
			}
			for bucket, most := range sim.MaxTokenShare() {
				if budget := sim.Limit(bucket) * 30 / 100; most > budget {
					t.Errorf("bucket %s: %d requests in one window, the app's share allows %d", bucket, most, budget)
				}
			}
			if users := sim.MaxTokenShare()["users"]; users < sim.Limit("users")*30/100*9/10 {
				t.Errorf("the users bucket peaked at %d per window: the pass did not need several windows, or left the share unused", users)
			}
			if n := sim.Statuses()[429]; n != 0 {
				t.Errorf("%d 429s", n)
			}
			if challenged := sim.Statuses()[401]; dpop != (challenged > 30) {
				t.Errorf("%d nonce challenges: the test proves nothing", challenged)
			}
		})
	}
}

// A computer whose clock is off (a VM resumed, a server without NTP) dates
// its client assertions and DPoP proofs wrongly, and Okta refuses them
// ("The client_assertion token is expired.") as it would a wrong key. The
// client reads Okta's clock from the token endpoint's Date, signs again by
// it, and says that this computer's clock is off; with the clock right, it
// says nothing.
func TestOAuthSurvivesASkewedClock(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration
		dpop bool
	}{
		{-10 * time.Minute, false}, // assertions expired on arrival
		{2 * time.Hour, false},     // assertions that expire too far ahead
		{-10 * time.Minute, true},  // DPoP proofs out of the server's window too
		{8 * time.Minute, true},
		{0, true},
	} {
		t.Run(fmt.Sprintf("skew %v dpop %v", tc.skew, tc.dpop), func(t *testing.T) {
			rk, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			app := oktatest.OAuthApp{ClientID: "0oaskewed", Scopes: DefaultScopes, DPoP: tc.dpop,
				Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"}}}
			server := clock.NewFake(t0)
			sim := oktatest.New(oktatest.Options{Users: 60, NoLimits: true, Clock: server, OAuthApps: []oktatest.OAuthApp{app}})
			srv := sim.Start()
			t.Cleanup(srv.Close)
			c, err := New(Options{BaseURL: srv.URL, Clock: clock.NewFake(t0.Add(tc.skew)), PageSize: 25, Logger: slog.New(slog.DiscardHandler),
				OAuth: &OAuth{ClientID: app.ClientID, Key: rk, KeyID: "k1"}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			_, err = c.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}}, func(users []engine.User) error {
				n += len(users)
				return nil
			})
			if err != nil || n == 0 {
				t.Fatalf("%d users, %v", n, err)
			}
			warned := strings.Contains(strings.Join(c.Stats().Warnings, "\n"), "clock")
			if warned != (tc.skew != 0) {
				t.Errorf("skew %v: warnings %q", tc.skew, c.Stats().Warnings)
			}
		})
	}
}

// An org URL given with https's own port (or a final dot) is the org's
// URL: the client assertion's audience is the token endpoint as Okta names
// it, which Okta compares with the aud claim.
func TestTheAssertionsAudienceIsTheOrgsTokenEndpoint(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, u := range []string{"https://acme.okta.com:443", "https://ACME.okta.com.", "acme.okta.com"} {
		c, err := New(Options{BaseURL: u, OAuth: &OAuth{ClientID: "0oa1", Key: rk}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.auth.(*oauthApp).tokenURL; got != "https://acme.okta.com/oauth2/v1/token" {
			t.Errorf("%s: the assertion's audience is %s", u, got)
		}
	}
}

// A next link is followed only to the org itself: the token goes nowhere
// else, whatever a page's Link header says. A link that writes https's own
// port is the org's (before, a connector stored with :443 refused Okta's
// own links at the second page, and one without refused a link with it).
func TestLinksAreFollowedOnlyToTheOrg(t *testing.T) {
	c, err := New(Options{BaseURL: "https://acme.okta.com", Token: secret.New([]byte("00tok"))})
	if err != nil {
		t.Fatal(err)
	}
	for link, ok := range map[string]bool{
		"/api/v1/users?after=1":                           true,
		"https://acme.okta.com/api/v1/users?after=1":      true,
		"https://ACME.okta.com:443/api/v1/users?after=1":  true,
		"https://acme.okta.com:8443/api/v1/users?after=1": false,
		"http://acme.okta.com/api/v1/users?after=1":       false,
		"https://evil.example.com/api/v1/users?after=1":   false,
		"https://acme.okta.com.evil.com/api/v1/users":     false,
		"//evil.example.com/api/v1/users":                 false,
	} {
		if _, err := c.resolve(link); (err == nil) != ok {
			t.Errorf("%s: %v", link, err)
		}
	}
}
