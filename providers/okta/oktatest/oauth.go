package oktatest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OAuthApp is an API Services app of the simulated org (okta-api.md §1.2):
// it authenticates to the org authorization server with a client_assertion
// signed by one of its registered keys (private_key_jwt, the only client
// authentication Okta allows a service app calling the Management API), is
// granted some okta.* scopes, and may require DPoP ("Require Demonstrating
// Proof of Possession header in token requests").
type OAuthApp struct {
	ClientID string
	Keys     []jose.JSONWebKey // its public keys as registered (a JWKS); each with its KeyID
	Scopes   []string          // the okta.* scopes granted
	DPoP     bool
}

// Where Okta's documents are silent the simulator assumes: access tokens
// are opaque strings (Okta's are JWTs, which a client must not read
// anyway); API calls with a DPoP token demand the current nonce as the token
// endpoint does (RFC 9449 §9 lets a resource server do so, and a client must
// handle the challenge either way). The token endpoint counts in the
// "oauth2" bucket (DefaultLimits), org-wide: its requests carry no token,
// so no app's share applies.

// TokenPath is the org authorization server's token endpoint.
const TokenPath = "/oauth2/v1/token" //nolint:gosec // G101: a path, not a credential

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// signingAlgs are the algorithms a client assertion or a DPoP proof may use
// (asymmetric only: RFC 9449 §4.2, and an HMAC assertion would need a
// client secret, which service apps do not have).
var signingAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256}

// proofWindow is how far from the server's clock a DPoP proof's iat may be.
const proofWindow = 5 * time.Minute

type accessToken struct {
	clientID string
	scopes   []string
	expires  time.Time
	jkt      string // the DPoP key's thumbprint; "" for a Bearer token
}

// authServer is the org authorization server's memory: the tokens it
// issued, the assertion and proof IDs it has seen (a replay is refused),
// and the DPoP nonce it currently asks for.
type authServer struct {
	mu     sync.Mutex
	tokens map[string]*accessToken
	seen   map[string]time.Time // assertion and proof jti, until they expire
	nonce  string
	issued int
	proved int // API calls with a valid DPoP proof, for Options.NonceEvery
}

func (a *authServer) init() {
	a.tokens, a.seen, a.nonce = map[string]*accessToken{}, map[string]time.Time{}, randomString()
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthError answers in the OAuth shape the token endpoint uses.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	data, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// endpoint is the URL a client is expected to name for path: this server's,
// as the request reached it, without query (DPoP's htu, the assertion's aud).
func endpoint(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// token is POST /oauth2/v1/token: client credentials with a private_key_jwt
// assertion, and DPoP when the app requires it.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts POST only.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported; service apps use client_credentials.")
		return
	}
	if f.Get("client_assertion_type") != assertionType || f.Get("client_assertion") == "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: a client_assertion of type jwt-bearer is required.")
		return
	}
	app, msg := s.checkAssertion(r, f.Get("client_assertion"))
	if app == nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", msg)
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided.")
		return
	}
	var refused []string
	for _, sc := range scopes {
		if !slices.Contains(app.Scopes, sc) {
			refused = append(refused, sc)
		}
	}
	if len(refused) > 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: "+strings.Join(refused, ", "))
		return
	}
	tok := &accessToken{clientID: app.ClientID, scopes: scopes, expires: s.now().Add(s.tokenTTL())}
	tokenType := "Bearer"
	if app.DPoP {
		jkt, status, code, msg := s.checkProof(w, r, http.MethodPost, endpoint(r, TokenPath), "")
		if jkt == "" {
			oauthError(w, status, code, msg)
			return
		}
		tok.jkt, tokenType = jkt, "DPoP"
	}
	value := randomString()
	s.auth.mu.Lock()
	s.auth.tokens[value] = tok
	s.auth.issued++
	s.auth.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"token_type": tokenType, "expires_in": int(s.tokenTTL() / time.Second),
		"access_token": value, "scope": strings.Join(scopes, " ")})
}

func (s *Server) tokenTTL() time.Duration {
	if s.opts.TokenTTL > 0 {
		return s.opts.TokenTTL
	}
	return time.Hour
}

