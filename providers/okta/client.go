// Package okta is the Okta connector: a thin client of the Okta Management
// API (SSWS token auth, Link-header pagination, per-bucket rate limiting,
// retries) and its adapter to the engine's Provider interface. Its
// simulator is in okta/oktatest.
//
// Request middleware, outermost first: retry (every attempt pays a token),
// the bucket's pacer, authentication, then the transport. Errors are typed
// once, at the HTTP boundary (httpclient.APIError, classified with package fault).
package okta

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/internal/egress"
	"neurons-connector/providers/httpclient"
	"neurons-connector/secret"
)

// Defaults of Options.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 5
	DefaultPageSize   = 200 // Okta's documented page size for users (okta-api.md §2.1)
	maxBackoff        = 60 * time.Second
	// maxBody bounds one response: bodies are decoded as they stream in,
	// so this guards against a body that never ends, not memory.
	maxBody = 256 << 20
)

// mediaType asks Okta to leave out credentials and transitional fields,
// which the connector never reads and which slow large orgs down.
const mediaType = "application/json; okta-response=omitCredentials,omitCredentialsLinks,omitTransitioningToStatus"

// Options configure a Client.
type Options struct {
	BaseURL string       // https://acme.okta.com; http only for loopback hosts
	Token   secret.Value // the SSWS API token; or
	OAuth   *OAuth       // an OAuth 2.0 service app (private_key_jwt, DPoP when the app requires it)
	// RateShare is the percentage (1-100) of each rate-limit bucket this
	// client may use; 0 means the default 50 (Okta's per-token share).
	RateShare  int
	Timeout    time.Duration // per request; DefaultTimeout if 0
	MaxRetries int           // per request; DefaultMaxRetries if 0
	PageSize   int           // DefaultPageSize if 0
	Clock      clock.Clock   // clock.Real if nil
	// RootCAs replaces the system's trusted CAs (the simulator's CA in
	// tests). TLS verification itself cannot be turned off.
	RootCAs   *x509.CertPool
	Logger    *slog.Logger
	UserAgent string
	Name      string // the connector's name, for messages that tell what to run
	// SpoolDir holds the user pages a full pass reads while the apps and
	// devices sweep runs (a temporary file, removed when the pass ends);
	// the OS's temporary folder if empty.
	SpoolDir string
}

// Client talks to one Okta org.
type Client struct {
	base   *url.URL
	auth   authorizer // the API token's header, or an OAuth app's tokens and proofs
	http   *http.Client
	clock  clock.Clock
	log    *slog.Logger
	opts   Options
	share  float64
	mu     sync.Mutex
	pacers map[string]*httpclient.Pacer
	stats  engine.Stats
	// inFlight caps concurrent requests: listings prefetch a page and the
	// apps and devices sweeps run side by side; Okta advises 2 to 4. After
	// a concurrency 429, serial makes every request also take single.
	inFlight chan struct{}
	serial   atomic.Bool
	single   chan struct{}
	// maxPages bounds each listing of the pass under way (Fetch sets it).
	maxPages atomic.Int64
	// keep names the top-level fields of a listed user the pass under way
	// decodes (Fetch sets it): the mapping's and the client's own. nil: all.
	keep atomic.Pointer[map[string]bool]
	pass *incremental // the incremental pass under way, for Complete
	// warnedReset: a reset beyond Okta's windows was announced and warned
	// of (once per client: a broken proxy would say it on every answer).
	warnedReset atomic.Bool
}

// maxInFlight is the cap on concurrent requests per client.
const maxInFlight = 4

// maxUserList bounds one user's unpaginated lists (app links, devices,
// factors): far more than any org gives one user (an org's apps number in
// the hundreds, a user's devices and factors in the tens), far fewer than
// a looping answer would hold before maxBody ends it.
const maxUserList = 10_000

