// Package onelogin is the OneLogin connector: a client of the OneLogin API
// v2 (OAuth 2.0 client credentials, cursor paging in headers, an hourly
// rate budget, retries) and its adapter to the engine's Provider interface.
// Its simulator is in onelogin/onelogintest.
//
// A request goes: retry loop → pacer → token → transport. Errors are typed
// once, at the HTTP boundary (httpclient.APIError, httpclient.NetError).
package onelogin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/internal/egress"
	"neurons-connector/internal/retryafter"
	"neurons-connector/internal/webpage"
	"neurons-connector/providers/httpclient"
	"neurons-connector/secret"
)

// Defaults of Options.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 6
	// DefaultHourlyLimit is OneLogin's documented budget per account when
	// the answers carry no X-RateLimit-* headers (v2 was observed to send
	// none; onelogin-api.md §7.2).
	DefaultHourlyLimit = 5000
	// pageSize is what a listing asks for: OneLogin's OpenAPI document
	// allows 100 a page, its prose says 50 (onelogin-api.md §2.1). A
	// server that serves fewer just sends shorter pages; one that refuses
	// 100 with a 400 gets smallPageSize, for the account from then on.
	pageSize      = 100
	smallPageSize = 50
	// maxBody bounds one response: bodies are decoded as they stream in,
	// so this guards against a body that never ends, not memory.
	maxBody      = 256 << 20
	maxErrorBody = 64 << 10
	minBackoff   = 2 * time.Second
	maxBackoff   = 60 * time.Second
	// tokenMargin: a token is renewed this long before OneLogin says it
	// expires, so it never lapses mid-request.
	tokenMargin = 5 * time.Minute
)

// Options configure a Client.
type Options struct {
	BaseURL      string // https://acme.onelogin.com or https://api.eu.onelogin.com
	ClientID     string
	ClientSecret secret.Value
	// RateShare is the percentage (1-100) of the hourly budget this client
	// may use; 0 means connector.DefaultRateShare.
	RateShare   int
	HourlyLimit int           // assumed budget without headers; DefaultHourlyLimit if 0
	Timeout     time.Duration // per request; DefaultTimeout if 0
	MaxRetries  int           // per request; DefaultMaxRetries if 0
	Clock       clock.Clock   // clock.Real if nil
	RootCAs     *x509.CertPool
	Logger      *slog.Logger
	UserAgent   string
	Name        string // the connector's name, for messages that say what to run
}

// Client talks to one OneLogin account.
type Client struct {
	base  *url.URL
	http  *http.Client
	opts  Options
	clock clock.Clock
	log   *slog.Logger
	pacer *httpclient.Pacer

	mu      sync.Mutex
	token   string
	expires time.Time
	stats   engine.Stats
	found   map[string]engine.User // managers fetched by id this run
	warned  map[string]bool        // warnOnce keys
	account string                 // account_id of the last token answer
	// maxPages bounds each listing of the pass under way (Fetch sets it).
	maxPages int
	// limit is the page size asked for: pageSize, or smallPageSize once
	// the account refused it (remembered in the cursor).
	limit int
}

// New checks opts and returns a Client.
func New(opts Options) (*Client, error) {
	raw, err := connector.ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("onelogin domain: %w", err)
	}
	base, _ := url.Parse(raw)
	if opts.ClientID == "" || !opts.ClientSecret.IsSet() {
		return nil, errors.New("onelogin: client ID and client secret are both required")
	}
	if opts.RateShare == 0 {
		opts.RateShare = connector.DefaultRateShare
	}
	if opts.RateShare < 1 || opts.RateShare > 100 {
		return nil, fmt.Errorf("onelogin: rate share %d is not a percentage from 1 to 100", opts.RateShare)
	}
	if opts.HourlyLimit == 0 {
		opts.HourlyLimit = DefaultHourlyLimit
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "neurons-connector"
	}
	c := &Client{base: base, http: egress.Client(opts.RootCAs), opts: opts, clock: opts.Clock, log: opts.Logger,
		pacer: httpclient.NewPacer(opts.Clock, float64(opts.RateShare)/100, window), found: map[string]engine.User{}, warned: map[string]bool{}}
	// Until an answer's headers say otherwise, assume the documented
	// hourly budget, counted from now: the client's own calls then never
	// exceed its share.
	c.pacer.Assume(opts.HourlyLimit)
	return c, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() engine.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Warnings = append([]string(nil), s.Warnings...)
	s.Codes = maps.Clone(s.Codes)
	if c.pacer != nil {
		if until := c.pacer.WaitingUntil(); !until.IsZero() {
			s.WaitingFor, s.WaitingUntil = "onelogin's rate limit", until
		}
	}
	return s
}

