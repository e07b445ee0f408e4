package sink

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"neurons-connector/fault"
	"neurons-connector/internal/egress"
	"neurons-connector/internal/redact"
	"neurons-connector/internal/retryafter"
	"neurons-connector/internal/webpage"

	"neurons-connector/clock"
	"neurons-connector/secret"
)

// gzipAbove is the body size from which the client compresses.
const gzipAbove = 8 << 10

// tokenMargin renews the access token this long before it expires (or at
// half its life, for a shorter one).
const tokenMargin = 60 * time.Second

// Token lives the client assumes: an answer without expires_in (RFC 6749
// only recommends it), or with zero, a negative or an unreadable number,
// gets an hour, the contract's example (a 401 renews it sooner if need
// be); and no announced life counts beyond a day, so that a number past
// any clock neither overflows nor keeps a token for good.
const (
	defaultTokenLife = time.Hour
	maxTokenLife     = 24 * time.Hour
)

// NeuronsOptions configure the ingestion client.
type NeuronsOptions struct {
	URL          string // NC_NEURONS_URL: the ingest path is appended
	TokenURL     string
	ClientID     string
	ClientSecret secret.Value
	Scope        string
	UserAgent    string
	Timeout      time.Duration // per request; 60 s if 0
	Clock        clock.Clock
	RootCAs      *x509.CertPool // tests; TLS verification itself cannot be turned off
}

// Neurons pushes batches to the Neurons ingestion endpoint with OAuth 2.0
// client credentials.
type Neurons struct {
	opts   NeuronsOptions
	ingest string
	http   *http.Client

	mu      sync.Mutex
	token   string
	renewAt time.Time // when the token in hand is renewed before its use
}

// IngestPath is where batches go below NC_NEURONS_URL
// (neurons-ingestion.md §2).
const IngestPath = "/api/connectors/v1/ingest"