// New checks opts and returns a Client.
func New(opts Options) (*Client, error) {
	raw, err := connector.ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("okta URL: %w", err)
	}
	base, _ := url.Parse(raw)
	switch {
	case opts.OAuth != nil && opts.Token.IsSet():
		return nil, errors.New("okta: both an API token and an OAuth app; give one")
	case opts.OAuth != nil && (opts.OAuth.ClientID == "" || opts.OAuth.Key == nil):
		return nil, errors.New("okta: an OAuth app needs its client ID and private key")
	case opts.OAuth == nil && !opts.Token.IsSet():
		return nil, errors.New("okta: no API token")
	}
	if opts.RateShare == 0 {
		opts.RateShare = connector.DefaultRateShare
	}
	if opts.RateShare < 1 || opts.RateShare > 100 {
		return nil, fmt.Errorf("okta: rate share %d is not a percentage from 1 to 100", opts.RateShare)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
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
	c := &Client{
		base:     base,
		auth:     apiToken{opts.Token},
		clock:    opts.Clock,
		log:      opts.Logger,
		opts:     opts,
		share:    float64(opts.RateShare) / 100,
		http:     egress.Client(opts.RootCAs),
		pacers:   map[string]*httpclient.Pacer{},
		inFlight: make(chan struct{}, maxInFlight),
		single:   make(chan struct{}, 1),
	}
	if o := opts.OAuth; o != nil {
		cfg := *o
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = DefaultScopes
		}
		if _, err := algorithm(cfg.Key); err != nil {
			return nil, err
		}
		// The org authorization server: custom ones cannot mint okta.* scopes.
		cfg.Scopes = slices.Clone(cfg.Scopes)
		c.auth = &oauthApp{cfg: cfg, tokenURL: base.JoinPath(tokenPath).String(), http: c.http, clock: opts.Clock,
			ua: opts.UserAgent, name: c.name(), sent: func() { c.count(func(s *engine.Stats) { s.Calls++ }) }, warn: c.warn,
			waitFor: func(h http.Header) (time.Duration, bool) { return c.wait429(tokenPath, h) }}
	}
	return c, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() engine.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Warnings = append([]string(nil), s.Warnings...)
	s.Codes = maps.Clone(s.Codes)
	for bucket, p := range c.pacers {
		if until := p.WaitingUntil(); until.After(s.WaitingUntil) {
			s.WaitingFor, s.WaitingUntil = "okta's "+bucket+" rate limit", until
		}
	}
	return s
}

func (c *Client) warn(msg string) {
	c.mu.Lock()
	c.stats.Warnings = append(c.stats.Warnings, msg)
	c.mu.Unlock()
	c.log.Warn(msg)
}

func (c *Client) count(f func(*engine.Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Client) pacer(path string) *httpclient.Pacer {
	b := bucketOf(path)
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pacers[b]
	if !ok {
		p = httpclient.NewPacer(c.clock, c.share, window)
		c.pacers[b] = p
	}
	return p
}

// resolve turns a path or an absolute next link into a URL on the org. A
// next link is followed verbatim, but only on the org's own host.
func (c *Client) resolve(ref string) (*url.URL, error) {
	u, err := c.base.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("okta: bad link %q: %w", ref, err)
	}
	// Compared as connector URLs are stored (ParseBaseURL): a link that
	// writes https's own port, or the host in capitals, is still the org's.
	if origin, err := connector.ParseBaseURL(u.Scheme + "://" + u.Host); err != nil || origin != c.base.Scheme+"://"+c.base.Host {
		return nil, fmt.Errorf("okta: a pagination link points to %s://%s, not the org %s; refusing to send the token there",
			u.Scheme, u.Host, c.base.Host)
	}
	return u, nil
}

// wait waits for the bucket's pacer to let a request go, counting the
// time waited, and whether it waited for a window, in the run's stats.
func (c *Client) wait(ctx context.Context, p *httpclient.Pacer) error {
	waited, windowWait, err := p.Wait(ctx)
	c.count(func(s *engine.Stats) {
		s.RateLimitWait += waited
		if windowWait {
			s.RateLimitWaits++
		}
	})
	return err
}

// get fetches ref (a path with query, or a next link), hands the body of
// the 2xx answer to decode as a stream, and returns the headers. A 429 that
// says when to come back (X-Rate-Limit-Reset with Date, or Retry-After) is
// a wait, not a failed attempt: the request waits and tries again while its
// rate-limit waits stay within engine.MaxRateLimitWait. 5xx, network
// errors, timeouts and bodies that do not decode (truncated, malformed) are
// failed attempts, retried with capped exponential backoff up to
// MaxRetries; then it gives up with the last error.
func (c *Client) get(ctx context.Context, ref string, decode func(io.Reader) error) (http.Header, error) {
	return c.getEarly(ctx, ref, nil, decode)
}

