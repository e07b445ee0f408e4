package oktatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"neurons-connector/clock"
)

// The tests play the client side by hand, from RFC 7523 and RFC 9449 and
// okta-api.md §1.2, not from the connector's client.

type appKeys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey // the DPoP key
	kid  string
	app  OAuthApp
	ts   *httptest.Server
	sim  *Server
	clk  *clock.Fake
	jtis int
}

func newOAuthOrg(t *testing.T, dpop bool, scopes ...string) *appKeys {
	t.Helper()
	return newOAuthOrgLimited(t, nil, dpop, scopes...)
}

// newOAuthOrgLimited is newOAuthOrg with rate limits (nil: none).
func newOAuthOrgLimited(t *testing.T, limits map[string]int, dpop bool, scopes ...string) *appKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := &appKeys{rsa: rk, ec: ek, kid: "key-2026"}
	k.app = OAuthApp{ClientID: "0oaservice123", Scopes: scopes, DPoP: dpop,
		Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
	k.sim, k.ts, k.clk = start(t, Options{Users: 20, NoLimits: limits == nil, Limits: limits, OAuthApps: []OAuthApp{k.app}, TokenTTL: 10 * time.Minute})
	return k
}

// assertion signs a client assertion; edit changes its claims first.
func (k *appKeys) assertion(t *testing.T, key crypto.Signer, kid string, edit func(c *jwt.Claims)) string {
	t.Helper()
	k.jtis++
	now := k.clk.Now()
	c := jwt.Claims{Issuer: k.app.ClientID, Subject: k.app.ClientID, Audience: jwt.Audience{k.ts.URL + TokenPath},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: fmt.Sprintf("assertion-%d", k.jtis)}
	if edit != nil {
		edit(&c)
	}
	alg := jose.RS256
	if _, isEC := key.(*ecdsa.PrivateKey); isEC {
		alg = jose.ES256
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// proof signs a DPoP proof with the app's EC key.
func (k *appKeys) proof(t *testing.T, method, url, token, nonce string) string {
	t.Helper()
	k.jtis++
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.ec},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"htm": method, "htu": url, "iat": k.clk.Now().Unix(), "jti": fmt.Sprintf("proof-%d", k.jtis)}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answer is what an endpoint said.
type answer struct {
	StatusCode int
	Header     http.Header
}

// tokenCall posts to the token endpoint.
func (k *appKeys) tokenCall(t *testing.T, assertion, scope, proof string) (answer, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	req, _ := http.NewRequest(http.MethodPost, k.ts.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &out)
	return answer{resp.StatusCode, resp.Header}, out
}

// api calls the Management API with an access token.
func (k *appKeys) api(t *testing.T, path, scheme, token, proof string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, k.ts.URL+path, nil)
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return answer{resp.StatusCode, resp.Header}
}

func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	k := newOAuthOrg(t, false, "okta.users.read", "okta.apps.read")
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, c := range []struct {
		name      string
		assertion func() string
		scope     string
		status    int
		errCode   string
	}{
		{"signed by another key", func() string { return k.assertion(t, other, k.kid, nil) }, "okta.users.read", 401, "invalid_client"},
		{"an unregistered kid", func() string { return k.assertion(t, k.rsa, "old-key", nil) }, "okta.users.read", 401, "invalid_client"},
		{"aud another URL", func() string {
			return k.assertion(t, k.rsa, k.kid, func(c *jwt.Claims) { c.Audience = jwt.Audience{k.ts.URL + "/oauth2/default/v1/token"} })
		}, "okta.users.read", 401, "invalid_client"},
		{"expired", func() string {
			return k.assertion(t, k.rsa, k.kid, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(k.clk.Now().Add(-time.Second)) })
		}, "okta.users.read", 401, "invalid_client"},
		{"exp over an hour ahead", func() string {
			return k.assertion(t, k.rsa, k.kid, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(k.clk.Now().Add(2 * time.Hour)) })
		}, "okta.users.read", 401, "invalid_client"},
		{"sub not the client", func() string {
			return k.assertion(t, k.rsa, k.kid, func(c *jwt.Claims) { c.Subject = "someone" })
		}, "okta.users.read", 401, "invalid_client"},
		{"no jti", func() string { return k.assertion(t, k.rsa, k.kid, func(c *jwt.Claims) { c.ID = "" }) }, "okta.users.read", 401, "invalid_client"},
		{"a scope not granted", func() string { return k.assertion(t, k.rsa, k.kid, nil) }, "okta.users.read okta.logs.read", 400, "invalid_scope"},
		{"no scope", func() string { return k.assertion(t, k.rsa, k.kid, nil) }, "", 400, "invalid_scope"},
		{"good", func() string { return k.assertion(t, k.rsa, k.kid, nil) }, "okta.users.read", 200, ""},
	} {
		resp, out := k.tokenCall(t, c.assertion(), c.scope, "")
		if resp.StatusCode != c.status || (c.errCode != "" && out["error"] != c.errCode) {
			t.Errorf("%s: %d %v, want %d %s", c.name, resp.StatusCode, out, c.status, c.errCode)
		}
	}
	// The same assertion twice: the second is a replay.
	a := k.assertion(t, k.rsa, k.kid, nil)
	if resp, out := k.tokenCall(t, a, "okta.users.read", ""); resp.StatusCode != 200 || out["token_type"] != "Bearer" || out["expires_in"] != 600.0 {
		t.Fatalf("first use: %d %v", resp.StatusCode, out)
	}
	if resp, out := k.tokenCall(t, a, "okta.users.read", ""); resp.StatusCode != 401 || !strings.Contains(out["error_description"].(string), "already been used") {
		t.Errorf("replayed jti: %d %v", resp.StatusCode, out)
	}
}

