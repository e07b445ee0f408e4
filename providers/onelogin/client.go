// Package onelogin is the OneLogin connector: a client of the OneLogin API
// v2 (OAuth 2.0 client credentials, cursor paging in headers, an hourly
// rate budget, retries) and its adapter to the engine's Provider interface.
// Its simulator is in onelogin/onelogintest.
//
// A request goes: retry loop → pacer → token → transport. Errors are typed
// once, at the HTTP boundary (APIError; httpclient.NetError).
package onelogin

import (
	"bytes"
	"context"
	"crypto/x509"
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
	pageSize           = 50 // the documented page size (onelogin-api.md §2.1)
	maxBody            = 64 << 20
	minBackoff         = 2 * time.Second
	maxBackoff         = 60 * time.Second
	maxRetryAfter      = 5 * time.Minute // the longest Retry-After waited out within a run
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
	c := &Client{base: base, http: httpclient.New(base, opts.RootCAs), opts: opts, clock: opts.Clock, log: opts.Logger,
		pacer: httpclient.NewPacer(opts.Clock, float64(opts.RateShare)/100, time.Hour), found: map[string]engine.User{}, warned: map[string]bool{}}
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
	return s
}

func (c *Client) count(f func(*engine.Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// APIError is a non-2xx answer from OneLogin.
type APIError struct {
	Method, Path string
	Status       int
	Message      string // from message, description or status.message
	RetryAfter   time.Duration
	class        error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("onelogin: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap gives the engine's class: 401/403 need an admin, 429 and 5xx may
// pass, other 4xx are the client's fault and need a fix, not a retry.
func (e *APIError) Unwrap() error { return e.class }

func newAPIError(method, path string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, Message: errorMessage(body), class: engine.ErrTransient}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.class = engine.ErrConfig
	case status == http.StatusTooManyRequests:
		e.RetryAfter = retryAfter(h, now)
	case status >= 500:
	default:
		e.class = nil
	}
	return e
}

// errorMessage digs the message out of any of OneLogin's error shapes
// (onelogin-api.md §1.4); bodies that are not JSON (a proxy's page) give "".
func errorMessage(body []byte) string {
	var v struct {
		Message     string `json:"message"`
		Description string `json:"description"`
		Status      struct {
			Message string `json:"message"`
		} `json:"status"`
	}
	if jsonUnmarshal(body, &v) != nil {
		return ""
	}
	for _, m := range []string{v.Message, v.Description, v.Status.Message} {
		if m != "" {
			return truncate(m, 200)
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

// retryAfter reads Retry-After in seconds or as an HTTP date; -1 if absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return -1
}

// get sends GET path?query and hands a 2xx body to decode. 429s wait for
// Retry-After or back off (2 s to 60 s, with jitter); 5xx, network errors,
// timeouts and undecodable bodies back off and retry; a 401 renews the
// token once and retries. Then it gives up with the last error.
func (c *Client) get(ctx context.Context, path string, q url.Values, decode func(body []byte, h http.Header) error) error {
	u := *c.base
	u.Path, u.RawQuery = path, q.Encode()
	renewed := false
	for attempt := 0; ; attempt++ {
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
		body, h, err := c.once(ctx, http.MethodGet, &u, false)
		c.pacer.Done()
		if err == nil {
			if err = decode(body, h); err == nil {
				return nil
			}
			err = fmt.Errorf("onelogin: GET %s: malformed response: %w (%w)", path, err, engine.ErrTransient)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		var wait time.Duration
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && !renewed:
			// The token expired or was revoked mid-pass: one new token,
			// then the same request again (onelogin-api.md §2.2 rule 4).
			renewed = true
			c.dropToken()
			attempt--
			continue
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			wait = ae.RetryAfter
			if wait < 0 {
				wait = httpclient.Backoff(attempt, minBackoff, maxBackoff)
			}
			if wait > maxRetryAfter {
				// Blocking a run for most of an hour helps nobody: the next
				// scheduled run starts from the same cursor.
				return fmt.Errorf("onelogin: rate limit reached; OneLogin asks to wait %s, longer than %s, so the run stops and the next one tries again: %w",
					wait.Round(time.Second), maxRetryAfter, err)
			}
			c.count(func(s *engine.Stats) { s.RateLimitWaits++; s.RateLimitWait += wait })
			c.log.Warn("onelogin rate limit hit", "path", path, "wait", wait)
		case errors.Is(err, engine.ErrTransient):
			wait = httpclient.Backoff(attempt, minBackoff, maxBackoff)
			c.log.Warn("onelogin request failed, retrying", "path", path, "attempt", attempt+1, "wait", wait, "error", err)
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
			return fmt.Errorf("onelogin refused a freshly issued access token too (%w); the credential may lack the Read All scope, "+
				"or was revoked: create a new one and run: neurons-connector connector edit %q --client-id ID --client-secret-stdin", err, c.name())
		default:
			return err
		}
		if attempt >= c.opts.MaxRetries {
			return fmt.Errorf("onelogin: gave up after %d attempts: %w", attempt+1, err)
		}
		c.count(func(s *engine.Stats) { s.Retries++ })
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// once sends one request with the access token (or, for the token call
// itself, the client credentials) and reads the answer.
func (c *Client) once(ctx context.Context, method string, u *url.URL, tokenCall bool) ([]byte, http.Header, error) {
	var body io.Reader
	if tokenCall {
		body = strings.NewReader(`{"grant_type":"client_credentials"}`)
	}
	var auth string
	if !tokenCall {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return nil, nil, err
		}
		auth = "Bearer " + tok
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, nil, err
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
	resp, err := c.http.Do(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	c.count(func(s *engine.Stats) { s.CountCode(code) })
	if err != nil {
		return nil, nil, httpclient.Classify(c.base.Host, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= maxBody {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1)); err != nil {
		return nil, resp.Header, fmt.Errorf("onelogin: %s %s: reading the response: %w (%w)", method, u.Path, err, engine.ErrTransient)
	}
	if buf.Len() > maxBody {
		return nil, resp.Header, fmt.Errorf("onelogin: %s %s: response larger than %d MiB", method, u.Path, maxBody>>20)
	}
	c.updatePacer(resp.Header)
	if resp.StatusCode/100 != 2 {
		return nil, resp.Header, newAPIError(method, u.Path, resp.StatusCode, resp.Header, buf.Bytes(), c.clock.Now())
	}
	return buf.Bytes(), resp.Header, nil
}

// updatePacer takes in X-RateLimit-Limit/Remaining/Reset, whose Reset is a
// countdown in seconds (onelogin-api.md §7.1), when an answer has them.
func (c *Client) updatePacer(h http.Header) {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.Atoi(h.Get("X-RateLimit-Reset"))
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	c.pacer.Update(limit, remaining, time.Duration(reset)*time.Second)
}