// checkAssertion verifies a client assertion: signed by a key the app
// registered (by kid), iss = sub = the client ID, aud the token endpoint,
// unexpired and at most an hour ahead, and a jti not seen before. It
// returns the app, or why not.
func (s *Server) checkAssertion(r *http.Request, assertion string) (*OAuthApp, string) {
	tok, err := jwt.ParseSigned(assertion, signingAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, "The client_assertion is not a signed JWT with an asymmetric algorithm."
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, "The client_assertion's claims are unreadable."
	}
	var app *OAuthApp
	for i := range s.opts.OAuthApps {
		if s.opts.OAuthApps[i].ClientID == unverified.Issuer {
			app = &s.opts.OAuthApps[i]
		}
	}
	if app == nil {
		return nil, "The client_id in the client_assertion (iss) is not a registered client."
	}
	kid := tok.Headers[0].KeyID
	var key *jose.JSONWebKey
	for i := range app.Keys {
		if app.Keys[i].KeyID == kid || kid == "" && len(app.Keys) == 1 {
			key = &app.Keys[i]
		}
	}
	if key == nil {
		return nil, fmt.Sprintf("The client_assertion's key (kid %q) is not registered for the client.", kid)
	}
	var c jwt.Claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, "The client_assertion signature is invalid."
	}
	now := s.now()
	switch {
	case c.Issuer != app.ClientID || c.Subject != app.ClientID:
		return nil, "The client_assertion's iss and sub must both be the client_id."
	case !c.Audience.Contains(endpoint(r, TokenPath)):
		return nil, "The audience (aud) of the client_assertion must be the token endpoint: " + endpoint(r, TokenPath)
	case c.Expiry == nil || !now.Before(c.Expiry.Time()):
		return nil, "The client_assertion token is expired."
	case c.Expiry.Time().After(now.Add(time.Hour + time.Minute)):
		return nil, "The client_assertion token has an expiration too far in the future."
	case c.ID == "":
		return nil, "The client_assertion must have a jti."
	case !s.firstUse("assertion "+app.ClientID+" "+c.ID, c.Expiry.Time()):
		return nil, "The client_assertion token has already been used (jti replayed)."
	}
	return app, ""
}

// firstUse records a jti until its expiry, reporting whether it was new.
func (s *Server) firstUse(id string, until time.Time) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	now := s.now()
	for k, t := range s.auth.seen {
		if now.After(t) {
			delete(s.auth.seen, k)
		}
	}
	if _, dup := s.auth.seen[id]; dup {
		return false
	}
	s.auth.seen[id] = until
	return true
}

// proofClaims are a DPoP proof's claims (RFC 9449 §4.2).
type proofClaims struct {
	jwt.Claims
	Method string `json:"htm"`
	URL    string `json:"htu"`
	Hash   string `json:"ath"`
	Nonce  string `json:"nonce"`
}

// checkProof verifies the request's DPoP proof for method and url (and,
// for an API call, ath, the access token's hash): typ dpop+jwt, signed with
// the public key in its header, fresh, not replayed, carrying the server's
// nonce. It returns the key's thumbprint, or the status and OAuth error to
// answer with; a nonce error also sets DPoP-Nonce.
func (s *Server) checkProof(w http.ResponseWriter, r *http.Request, method, url, ath string) (jkt string, status int, code, msg string) {
	bad := func(why string) (string, int, string, string) {
		return "", http.StatusBadRequest, "invalid_dpop_proof", why
	}
	values := r.Header.Values("DPoP")
	if len(values) == 0 {
		return bad("DPoP proof JWT header is missing.")
	}
	if len(values) > 1 {
		return bad("More than one DPoP proof JWT header.")
	}
	tok, err := jwt.ParseSigned(values[0], signingAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return bad("The DPoP proof is not a JWT signed with an asymmetric algorithm.")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return bad("The DPoP proof's typ must be dpop+jwt.")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return bad("The DPoP proof must carry the public key (jwk) it is signed with.")
	}
	var c proofClaims
	if err := tok.Claims(h.JSONWebKey.Key, &c); err != nil {
		return bad("The DPoP proof signature is invalid.")
	}
	now := s.now()
	switch {
	case c.Method != method:
		return bad("The DPoP proof's htm does not match the request method.")
	case c.URL != url:
		return bad("The DPoP proof's htu does not match the request URL (without query): " + url)
	case c.IssuedAt == nil || c.IssuedAt.Time().Before(now.Add(-proofWindow)) || c.IssuedAt.Time().After(now.Add(proofWindow)):
		return bad("The DPoP proof's iat is missing or too far from the server's time.")
	case c.ID == "":
		return bad("The DPoP proof must have a jti.")
	case ath != "" && c.Hash != ath:
		return bad("The DPoP proof's ath does not match the access token.")
	}
	s.auth.mu.Lock()
	nonce := s.auth.nonce
	s.auth.mu.Unlock()
	if c.Nonce != nonce {
		w.Header().Set("DPoP-Nonce", nonce)
		return "", http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof."
	}
	if !s.firstUse("proof "+c.ID, now.Add(proofWindow)) {
		return bad("The DPoP proof has already been used (jti replayed).")
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("The DPoP proof's key has no thumbprint.")
	}
	return base64.RawURLEncoding.EncodeToString(thumb), 0, "", ""
}

