package okta

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"neurons-connector/clock"
	"neurons-connector/fault"
	"neurons-connector/internal/redact"
	"neurons-connector/internal/webpage"
	"neurons-connector/secret"
)

// OAuth describes an OAuth 2.0 API Services app (okta-api.md §1.2): the
// client authenticates with a private_key_jwt assertion and asks the org
// authorization server for an access token with the scopes the run needs.
// DPoP is used when the app requires it, which the token endpoint says.
type OAuth struct {
	ClientID string
	Key      crypto.Signer // the app's private key (RSA or EC), whose public key is registered with the app
	KeyID    string        // the key's kid as registered; empty when the app has one key
	Scopes   []string      // DefaultScopes if empty
}

// DefaultScopes are the read scopes a full run uses.
var DefaultScopes = []string{"okta.users.read", "okta.apps.read", "okta.devices.read", "okta.logs.read", "okta.groups.read", "okta.orgs.read"}

// authorizer gives requests their credentials.
type authorizer interface {
	// header returns the Authorization value for a request, and its DPoP
	// proof ("" when none is needed).
	header(ctx context.Context, method string, u *url.URL) (auth, proof string, err error)
	// retry reads a 401 to a request sent with Authorization auth and
	// reports whether it is worth sending once more (a DPoP nonce asked
	// for, or an access token to renew).
	retry(h http.Header, auth string) bool
	// saw reads a response's headers (a DPoP nonce the server moved to).
	saw(h http.Header)
}

// apiToken is an SSWS API token.
type apiToken struct{ token secret.Value }

func (a apiToken) header(context.Context, string, *url.URL) (string, string, error) {
	return "SSWS " + string(a.token.Reveal()), "", nil
}
func (apiToken) retry(http.Header, string) bool { return false }
func (apiToken) saw(http.Header)                {}

// renewBefore is how long before its expiry an access token is renewed.
const renewBefore = 2 * time.Minute

// oauthApp gets and renews access tokens for an OAuth service app.
type oauthApp struct {
	cfg      OAuth
	tokenURL string
	http     *http.Client
	clock    clock.Clock
	ua       string
	sent     func() // counts a token request among the run's calls
	// waitFor is how long a 429's headers ask to wait (the client's
	// wait429); ok is false when they say nothing of it.
	waitFor func(h http.Header) (d time.Duration, ok bool)
	warn    func(string)
	name    string // the connector's, for the commands messages give

	mu      sync.Mutex
	token   string
	typ     string // "Bearer" or "DPoP"
	expires time.Time
	dpop    *ecdsa.PrivateKey // the proofs' key, made when the app turns out to require DPoP
	nonce   string            // the server's current DPoP nonce
	refused []string          // optional scopes the app is not granted, left out of the requests
	// offset is Okta's clock less this computer's, from the Date of its
	// answers, when they differ by more than clockSlack: assertions and
	// proofs are dated by Okta's clock (see learnClock).
	offset time.Duration
	warned bool       // of the offset, once
	failed *tokenWait // the last token request's failure, while it holds the next back
}

// clockSlack is how far this computer's clock may be from Okta's before
// assertions and proofs are dated by Okta's: Date has whole seconds, and an
// answer takes time to come; Okta allows some skew itself.
const clockSlack = 30 * time.Second

// now is the time by Okta's clock (o.mu held).
func (o *oauthApp) now() time.Time { return o.clock.Now().Add(o.offset) }

// learnClock reads Okta's clock from an answer's Date (o.mu held) and
// reports whether the offset moved. A computer whose clock is off (a VM
// resumed, a server without NTP) dates its client assertions and DPoP
// proofs wrongly, and Okta refuses them as it would a wrong key ("The
// client_assertion token is expired."); the answer's Date, over TLS from the
// org itself, says by how much, and the client signs again by it and says
// once that the clock is off.
func (o *oauthApp) learnClock(h http.Header) bool {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return false
	}
	d := date.Sub(o.clock.Now())
	if d.Abs() <= clockSlack {
		d = 0
	}
	if (d - o.offset).Abs() <= clockSlack {
		return false
	}
	o.offset = d
	if d != 0 && !o.warned && o.warn != nil {
		o.warned = true
		way := "behind"
		if d < 0 {
			way = "ahead of"
		}
		o.warn(fmt.Sprintf("okta: this computer's clock is %s %s Okta's (by the Date of its answers); the OAuth app's assertions "+
			"and proofs are dated by Okta's clock instead, but set this computer's clock right (NTP): other services will refuse it too",
			d.Abs().Round(time.Second), way))
	}
	return true
}