func (c *Client) count(f func(*engine.Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// newAPIError types a non-2xx answer from OneLogin with the message of
// whichever error shape it used.
func newAPIError(method, path string, resp *http.Response, body []byte, now time.Time) *httpclient.APIError {
	e := httpclient.NewAPIError("onelogin", method, path, resp, body, now)
	e.Message = truncate(e.Redact(errorMessage(body)), 200) // scrubbed before it is cut
	e.Where = "--domain"
	return e
}

// errorMessage digs the message out of any of OneLogin's error shapes
// (onelogin-api.md §1.4); bodies that are not JSON (a proxy's page) give "".
func errorMessage(body []byte) string {
	// "status" is an object in some shapes and a number in others, so
	// each field is read on its own.
	var v map[string]json.RawMessage
	if jsonUnmarshal(body, &v) != nil {
		return ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var status struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(v["status"], &status)
	for _, m := range []string{str(v["message"]), str(v["description"]), status.Message} {
		if m != "" {
			return m
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// get sends GET path?query and hands a 2xx body to decode as it streams
// in. A 429 is a wait, not a failed attempt, when OneLogin says how long:
// Retry-After, or else the reset countdown of GET /auth/rate_limit (the
// load balancer's 429 page says nothing); the request waits and tries again
// while its waits stay within engine.MaxRateLimitWait, and a longer wait
// ends the run with the time the budget resets. 5xx, network errors,
// timeouts and undecodable bodies are failed attempts, backed off (2 s to
// 60 s, with jitter) up to MaxRetries; a 401 renews the token once and
// retries. Then it gives up with the last error.
func (c *Client) get(ctx context.Context, path string, q url.Values, decode func(body io.Reader, h http.Header) error) error {
	u := *c.base
	u.Path, u.RawQuery = path, q.Encode()
	renewed := false
	failures, throttles := 0, 0
	var rateWaited time.Duration
	for {
		waited, windowWait, err := c.pacer.Wait(ctx)
		c.count(func(s *engine.Stats) {
			s.RateLimitWait += waited
			if windowWait {
				s.RateLimitWaits++
			}
		})
		if err != nil {
			return err
		}
		_, err = c.once(ctx, http.MethodGet, &u, false, decode)
		c.pacer.Done()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *httpclient.APIError
		var wait time.Duration
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && !renewed:
			// The token expired or was revoked mid-pass: one new token,
			// then the same request again (onelogin-api.md §2.2 rule 4).
			renewed = true
			c.dropToken()
			continue
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			throttles++
			t, ok := c.wait429(ctx, ae, throttles)
			if !ok {
				failures++ // nothing says when: a failed attempt
				wait = httpclient.Backoff(failures-1, minBackoff, maxBackoff)
				break
			}
			wait = t.wait
			if rateWaited+wait > engine.MaxRateLimitWait {
				return c.throttledTooLong(t, rateWaited, err)
			}
			until := t.until
			rateWaited += wait
			c.pacer.Hold(until)
			c.count(func(s *engine.Stats) { s.RateLimitWaits++; s.RateLimitWait += wait })
			c.log.Warn("onelogin rate limit hit", "path", path, "wait", wait.Round(time.Millisecond))
		case errors.Is(err, fault.ErrTransient):
			failures++
			wait = httpclient.Backoff(failures-1, minBackoff, maxBackoff)
			c.log.Warn("onelogin request failed, retrying", "path", path, "attempt", failures, "wait", wait, "error", err)
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
			return fmt.Errorf("onelogin refused a freshly issued access token too (%w); the credential may lack the Read All scope, "+
				"or was revoked: create a new one and run: neurons-connector connector edit %q --client-id ID --client-secret-stdin", err, c.name())
		default:
			return err
		}
		if failures > c.opts.MaxRetries {
			return fmt.Errorf("onelogin: gave up after %d failed attempts: %w", failures, err)
		}
		c.count(func(s *engine.Stats) { s.Retries++ })
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// throttle is what a 429 asks: how long to wait, until when, and the
// budget GET /auth/rate_limit reported (nil when Retry-After said it).
type throttle struct {
	wait   time.Duration
	until  time.Time
	budget *rateBudget
}

// wait429 is how long a 429 asks to wait, and until when. Retry-After
// says it when present. OneLogin's own 429 is a load balancer's page with
// no headers at all, so the client asks GET /auth/rate_limit: a spent
// budget is waited out until its reset countdown; budget left means the
// throttle is another one (undocumented; v2 calls were seen not to count in
// that budget at all, onelogin-api.md §7.2), backed off from 2 s to 60 s.
// ok is false when nothing tells (the rate-limit call failed too).
func (c *Client) wait429(ctx context.Context, ae *httpclient.APIError, throttles int) (t throttle, ok bool) {
	now := c.clock.Now()
	if ae.RetryAfter >= 0 {
		t.wait = c.withinWindow(ae.RetryAfter, "a 429's Retry-After") + httpclient.Jitter(time.Second)
		t.until = now.Add(t.wait)
		return t, true
	}
	b, err := c.budget(ctx)
	if err != nil {
		c.log.Debug("onelogin rate limit status unavailable", "error", err)
		return t, false
	}
	t.budget = &b
	if b.Remaining > 0 {
		t.wait = httpclient.Backoff(throttles-1, minBackoff, maxBackoff)
	} else {
		c.pacer.Update(b.Limit, 0, b.Reset)
		t.wait = c.withinWindow(b.Reset, "GET /auth/rate_limit's reset") + httpclient.Jitter(2*time.Second)
	}
	t.until = now.Add(t.wait)
	return t, true
}

// throttledTooLong ends a request whose 429s would make it wait beyond
// what a run waits, saying what held it back: the spent budget and when it
// resets, or, when the budget has calls left, another throttle.
func (c *Client) throttledTooLong(t throttle, waited time.Duration, err error) error {
	in := t.until.Sub(c.clock.Now()).Round(time.Second)
	if b := t.budget; b != nil && b.Remaining > 0 {
		return &engine.RateLimitedError{Until: t.until, Err: fmt.Errorf(
			"onelogin: the API kept answering 429 for %s although the account's hourly budget has %d of its %d calls left "+
				"(GET /auth/rate_limit): another throttle, which OneLogin does not document, holds this connector back; the run "+
				"stops here and the service runs it again at %s, %s from now; if this recurs, lower the connector's share "+
				"(neurons-connector connector edit %q --rate-share 25) or the load of the account's other clients: %w",
			waited.Round(time.Second), b.Remaining, b.Limit, t.until.UTC().Format(time.RFC3339), in, c.name(), err)}
	}
	return &engine.RateLimitedError{Until: t.until, Err: fmt.Errorf(
		"onelogin: the API answers 429 (the account's rate limit is spent) until %s, %s from now, longer than a run "+
			"waits (%s in all); the run stops here and the service runs it again then: %w",
		t.until.UTC().Format(time.RFC3339), in, engine.MaxRateLimitWait, err)}
}

// window is the length of OneLogin's rate-limit window: an hour
// (onelogin-api.md §5.4).
const window = time.Hour

// withinWindow caps a wait OneLogin announced at its window: a longer one
// is a broken answer (or a proxy's), which must not park the connector
// until the date it names.
func (c *Client) withinWindow(d time.Duration, what string) time.Duration {
	if d <= window {
		return d
	}
	c.absurdWait(d, what)
	return window
}

// absurdWait says, once a pass, that OneLogin announced a wait beyond its
// window.
func (c *Client) absurdWait(d time.Duration, what string) {
	c.warnOnce("absurd wait", fmt.Sprintf("onelogin asked to wait %s (%s), but its rate-limit window is an hour: "+
		"waiting an hour at most (is a proxy in front of OneLogin wrong?)", httpclient.Span(d), what))
}

// rateBudget is what GET /auth/rate_limit reports.
type rateBudget struct {
	Limit, Remaining int
	Reset            time.Duration // until the window resets
}

// budget asks GET /auth/rate_limit (onelogin-api.md §5.4) once, outside
// the pacer: it is asked only after a 429, when the budget is spent
// anyway, and retrying it would only add to the storm.
func (c *Client) budget(ctx context.Context) (rateBudget, error) {
	u := *c.base
	u.Path = "/auth/rate_limit"
	var v struct {
		Data struct {
			Limit     json.Number `json:"X-RateLimit-Limit"`
			Remaining json.Number `json:"X-RateLimit-Remaining"`
			Reset     json.Number `json:"X-RateLimit-Reset"`
		} `json:"data"`
	}
	if _, err := c.once(ctx, http.MethodGet, &u, false, func(r io.Reader, _ http.Header) error {
		return httpclient.DecodeInto(r, &v)
	}); err != nil {
		return rateBudget{}, err
	}
	limit, err1 := v.Data.Limit.Int64()
	remaining, err2 := v.Data.Remaining.Int64()
	reset, err3 := v.Data.Reset.Int64()
	if err1 != nil || err2 != nil || err3 != nil || reset < 0 {
		return rateBudget{}, fmt.Errorf("onelogin: /auth/rate_limit answered without numbers: %+v", v.Data)
	}
	return rateBudget{Limit: int(limit), Remaining: int(remaining), Reset: retryafter.Seconds(reset)}, nil
}

// once sends one request with the access token (or, for the token call
// itself, the client credentials) and hands a 2xx body to decode as it
// arrives.
func (c *Client) once(ctx context.Context, method string, u *url.URL, tokenCall bool, decode func(io.Reader, http.Header) error) (http.Header, error) {
	var body io.Reader
	if tokenCall {
		body = strings.NewReader(`{"grant_type":"client_credentials"}`)
	}
	var auth string
	if !tokenCall {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		auth = "Bearer " + tok
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if tokenCall {
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(c.opts.ClientID, string(c.opts.ClientSecret.Reveal()))
	} else {
		req.Header.Set("Authorization", auth)
	}
	c.count(func(s *engine.Stats) { s.Calls++ })
	sent := c.clock.Now()
	resp, err := httpclient.Do(c.http, req, func(code int) { c.count(func(s *engine.Stats) { s.CountCode(code) }) })
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	c.updatePacer(resp.Header, sent)
	if resp.StatusCode/100 != 2 || webpage.Is(resp.Header) {
		// A web page with 2xx is another site, a sign-in page or a proxy's
		// block page: an error to fix (APIError.Page), not a body to retry.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return resp.Header, newAPIError(method, u.Path, resp, msg, c.clock.Now())
	}
	lr := &io.LimitedReader{R: resp.Body, N: maxBody + 1}
	if err := decode(lr, resp.Header); err != nil {
		if lr.N <= 0 {
			return resp.Header, fmt.Errorf("onelogin: %s %s: response larger than %d MiB (%w)", method, u.Path, maxBody>>20, fault.ErrTransient)
		}
		return resp.Header, fmt.Errorf("onelogin: %s %s: malformed response: %w (%w)", method, u.Path, err, fault.ErrTransient)
	}
	return resp.Header, nil
}

// updatePacer takes in X-RateLimit-Limit/Remaining/Reset, whose Reset is a
// countdown in seconds (onelogin-api.md §7.1), when an answer to a request
// sent at sent has them.
func (c *Client) updatePacer(h http.Header, sent time.Time) {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.Atoi(h.Get("X-RateLimit-Reset"))
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	if d := retryafter.Seconds(int64(reset)); !c.pacer.UpdateSent(limit, remaining, d, sent) {
		c.absurdWait(d, "X-RateLimit-Reset") // the pacer took it as a window
	}
}