func TestBearerTokensCarryScopesAndExpire(t *testing.T) {
	k := newOAuthOrg(t, false, "okta.users.read")
	_, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", "")
	tok, _ := out["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", out)
	}
	if resp := k.api(t, "/api/v1/users?limit=2", "Bearer", tok, ""); resp.StatusCode != 200 {
		t.Fatalf("users with okta.users.read: %d", resp.StatusCode)
	}
	if resp := k.api(t, "/api/v1/apps", "Bearer", tok, ""); resp.StatusCode != 403 {
		t.Errorf("apps without okta.apps.read: %d, want 403", resp.StatusCode)
	}
	if resp := k.api(t, "/api/v1/users", "DPoP", tok, ""); resp.StatusCode != 401 {
		t.Errorf("a Bearer token presented as DPoP: %d, want 401", resp.StatusCode)
	}
	k.clk.Advance(10 * time.Minute)
	if resp := k.api(t, "/api/v1/users", "Bearer", tok, ""); resp.StatusCode != 401 {
		t.Errorf("an expired token: %d, want 401", resp.StatusCode)
	}
	if resp := k.api(t, "/api/v1/users", "Bearer", "made-up", ""); resp.StatusCode != 401 {
		t.Errorf("an unknown token: %d, want 401", resp.StatusCode)
	}
}

func TestDPoPNoncesAndBinding(t *testing.T) {
	k := newOAuthOrg(t, true, "okta.users.read")
	tokenURL := k.ts.URL + TokenPath
	// No proof, then a proof without the nonce: told the nonce.
	if resp, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", ""); resp.StatusCode != 400 || out["error"] != "invalid_dpop_proof" {
		t.Fatalf("no proof: %d %v", resp.StatusCode, out)
	}
	resp, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", k.proof(t, http.MethodPost, tokenURL, "", ""))
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != 400 || out["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("no nonce: %d %v nonce %q", resp.StatusCode, out, nonce)
	}
	if resp, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", k.proof(t, http.MethodPost, k.ts.URL+"/elsewhere", "", nonce)); resp.StatusCode != 400 || out["error"] != "invalid_dpop_proof" {
		t.Errorf("htu elsewhere: %d %v", resp.StatusCode, out)
	}
	resp, out = k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", k.proof(t, http.MethodPost, tokenURL, "", nonce))
	tok, _ := out["access_token"].(string)
	if resp.StatusCode != 200 || out["token_type"] != "DPoP" || tok == "" {
		t.Fatalf("with the nonce: %d %v", resp.StatusCode, out)
	}
	usersURL := k.ts.URL + "/api/v1/users"
	if r := k.api(t, "/api/v1/users?limit=1", "DPoP", tok, k.proof(t, http.MethodGet, usersURL, tok, nonce)); r.StatusCode != 200 {
		t.Fatalf("an API call with its proof: %d", r.StatusCode)
	}
	for name, c := range map[string]struct{ scheme, proof string }{
		"no proof":             {"DPoP", ""},
		"presented as Bearer":  {"Bearer", k.proof(t, http.MethodGet, usersURL, tok, nonce)},
		"ath of another token": {"DPoP", k.proof(t, http.MethodGet, usersURL, "another", nonce)},
		"htm POST":             {"DPoP", k.proof(t, http.MethodPost, usersURL, tok, nonce)},
	} {
		if r := k.api(t, "/api/v1/users", c.scheme, tok, c.proof); r.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", name, r.StatusCode)
		}
	}
	// The same proof twice is a replay.
	p := k.proof(t, http.MethodGet, usersURL, tok, nonce)
	k.api(t, "/api/v1/users", "DPoP", tok, p)
	if r := k.api(t, "/api/v1/users", "DPoP", tok, p); r.StatusCode != 401 {
		t.Errorf("a replayed proof: %d", r.StatusCode)
	}
	// The server moves to a new nonce: an API call is challenged.
	k.sim.RotateDPoPNonce()
	r := k.api(t, "/api/v1/users", "DPoP", tok, k.proof(t, http.MethodGet, usersURL, tok, nonce))
	if r.StatusCode != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) || r.Header.Get("DPoP-Nonce") == nonce || r.Header.Get("DPoP-Nonce") == "" {
		t.Fatalf("an old nonce: %d %q %q", r.StatusCode, r.Header.Get("WWW-Authenticate"), r.Header.Get("DPoP-Nonce"))
	}
	if r2 := k.api(t, "/api/v1/users", "DPoP", tok, k.proof(t, http.MethodGet, usersURL, tok, r.Header.Get("DPoP-Nonce"))); r2.StatusCode != 200 {
		t.Errorf("with the new nonce: %d", r2.StatusCode)
	}
	// A proof by another key than the token's is refused.
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if r := k.api(t, "/api/v1/users", "DPoP", tok, k.proof(t, http.MethodGet, usersURL, tok, r.Header.Get("DPoP-Nonce"))); r.StatusCode != 401 {
		t.Errorf("another key: %d", r.StatusCode)
	}
}

