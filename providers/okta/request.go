package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/internal/webpage"
	"neurons-connector/providers/httpclient"
)

// One request's exchange: its slot among those in flight, the answer's
// typing, and what a 429 announces.

// once sends one request and, for a 2xx answer, hands the body to decode
// as it arrives. Its error is an *httpclient.APIError or in class
// fault.ErrTransient, or errChallenged. resent counts the times this
// request was already sent again after a challenge.
func (c *Client) once(ctx context.Context, u *url.URL, attempt int, retryFor string, resent int, early func(http.Header),
	decode func(io.Reader) error) (http.Header, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	req, err := c.request(ctx, u, attempt, retryFor)
	if err != nil {
		return nil, 0, err
	}
	c.count(func(s *engine.Stats) { s.Calls++ })
	sent := c.clock.Now() // when the answer's request went: the pacer counts its window from there
	resp, err := httpclient.Do(c.http, req, func(code int) { c.count(func(s *engine.Stats) { s.CountCode(code) }) })
	if err != nil {
		return nil, 0, err
	}
	c.auth.saw(resp.Header)
	if resp.StatusCode == http.StatusUnauthorized && challenged(resp.Header, resent) && c.auth.retry(resp.Header, req.Header.Get("Authorization")) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, httpclient.MaxErrorBody))
		_ = resp.Body.Close()
		c.update(u.Path, resp.Header, sent) // Okta counted it as any request
		return resp.Header, resp.StatusCode, errChallenged
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, httpclient.MaxErrorBody))
		if resp.StatusCode != http.StatusTooManyRequests {
			// A 429's reset may be another client's storm: Hold takes it
			// in without moving the window the pacer counts in.
			c.update(u.Path, resp.Header, sent)
		}
		return resp.Header, resp.StatusCode, newAPIError(http.MethodGet, u.Path, resp, body, c.clock.Now())
	}
	c.update(u.Path, resp.Header, sent)
	if webpage.Is(resp.Header) {
		// A sign-in page, another site, a proxy's block page: not Okta,
		// whose API answers JSON on every path; an error to fix, not to retry.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, httpclient.MaxErrorBody))
		return resp.Header, resp.StatusCode, newAPIError(http.MethodGet, u.Path, resp, body, c.clock.Now())
	}
	if early != nil {
		early(resp.Header)
	}
	body := &countingReader{r: io.LimitReader(resp.Body, maxBody+1)}
	if err := decode(body); err != nil {
		if body.n > maxBody {
			return resp.Header, resp.StatusCode, fault.Mark(fmt.Errorf("okta: GET %s: response larger than %d MiB", u.Path, maxBody>>20), fault.ErrTransient)
		}
		return resp.Header, resp.StatusCode, fault.Mark(fmt.Errorf("okta: GET %s: malformed response: %w", u.Path, err), fault.ErrTransient)
	}
	return resp.Header, resp.StatusCode, nil
}