// RotateDPoPNonce makes the server ask for a new DPoP nonce, as Okta does
// from time to time: the next proof with the old one is answered
// use_dpop_nonce with the new value.
func (s *Server) RotateDPoPNonce() {
	s.auth.mu.Lock()
	s.auth.nonce = randomString()
	s.auth.mu.Unlock()
}

// scopeFor is the scope an API call needs (okta-api.md §1.3).
func scopeFor(method, path string) string {
	read := method == http.MethodGet
	switch {
	case strings.HasPrefix(path, "/api/v1/users"):
		if read {
			return "okta.users.read"
		}
		return "okta.users.manage"
	case strings.HasPrefix(path, "/api/v1/apps"):
		return "okta.apps.read"
	case strings.HasPrefix(path, "/api/v1/devices"):
		return "okta.devices.read"
	case strings.HasPrefix(path, "/api/v1/logs"):
		return "okta.logs.read"
	case strings.HasPrefix(path, "/api/v1/groups"):
		return "okta.groups.read"
	case strings.HasPrefix(path, "/api/v1/org"):
		return "okta.orgs.read"
	}
	return "okta.unknown"
}

// authorize checks an API call's access token issued by the authorization
// server (scheme Bearer or DPoP) and answers the failures itself: an
// unknown or expired token 401; a DPoP token without its proof, or a proof
// without the current nonce, 401 with a WWW-Authenticate challenge; a scope
// the token lacks 403.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scheme, value string) bool {
	s.auth.mu.Lock()
	tok := s.auth.tokens[value]
	s.auth.mu.Unlock()
	if tok == nil || !s.now().Before(tok.expires) || (scheme == "DPoP") != (tok.jkt != "") {
		writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return false
	}
	if tok.jkt != "" {
		sum := sha256.Sum256([]byte(value))
		jkt, _, code, msg := s.checkProof(w, r, r.Method, endpoint(r, r.URL.Path), base64.RawURLEncoding.EncodeToString(sum[:]))
		if jkt == "" || jkt != tok.jkt {
			if jkt != "" {
				code, msg = "invalid_dpop_proof", "The DPoP proof is signed with another key than the token is bound to."
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("DPoP error=%q, error_description=%q", code, msg))
			writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return false
		}
		s.auth.mu.Lock()
		if s.auth.proved++; s.opts.NonceEvery > 0 && s.auth.proved%s.opts.NonceEvery == 0 {
			s.auth.nonce = randomString() // this call had the old one; the next ones need the new
		}
		s.auth.mu.Unlock()
	}
	if need := scopeFor(r.Method, r.URL.Path); !slices.Contains(tok.scopes, need) {
		writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return false
	}
	return true
}

// RevokeTokens forgets every access token issued, as revoking them in the
// Admin Console (or deactivating the app for a moment) does: the next API
// call with one is a 401.
func (s *Server) RevokeTokens() {
	s.auth.mu.Lock()
	clear(s.auth.tokens)
	s.auth.mu.Unlock()
}

// TokensIssued counts the access tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.issued
}