// NewNeurons returns the ingestion client.
func NewNeurons(o NeuronsOptions) (*Neurons, error) {
	base, err := url.Parse(o.URL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("sink: NC_NEURONS_URL %q is not a URL", redact.URL(o.URL))
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.UserAgent == "" {
		o.UserAgent = "neurons-connector"
	}
	return &Neurons{
		opts:   o,
		ingest: strings.TrimRight(o.URL, "/") + IngestPath,
		// egress's redirect policy: the token request (a POST with the
		// client secret) and an ingest (a POST with the token) are never
		// sent on, whatever the redirect says.
		http: egress.Client(o.RootCAs),
	}, nil
}

// Push sends one batch. A 401 renews the token and tries once more.
func (n *Neurons) Push(ctx context.Context, key string, p Payload) error {
	_, err := n.PushCounted(ctx, key, p)
	return err
}

// PushCounted is Push, and the number of records the sink says it accepted
// ({"accepted": N}); -1 when the answer gives none (409, this key was
// accepted before).
func (n *Neurons) PushCounted(ctx context.Context, key string, p Payload) (int, error) {
	body, gzipped := p.Gzipped()
	if !gzipped {
		var err error
		if body, err = p.JSON(); err != nil {
			return -1, &Error{Class: fault.ErrRejected, Message: err.Error(), err: err}
		}
	}
	for attempt := 0; ; attempt++ {
		token, err := n.accessToken(ctx, attempt > 0)
		if err != nil {
			return -1, err
		}
		status, h, resp, err := n.post(ctx, key, token, body, gzipped)
		if err != nil {
			return -1, &Error{Message: fmt.Sprintf("POST %s: %s", n.ingest, transportWords(err)), Class: transportClass(err), err: err}
		}
		switch {
		case status == http.StatusOK || status == http.StatusAccepted || status == http.StatusConflict:
			// Delivered only when the answer says so in the contract's
			// words: a wrong NC_NEURONS_URL (a web application whose
			// every path answers 200), a proxy's page or an impostor says
			// 200 too, and taking it at its word would drop the batch.
			accepted, ok := acknowledges(status, resp)
			if !ok {
				return -1, &Error{Status: status, Class: fault.ErrConfig, Message: fmt.Sprintf("the answer is not the ingestion endpoint's "+
					"(%s, %s), so the batch was not delivered; check that NC_NEURONS_URL names the Neurons ingestion endpoint, "+
					"not a web page or a proxy", contentType(h), n.said(resp, token))}
			}
			return accepted, nil // 409: this key was accepted before; delivered
		case status == http.StatusUnauthorized && attempt == 0:
			continue
		case status == http.StatusUnauthorized:
			return -1, &Error{Status: status, Message: "the sink refused a fresh access token; check NC_NEURONS_CLIENT_ID, the secret and the App Registration", Class: fault.ErrConfig}
		case status == http.StatusForbidden:
			return -1, &Error{Status: status, Message: "the App Registration lacks permission to ingest: " + n.said(resp, token), Class: fault.ErrConfig}
		case status == http.StatusRequestEntityTooLarge:
			return -1, &Error{Class: fault.ErrTooLarge, Status: status, Message: "batch too large"}
		case status == http.StatusBadRequest:
			e := &Error{Class: fault.ErrRejected, Status: status, Message: "the sink rejected the batch: " + n.said(resp, token)}
			var shape struct{ Details []any }
			if json.Unmarshal(resp, &shape) == nil {
				for _, d := range shape.Details {
					e.Details = append(e.Details, n.scrub(fmt.Sprint(d), token))
				}
			}
			return -1, e
		case status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusGone:
			// No ingestion endpoint there: the URL, not the batch, is wrong.
			return -1, &Error{Status: status, Class: fault.ErrConfig, Message: fmt.Sprintf("no ingestion endpoint at %s (%s); check "+
				"NC_NEURONS_URL: the ingestion service's base URL, to which the connector adds %s", redact.URL(n.ingest), n.said(resp, token), IngestPath)}
		case status == http.StatusTooManyRequests || status >= 500:
			return -1, &Error{Status: status, Message: n.said(resp, token), RetryAfter: retryAfter(h, n.opts.Clock.Now()), Class: fault.ErrTransient}
		default:
			return -1, &Error{Class: fault.ErrRejected, Status: status, Message: n.said(resp, token)}
		}
	}
}

// post sends a body, gzipped (Pack compresses every body over 8 KiB) or not.
func (n *Neurons) post(ctx context.Context, key, token string, body []byte, gzipped bool) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.ingest, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("User-Agent", n.opts.UserAgent)
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

// transportClass classifies a request that got no usable answer: a
// refused redirect needs an admin (the endpoint's URL is wrong, or someone
// is in the way); anything else may pass.
func transportClass(err error) error {
	var proxyErr *egress.ProxyError
	if errors.Is(err, egress.ErrRedirect) || errors.As(err, &proxyErr) && !proxyErr.Passes() {
		return fault.ErrConfig
	}
	return fault.ErrTransient
}

// transportWords is err with the fix of a proxy's refusal, which Go's
// words alone do not give.
func transportWords(err error) string {
	var proxyErr *egress.ProxyError
	if errors.As(err, &proxyErr) {
		return fmt.Sprintf("%v: %s; %s", err, proxyErr.Reason(), proxyErr.Fix())
	}
	return err.Error()
}

// accessToken returns a cached token, renewing it when fewer than 60 s of
// its life remain or when renew is set (after a 401).
func (n *Neurons) accessToken(ctx context.Context, renew bool) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !renew && n.token != "" && n.opts.Clock.Now().Before(n.renewAt) {
		return n.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {n.opts.ClientID},
		"client_secret": {string(n.opts.ClientSecret.Reveal())}}
	if n.opts.Scope != "" {
		form.Set("scope", n.opts.Scope)
	}
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.opts.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &Error{Message: "token request: " + err.Error(), Class: fault.ErrConfig, err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", n.opts.UserAgent)
	resp, err := n.http.Do(req)
	if err != nil {
		return "", &Error{Message: fmt.Sprintf("token request to %s: %s", n.opts.TokenURL, transportWords(err)), Class: transportClass(err), err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case webpage.Is(resp.Header) && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500:
		// The landscape's sign-in page rather than the App Registration's
		// token endpoint, or a proxy's page: a setting to fix.
		return "", &Error{Status: resp.StatusCode, Class: fault.ErrConfig, Message: fmt.Sprintf("NC_NEURONS_TOKEN_URL answers with a web page "+
			"(%q), not a token; set it to the App Registration's auth URL, https://<landscape-host>/<tenant-id>/connect/token, and check "+
			"whether a proxy answers in its place", webpage.Title([]byte(n.scrub(string(data), n.token))))}
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest:
		return "", n.refused(resp.StatusCode, data)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", &Error{Status: resp.StatusCode, Message: "token endpoint: " + n.said(data, n.token), RetryAfter: retryAfter(resp.Header, n.opts.Clock.Now()), Class: fault.ErrTransient}
	default:
		return "", &Error{Status: resp.StatusCode, Message: "token endpoint: " + n.said(data, n.token), Class: fault.ErrConfig}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return "", &Error{Message: "the token endpoint's answer has no access_token", Class: fault.ErrTransient}
	}
	n.token = tok.AccessToken
	life := tokenLife(tok.ExpiresIn)
	n.renewAt = n.opts.Clock.Now().Add(life - min(tokenMargin, life/2))
	return n.token, nil
}

// refused says what a token endpoint's 400 or 401 means by its OAuth error
// code (RFC 6749 §5.2), and which setting mends it: a scope the App
// Registration does not allow is NC_NEURONS_SCOPE's, not the secret's. A
// server that names its own failure (server_error, temporarily_unavailable,
// which some send with a 400) will answer again.
func (n *Neurons) refused(status int, body []byte) error {
	var answer struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &answer)
	said := n.said(body, n.token)
	var msg string
	switch answer.Error {
	case "server_error", "temporarily_unavailable":
		return &Error{Status: status, Message: "token endpoint: " + said, Class: fault.ErrTransient}
	case "invalid_scope":
		msg = fmt.Sprintf("the token endpoint refused the scope asked for (%s; NC_NEURONS_SCOPE is %q); set NC_NEURONS_SCOPE to "+
			"the scope the App Registration allows, or leave it unset if the registration needs none", said, n.opts.Scope)
	case "unauthorized_client", "unsupported_grant_type":
		msg = fmt.Sprintf("the token endpoint does not allow this App Registration the client credentials grant (%s); "+
			"the connector signs in as a service, with a client ID and secret: check the registration in Neurons", said)
	default:
		msg = "the token endpoint refused the client credentials (" + said + "); check NC_NEURONS_CLIENT_ID and NC_NEURONS_CLIENT_SECRET"
	}
	return &Error{Status: status, Message: msg, Class: fault.ErrConfig}
}

// Check asks the token endpoint for a fresh access token: what connector
// test does to tell an admin, before a first run queues everything, that
// the Neurons settings work.
func (n *Neurons) Check(ctx context.Context) (string, error) {
	if _, err := n.accessToken(ctx, true); err != nil {
		return "", err
	}
	return fmt.Sprintf("Neurons' token endpoint %s issued an access token to client %s", redact.URL(n.opts.TokenURL), n.opts.ClientID), nil
}

// tokenLife reads a token answer's expires_in, a number of seconds (some
// servers send it as a string); a number too large for a float is +Inf.
func tokenLife(raw json.RawMessage) time.Duration {
	secs, _ := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
	if !(secs > 0) { // absent, unreadable, zero, negative or NaN
		return defaultTokenLife
	}
	return time.Duration(min(secs, maxTokenLife.Seconds()) * float64(time.Second))
}

// acknowledges reports whether a 200, 202 or 409 answer is the contract's
// (neurons-ingestion.md §3): {"accepted": N} for the first two, and N;
// {"error": "duplicate"} for 409 (N -1).
func acknowledges(status int, body []byte) (accepted int, ok bool) {
	var v struct {
		Accepted *json.Number `json:"accepted"`
		Error    string       `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return -1, false
	}
	if status == http.StatusConflict {
		return -1, v.Error == "duplicate"
	}
	if v.Accepted == nil {
		return -1, false
	}
	n, err := v.Accepted.Int64()
	return int(min(n, math.MaxInt32)), err == nil && n >= 0
}

// contentType names an answer's media type for a message.
func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no Content-Type"
}

// said is the short message of an answer's body (message), with the
// client secret and the access token taken out (scrub).
func (n *Neurons) said(body []byte, token string) string {
	return n.scrub(message([]byte(n.scrub(string(body), token))), token)
}

// scrub takes the client secret and the access token out of text that
// came from the network (redact.Secrets).
func (n *Neurons) scrub(text, token string) string {
	return redact.Secrets(text, string(n.opts.ClientSecret.Reveal()), token)
}

// message extracts a short message from an error body of any shape.
func message(body []byte) string {
	var shape struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Message          string `json:"message"`
	}
	if json.Unmarshal(body, &shape) == nil {
		for _, m := range []string{shape.Error, shape.Message} {
			if m != "" {
				if shape.ErrorDescription != "" {
					return m + ": " + shape.ErrorDescription
				}
				return m
			}
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "no message"
	}
	return s
}

// retryAfter is the wait Retry-After asks for; 0 if absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, _ := retryafter.Parse(h, now)
	return d
}
