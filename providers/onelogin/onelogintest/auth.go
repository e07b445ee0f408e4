package onelogintest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// issueToken answers POST /auth/oauth2/v2/token in any of its three forms
// (onelogin-api.md §1.1): the client_id:/client_secret: header, HTTP Basic,
// or a form-encoded body. It returns the same token until it expires.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	id, secret, grant := "", "", ""
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		q, _ := url.ParseQuery(string(body))
		id, secret, grant = q.Get("client_id"), q.Get("client_secret"), q.Get("grant_type")
	case "application/json":
		var req struct {
			GrantType string `json:"grant_type"`
		}
		_ = json.Unmarshal(body, &req)
		grant = req.GrantType
	}
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	} else if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "client_id:") {
		for _, part := range strings.Split(h, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), ":")
			switch k {
			case "client_id":
				id = v
			case "client_secret":
				secret = v
			}
		}
	}
	if grant != "client_credentials" {
		badRequest(w, "grant_type must be client_credentials")
		return
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": map[string]any{"error": true, "code": 401, "type": "Unauthorized", "message": "Authentication Failure"}})
		return
	}
	s.mu.Lock()
	now := s.clock.Now()
	if s.token == "" || !now.Before(s.expires) {
		var b [20]byte
		_, _ = rand.Read(b[:])
		s.token, s.expires = hex.EncodeToString(b[:]), now.Add(s.opts.TokenLifetime)
		s.tokenSeq++
	}
	tok, left, account := s.token, s.expires.Sub(now), s.accountID
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "created_at": now.UTC().Format(TimeFormat),
		"expires_in": int(left.Seconds()), "refresh_token": "deprecated", "token_type": "bearer", "account_id": account})
}

// authorized checks a resource call's bearer token in any of the accepted
// spellings (onelogin-api.md §1.3) and answers 401 otherwise: the v1
// envelope for v1 paths, the v2 error for v2 ones.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, v1 bool) bool {
	h := r.Header.Get("Authorization")
	var tok string
	for _, p := range []string{"bearer:", "bearer ", "Bearer "} {
		if strings.HasPrefix(h, p) {
			tok = strings.TrimSpace(h[len(p):])
		}
	}
	s.mu.Lock()
	ok := tok != "" && tok == s.token && s.clock.Now().Before(s.expires)
	s.mu.Unlock()
	if ok {
		return true
	}
	if v1 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": map[string]any{"error": true, "code": 401, "type": "Unauthorized", "message": "Authentication Failure"}})
	} else {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "name": "UnauthorizedError", "statusCode": 401})
	}
	return false
}

// RevokeTokens invalidates the current access token, as an admin revoking
// it (or its expiry) would.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

// TokensIssued is how many distinct access tokens were issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenSeq
}

// cursor encodes a page position as OneLogin does: base64 of a page-based
// query string (onelogin-api.md §2.2).
func cursor(limit, page int) string {
	return base64.StdEncoding.EncodeToString([]byte("limit=" + itoa(limit) + "&sort=id&page=" + itoa(page) + "&sort_direction=asc"))
}