func (o *oauthApp) header(ctx context.Context, method string, u *url.URL) (string, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.fresh(ctx); err != nil {
		return "", "", err
	}
	if o.typ != "DPoP" {
		return "Bearer " + o.token, "", nil
	}
	proof, err := o.proof(method, htu(u), o.token)
	return "DPoP " + o.token, proof, err
}

// fresh gets a token when there is none or it is about to expire (o.mu
// held). After a token request failed for a while (a 429, an outage), it
// answers that failure without asking again until the wait is over: the
// requests of a pass that all want a token at once (it expired, Okta
// revoked it) would otherwise each send one in turn, into a window Okta
// said is spent.
func (o *oauthApp) fresh(ctx context.Context) error {
	if o.token != "" && o.clock.Now().Add(renewBefore).Before(o.expires) {
		return nil
	}
	if o.failed != nil && o.clock.Now().Before(o.failed.until) {
		return o.failed
	}
	o.failed = nil
	err := o.fetch(ctx)
	var w *tokenWait
	switch {
	case errors.As(err, &w):
		o.failed = w
	case errors.Is(err, fault.ErrTransient):
		o.failed = &tokenWait{until: o.clock.Now().Add(tokenPause), err: err}
	default:
		return err
	}
	return o.failed
}

// tokenPause is how long a token request that failed (not a 429) holds
// back the next: long enough for the requests waiting on it to take its
// answer, short against the backoff of their retries.
const tokenPause = time.Second

// tokenWait is a token request that failed for a while, and until when no
// other goes: a 429's announced reset (limited), or a pause after another
// transient failure.
type tokenWait struct {
	until   time.Time
	limited bool
	err     error
}

func (w *tokenWait) Error() string { return w.err.Error() }
func (w *tokenWait) Unwrap() error { return w.err }

// ensure gets a token now, for a check that wants the token endpoint's
// verdict before any API call.
func (o *oauthApp) ensure(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fresh(ctx)
}

// lacking are the optional scopes the app turned out not to be granted.
func (o *oauthApp) lacking() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.refused)
}

func (o *oauthApp) retry(h http.Header, auth string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if strings.Contains(h.Get("WWW-Authenticate"), "use_dpop_nonce") && h.Get("DPoP-Nonce") != "" {
		o.nonce = h.Get("DPoP-Nonce")
		return true
	}
	_, used, _ := strings.Cut(auth, " ")
	if o.token == used {
		o.token = "" // revoked or expired early: renewed by the next header
	}
	return true // and if another request renewed it already, sent with that one
}

func (o *oauthApp) saw(h http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := h.Get("DPoP-Nonce"); n != "" {
		o.nonce = n
	}
	o.learnClock(h)
}

// htu is a request URL as a DPoP proof names it: without query and fragment.
func htu(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment, v.RawFragment = "", "", ""
	return v.String()
}