// request makes a GET of u with the client's headers and credentials.
func (c *Client) request(ctx context.Context, u *url.URL, attempt int, retryFor string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("User-Agent", c.opts.UserAgent)
	auth, proof, err := c.auth.header(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	if attempt > 0 && retryFor != "" {
		req.Header.Set("X-Okta-Retry-For", retryFor)
		req.Header.Set("X-Okta-Retry-Count", strconv.Itoa(attempt))
	}
	return req, nil
}

// acquire takes a slot among the requests in flight: one of maxInFlight,
// or, once Okta's concurrency limit was hit, every slot, so that the
// request goes alone (it waits for those already in flight).
func (c *Client) acquire(ctx context.Context) (release func(), err error) {
	if !c.serial.Load() {
		select {
		case c.inFlight <- struct{}{}:
			return func() { <-c.inFlight }, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case c.single <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	taken := 0
	release = func() {
		for range taken {
			<-c.inFlight
		}
		<-c.single
	}
	for ; taken < maxInFlight; taken++ {
		select {
		case c.inFlight <- struct{}{}:
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// wait429 is how long a 429 asks to wait: until Okta's reset (Reset less
// Date, so clock skew does not matter), plus a second and up to a second of
// jitter so parallel clients do not wake together; or Retry-After, which a
// proxy in front of Okta may send. ok is false when the answer says
// neither.
func (c *Client) wait429(path string, h http.Header) (time.Duration, bool) {
	d := untilReset(h)
	if d < 0 {
		d = httpclient.RetryAfter(h, c.clock.Now())
		if d < 0 {
			return 0, false
		}
	}
	if d > maxAnnouncedWait {
		c.absurdReset(path, d)
		d = maxAnnouncedWait
	}
	return max(d, time.Second) + time.Second + httpclient.Jitter(time.Second), true
}

// untilReset is X-Rate-Limit-Reset less Date, or -1 without the headers.
func untilReset(h http.Header) time.Duration {
	reset, err1 := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	date, err2 := http.ParseTime(h.Get("Date"))
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Unix(reset, 0).Sub(date)
}

// errChallenged is a 401 the credentials can answer: an access token to
// renew, or a DPoP nonce the server asks for. The request is sent again,
// paced as a request of its own, since Okta counts both sendings (before,
// the second went at once and uncounted: with the nonce moving every 10
// calls, a pass sent 199 users requests in a window of 180, and 34 and 35
// in windows of 30 for devices and apps; TestOAuthAppIsPacedToItsShare).
// It leaves its concurrency slot meanwhile, and the second sending gets
// a timeout of its own.
var errChallenged = errors.New("okta: a challenge to answer")

// maxNonceResends bounds how often one request is sent again for DPoP
// nonce challenges in a row: a resend that waited for the window may find
// the nonce moved again; a server that asks for ever is an error.
const maxNonceResends = 3

// challenged says whether a 401 may be answered by sending the request
// again: the first one (a token to renew, a nonce), and nonce challenges
// up to maxNonceResends in a row.
func challenged(h http.Header, resent int) bool {
	return resent == 0 || resent < maxNonceResends && strings.Contains(h.Get("WWW-Authenticate"), "use_dpop_nonce")
}

// backoff waits 1 s, 2 s, 4 s ... (with jitter) up to maxBackoff.
func backoff(attempt int) time.Duration { return httpclient.Backoff(attempt, time.Second, maxBackoff) }

// isTokenWait says whether err is a token request that failed for a while
// (tokenWait): the request that needed the token was not sent.
func isTokenWait(err error) bool {
	var w *tokenWait
	return errors.As(err, &w)
}

// tokenRetry is how long a request that could not get an access token
// (isTokenWait) waits before it asks again, or the run's error when it
// should wait no longer. The token endpoint's 429 is waited out as an API
// 429 is, until the reset Okta announced, a rate-limit wait that counts no
// failure; any other failure counts one and waits its backoff, or the
// pause before the next token request, whichever is longer.
func (c *Client) tokenRetry(err error, failures *int, rateWaited *time.Duration) (time.Duration, error) {
	var w *tokenWait
	errors.As(err, &w)
	d := max(w.until.Sub(c.clock.Now()), 0)
	if !w.limited {
		*failures++
		wait := max(backoff(*failures-1), d)
		c.log.Warn("okta token request failed, retrying", "attempt", *failures, "wait", wait, "error", err)
		return wait, nil
	}
	if *rateWaited+d > engine.MaxRateLimitWait {
		until := c.clock.Now().Add(d)
		return 0, &engine.RateLimitedError{Until: until, Err: fmt.Errorf(
			"okta kept answering 429 on its token endpoint for %s (the org's limit for it, shared with the org's other apps, "+
				"is spent; next reset %s); the run stops here and the next one tries again: %w",
			rateWaited.Round(time.Second), until.UTC().Format(time.RFC3339), err)}
	}
	*rateWaited += d
	c.count(func(s *engine.Stats) { s.RateLimitWaits++; s.RateLimitWait += d })
	c.log.Warn("okta rate limit hit", "path", tokenPath, "wait", d)
	return d, nil
}