// An OAuth app has its own share of the org's rate limit, as an API token
// has (issue 18 point 6; assumption: the same default share): with a
// 50 % share, the token's half of a window spent, the app still gets its
// half, and only then is the org's limit spent for both.
func TestEachTokenAndAppHasItsOwnShare(t *testing.T) {
	k := newOAuthOrgLimited(t, map[string]int{"users": 10, "user": 1000, "apps": 100, "devices": 100, "logs": 50, "other": 600},
		false, "okta.users.read")
	_, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", "")
	tok, _ := out["access_token"].(string)
	statuses := func(n int, scheme, value string) (codes []int, remaining string) {
		for range n {
			resp := k.api(t, "/api/v1/users?limit=1", scheme, value, "")
			codes = append(codes, resp.StatusCode)
			remaining = resp.Header.Get("X-Rate-Limit-Remaining")
		}
		return codes, remaining
	}
	if codes, rem := statuses(6, "SSWS", token); fmt.Sprint(codes) != "[200 200 200 200 200 429]" || rem != "0" {
		t.Errorf("the API token: %v, remaining %s; want its 5 of 10, then 429", codes, rem)
	}
	if codes, _ := statuses(6, "Bearer", tok); fmt.Sprint(codes) != "[200 200 200 200 200 429]" {
		t.Errorf("the app after the token's share was spent: %v; want its own 5", codes)
	}
	if got := k.sim.MaxTokenShare()["users"]; got != 5 {
		t.Errorf("MaxTokenShare = %d, want 5 (per token or app, not their sum)", got)
	}
	k.clk.Advance(time.Minute)
	if codes, _ := statuses(1, "Bearer", tok); codes[0] != 200 {
		t.Errorf("the app in the next window: %v", codes)
	}
}

// The token endpoint counts in the org authorization server's own bucket
// (1,200 a minute for Enterprise, Okta's "Authentication/End-user rate
// limits"), not in the Management API's: once the org's other clients have
// spent it, a token request gets Okta's 429 with the window's reset, and the
// next window answers again.
func TestTheTokenEndpointHasItsOwnBucket(t *testing.T) {
	k := newOAuthOrgLimited(t, map[string]int{"users": 600, "oauth2": 1200}, false, "okta.users.read")
	got, out := k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", "")
	if got.StatusCode != 200 || got.Header.Get("X-Rate-Limit-Limit") != "1200" || k.sim.Calls()["oauth2"] != 1 || k.sim.Calls()["other"] != 0 {
		t.Fatalf("token: %d, limit %q, calls %v", got.StatusCode, got.Header.Get("X-Rate-Limit-Limit"), k.sim.Calls())
	}
	if tok, _ := out["access_token"].(string); k.api(t, "/api/v1/users?limit=1", "Bearer", tok, "").Header.Get("X-Rate-Limit-Limit") != "600" {
		t.Error("an API call reports the token endpoint's bucket")
	}
	k.sim.OthersSpend("oauth2", 5000)
	got, out = k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", "")
	date, _ := http.ParseTime(got.Header.Get("Date"))
	reset, _ := strconv.ParseInt(got.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if got.StatusCode != 429 || out["errorCode"] != "E0000047" || got.Header.Get("X-Rate-Limit-Remaining") != "0" ||
		time.Unix(reset, 0).Sub(date) <= 0 || time.Unix(reset, 0).Sub(date) > time.Minute {
		t.Fatalf("a spent window: %d %v, headers %v", got.StatusCode, out, got.Header)
	}
	k.clk.Advance(time.Unix(reset, 0).Sub(date))
	if got, _ = k.tokenCall(t, k.assertion(t, k.rsa, k.kid, nil), "okta.users.read", ""); got.StatusCode != 200 {
		t.Errorf("the next window: %d", got.StatusCode)
	}
}