// tokenAnswer is the token endpoint's answer, success or OAuth error.
type tokenAnswer struct {
	TokenType   string `json:"token_type"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// fetch gets an access token (o.mu held): a try with DPoP once the app
// asked for it, again with the server's nonce when told one.
func (o *oauthApp) fetch(ctx context.Context) error {
	for range 4 {
		a, h, err := o.post(ctx)
		if err != nil {
			return err
		}
		if n := h.Get("DPoP-Nonce"); n != "" {
			o.nonce = n
		}
		moved := o.learnClock(h)
		switch {
		case a.AccessToken != "":
			if a.TokenType != "Bearer" && a.TokenType != "DPoP" {
				return fault.Mark(fmt.Errorf("okta: the token endpoint issued a token of type %q", a.TokenType), fault.ErrTransient)
			}
			o.token, o.typ = a.AccessToken, a.TokenType
			o.expires = o.clock.Now().Add(time.Duration(max(a.ExpiresIn, 60)) * time.Second)
			return nil
		case a.Error == "invalid_dpop_proof" && o.dpop == nil:
			// The app requires DPoP: a key pair of this client's own.
			if o.dpop, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
				return err
			}
		case a.Error == "use_dpop_nonce" && o.dpop != nil && h.Get("DPoP-Nonce") != "":
		case a.Error == "invalid_scope" && o.dropOptional(a.Description):
		case a.Error == "server_error" || a.Error == "temporarily_unavailable":
			// Okta's own failure, whatever the status (a token inline hook
			// that failed answers server_error): the app's settings are
			// not to blame, and a later request may succeed.
			return fault.Mark(fmt.Errorf("okta: the token endpoint failed: %s (%s)", a.Error, a.Description), fault.ErrTransient)
		case moved && (a.Error == "invalid_client" || a.Error == "invalid_dpop_proof"):
			// Dated by a clock that is off: again, by Okta's.
		default:
			return tokenError(o.cfg, a, o.name)
		}
	}
	return fault.Mark(errors.New("okta: the token endpoint kept asking for another DPoP proof"), fault.ErrTransient)
}

// post sends one token request.
func (o *oauthApp) post(ctx context.Context) (tokenAnswer, http.Header, error) {
	assertion, err := o.assertion()
	if err != nil {
		return tokenAnswer{}, nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(o.cfg.Scopes, " ")},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", o.ua)
	if o.dpop != nil {
		proof, err := o.proof(http.MethodPost, o.tokenURL, "")
		if err != nil {
			return tokenAnswer{}, nil, err
		}
		req.Header.Set("DPoP", proof)
	}
	if o.sent != nil {
		o.sent()
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return tokenAnswer{}, nil, fault.Mark(fmt.Errorf("okta: token endpoint: %w", err), fault.ErrTransient)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var a tokenAnswer
	jsonErr := json.Unmarshal(body, &a)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		// Whatever the body says (an OAuth "server_error" or
		// "temporarily_unavailable" too): the endpoint will answer again,
		// and the app's settings are not to blame.
		err := fault.Mark(fmt.Errorf("okta: token endpoint answered %s", resp.Status), fault.ErrTransient)
		if d, ok := o.waitFor(resp.Header); ok && resp.StatusCode == http.StatusTooManyRequests {
			return a, resp.Header, &tokenWait{until: o.clock.Now().Add(d), limited: true, err: err}
		}
		return a, resp.Header, err
	}
	if jsonErr != nil || (a.AccessToken == "" && a.Error == "") {
		what := "without an OAuth answer"
		if webpage.Is(resp.Header) {
			what = fmt.Sprintf("with a web page (%q), not an OAuth answer", webpage.Title([]byte(redact.Secrets(string(body), assertion))))
		}
		return a, resp.Header, fault.Mark(fmt.Errorf("okta: token endpoint answered %s %s; check the Okta URL, and whether a proxy "+
			"answers in its place", resp.Status, what), fault.ErrConfig)
	}
	// Its words go into errors: not the signed assertion (a credential
	// for minutes) of a request quoted back.
	a.Error, a.Description = redact.Secrets(a.Error, assertion), redact.Secrets(a.Description, assertion)
	return a, resp.Header, nil
}

// tokenPath is the org authorization server's token endpoint.
const tokenPath = "/oauth2/v1/token" //nolint:gosec // G101: a path, not a credential

// tokenError says what a token endpoint error means and what to do.
func tokenError(cfg OAuth, a tokenAnswer, name string) error {
	var msg string
	switch a.Error {
	case "invalid_client":
		kid := ", and, when the app has several keys, give the key's KID with --key-id"
		if cfg.KeyID != "" {
			kid = fmt.Sprintf(" under the KID %q (--key-id)", cfg.KeyID)
		}
		msg = fmt.Sprintf("Okta refused the app %s (%s): check the client ID, and that the public key of the private key given "+
			"is registered with the app (Applications > Applications > the app > General > Public Keys)%s; "+
			"fix with: neurons-connector connector edit %q --client-id ID --private-key-file FILE",
			cfg.ClientID, a.Description, kid, name)
	case "invalid_scope":
		msg = fmt.Sprintf("Okta refused the scopes asked (%s); grant them to the app in the Admin Console (%s)", a.Description, scopesPlace)
	case "unauthorized_client":
		msg = fmt.Sprintf("Okta refused the app %s the client credentials grant (%s); the app must be an API Services app", cfg.ClientID, a.Description)
	default:
		msg = fmt.Sprintf("Okta's token endpoint answered %s (%s)", a.Error, a.Description)
	}
	return fault.Mark(errors.New("okta: "+msg), fault.ErrConfig)
}