// getEarly is get that also hands the headers of the first 2xx answer to
// early before reading its body, so a listing can ask for the next page
// (its Link is in the headers) while this one downloads and decodes.
func (c *Client) getEarly(ctx context.Context, ref string, early func(http.Header), decode func(io.Reader) error) (http.Header, error) {
	u, err := c.resolve(ref)
	if err != nil {
		return nil, err
	}
	p := c.pacer(u.Path)
	var lastErr error
	var retryFor string
	var rateWaited time.Duration // this request's announced waits
	failures, resent := 0, 0
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx, p); err != nil {
			return nil, err
		}
		h, status, err := c.once(ctx, u, attempt, retryFor, resent, early, decode)
		if status == 0 && !isTokenWait(err) || status == http.StatusTooManyRequests {
			p.Lost() // no answer, or a 429: once took no rate headers in
		} else { // answered, or never sent: no access token to send it with
			p.Done()
		}
		if errors.Is(err, errChallenged) {
			resent++
			attempt-- // the same attempt, with what the challenge asked for
			continue
		}
		if status/100 == 2 {
			early = nil // once per request, even if the body must be fetched again
		}
		if err == nil {
			return h, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var wait time.Duration
		var apiErr *httpclient.APIError
		switch {
		case errors.As(err, &apiErr) && status == http.StatusTooManyRequests:
			retryFor = apiErr.RequestID
			if h.Get("X-Rate-Limit-Limit") == "0" {
				c.oneAtATime(apiErr.RequestID)
			}
			announced, ok := c.wait429(u.Path, h)
			if !ok {
				// No reset to go by: a failed attempt, backed off.
				failures++
				wait = backoff(failures - 1)
				break
			}
			if rateWaited+announced > engine.MaxRateLimitWait {
				until := c.clock.Now().Add(announced)
				return nil, &engine.RateLimitedError{Until: until, Err: fmt.Errorf(
					"okta kept answering 429 on %s for %s (its rate limit, shared with the org's other clients, is spent; "+
						"next reset %s); the run stops here and the next one tries again: %w",
					u.Path, rateWaited.Round(time.Second), until.UTC().Format(time.RFC3339), err)}
			}
			wait = announced
			rateWaited += wait
			p.Hold(c.clock.Now().Add(wait)) // the bucket's other requests wait too
			c.count(func(s *engine.Stats) { s.RateLimitWaits++; s.RateLimitWait += wait })
			c.log.Warn("okta rate limit hit", "path", u.Path, "wait", wait, "request_id", apiErr.RequestID,
				"limit", h.Get("X-Rate-Limit-Limit"), "remaining", h.Get("X-Rate-Limit-Remaining"))
		case isTokenWait(err):
			var stop error
			if wait, stop = c.tokenRetry(err, &failures, &rateWaited); stop != nil {
				return nil, stop
			}
		case errors.Is(err, fault.ErrTransient):
			failures++
			wait = backoff(failures - 1)
			c.log.Warn("okta request failed, retrying", "path", u.Path, "attempt", failures, "wait", wait, "error", err)
		default:
			return nil, err // permanent: 4xx other than 429
		}
		if failures > c.opts.MaxRetries {
			return nil, fmt.Errorf("okta: gave up after %d failed attempts: %w", failures, lastErr)
		}
		c.count(func(s *engine.Stats) { s.Retries++ })
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// oneAtATime drops the client to one request in flight for the rest of
// the pass: Okta answered its concurrency limit (X-Rate-Limit-Limit: 0),
// which the org's clients share, so fewer parallel requests is the only
// help this client can give.
func (c *Client) oneAtATime(requestID string) {
	if c.serial.Swap(true) {
		return
	}
	c.warn(fmt.Sprintf("okta answered its concurrency limit (429, request %s): the org has too many requests in flight; "+
		"this pass goes on one request at a time", requestID))
}
