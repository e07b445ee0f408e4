package onelogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/httpclient"
)

// accessToken returns the cached token, or asks for one: POST
// /auth/oauth2/v2/token with the client credentials in HTTP Basic. v2 hands
// out the same token until it expires (10 h), so it is cached for the run
// and renewed only after expiry or a 401 (onelogin-api.md §1.1).
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.expires
	c.mu.Unlock()
	if tok != "" && c.clock.Now().Before(exp) {
		return tok, nil
	}
	u := *c.base
	u.Path = "/auth/oauth2/v2/token"
	var lastErr error
	fiveHundreds := 0
	for attempt := 0; attempt <= c.opts.MaxRetries; attempt++ {
		if attempt > 0 {
			c.count(func(s *engine.Stats) { s.Retries++ })
			if err := c.clock.Sleep(ctx, httpclient.Backoff(attempt-1, minBackoff, maxBackoff)); err != nil {
				return "", err
			}
		}
		if _, _, err := c.pacer.Wait(ctx); err != nil {
			return "", err
		}
		var t struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
			AccountID   any    `json:"account_id"`
		}
		_, err := c.once(ctx, http.MethodPost, &u, true, func(r io.Reader, _ http.Header) error {
			if err := httpclient.DecodeInto(r, &t); err != nil {
				return err
			}
			if t.AccessToken == "" {
				return errors.New("no access_token in the answer")
			}
			return nil
		})
		c.pacer.Done()
		if err == nil {
			life := time.Duration(t.ExpiresIn) * time.Second
			if life <= 0 {
				life = 10 * time.Hour
			}
			account, _ := idString(t.AccountID)
			c.mu.Lock()
			c.token, c.expires = t.AccessToken, c.clock.Now().Add(max(life-tokenMargin, life/2))
			c.account = account
			c.mu.Unlock()
			return t.AccessToken, nil
		}
		var ae *httpclient.APIError
		switch {
		case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusBadRequest):
			return "", &credentialsError{status: ae.Status, name: c.opts.Name}
		case errors.As(err, &ae) && ae.Status == http.StatusInternalServerError && fiveHundreds > 0:
			// A 500 again, not a 502/503/504 of a proxy: what OneLogin
			// answers when the credentials' creator was deleted (§1.1).
			return "", &credentialsError{status: ae.Status, name: c.opts.Name, ownerGone: true}
		case errors.Is(err, fault.ErrTransient):
			if errors.As(err, &ae) && ae.Status == http.StatusInternalServerError {
				fiveHundreds++
			}
			lastErr = err
		default:
			return "", err
		}
	}
	return "", fmt.Errorf("onelogin: no access token after %d attempts: %w", c.opts.MaxRetries+1, lastErr)
}

// dropToken forgets the cached token after a 401.
func (c *Client) dropToken() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// credentialsError: OneLogin refused the client ID and secret.
type credentialsError struct {
	status    int
	name      string
	ownerGone bool // repeated 500s
}

func (e *credentialsError) Error() string {
	name := e.name
	if name == "" {
		name = "NAME"
	}
	if e.ownerGone {
		return fmt.Sprintf("onelogin answers HTTP 500 to the token request again and again, which is what it does when the admin who "+
			"created the API credential was deleted; create a new credential with the Read All scope, then run: "+
			"neurons-connector connector edit %q --client-id ID --client-secret-stdin", name)
	}
	return fmt.Sprintf("onelogin refused the client ID and secret (HTTP %d at /auth/oauth2/v2/token): they are wrong or were deleted; "+
		"create an API credential with the Read All scope under Developers > API Credentials, then run: "+
		"neurons-connector connector edit %q --client-id ID --client-secret-stdin", e.status, name)
}

func (e *credentialsError) Unwrap() error { return fault.ErrConfig }
