package httpclient

import (
	"fmt"
	"net/http"
	"time"

	"neurons-connector/fault"
	"neurons-connector/internal/redact"
	"neurons-connector/internal/webpage"
)

// MaxErrorBody is how much of an error response an APIError keeps.
const MaxErrorBody = 1 << 10

// APIError is a non-2xx answer from a provider's API, the one error type
// of every provider client: typed once at the HTTP boundary and classified
// there (Unwrap), so callers look at Status only for what the provider
// means by it (a 404 that says a user is gone).
type APIError struct {
	Provider     string // "okta": how the message starts
	Method, Path string // the request, without its query (it may hold filters, never secrets)
	Status       int
	Code         string // the provider's error code (Okta's errorCode), if any
	Message      string // the provider's own words (Okta's errorSummary, OneLogin's message)
	RequestID    string // the provider's id of the request, for its support
	// RetryAfter is the wait a Retry-After header announced; negative
	// when there was none.
	RetryAfter time.Duration
	Body       []byte // the start of the body, at most MaxErrorBody, without the request's credentials
	// Page is the title (or first words) of a web page that came in place
	// of the API's JSON; empty when the answer was not HTML (webpage.Is).
	// Where names what the admin gave the host with, for the message
	// ("URL" unless the provider says otherwise, OneLogin's "--domain").
	Page, Where string
	// secrets are the credentials the request carried, which nothing
	// quoted from the answer may repeat (Redact).
	secrets []string
}

// NewAPIError types an answer; the provider fills in Code, Message and
// RequestID from its own error shape, through Redact.
func NewAPIError(provider, method, path string, resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{Provider: provider, Method: method, Path: path, Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header, now)}
	if resp.Request != nil {
		e.secrets = redact.Credentials(resp.Request.Header.Get("Authorization"))
	}
	// Scrubbed before it is cut, which could leave half a secret.
	e.Body = []byte(e.Redact(string(body)))
	// A load balancer's 502 or OneLogin's 429 are HTML pages too, and
	// mean what their status says; any other page is not the API's answer.
	if webpage.Is(resp.Header) && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		e.Page = webpage.Title(e.Body)
	}
	if len(e.Body) > MaxErrorBody {
		e.Body = e.Body[:MaxErrorBody]
	}
	return e
}

// Redact takes the request's credentials out of text from the answer: a
// server that quotes the request back (an error page, a debugging proxy,
// an impostor at a mistyped URL) must not put the API token or client
// secret into an error, a log or status.
func (e *APIError) Redact(text string) string { return redact.Secrets(text, e.secrets...) }

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: %s %s: HTTP %d", e.Provider, e.Method, e.Path, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	if e.Page != "" {
		where := e.Where
		if where == "" {
			where = "URL"
		}
		msg += fmt.Sprintf(": a web page (%q) answered, not the API; check the connector's %s, and whether a proxy "+
			"or firewall on the way answers in its place (HTTPS_PROXY, a proxy sign-in, a blocked host)", e.Page, where)
	}
	return msg
}

// Unwrap gives the class: 429 and 5xx may pass; 401 and 403 need an admin;
// any other status is a problem with this request, reported as it is.
func (e *APIError) Unwrap() error {
	switch {
	case e.Page != "":
		// Not the API at all: another site, a sign-in page, a proxy's
		// block page. Retrying changes nothing.
		return fault.ErrConfig
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return fault.ErrTransient
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return fault.ErrConfig
	}
	return nil
}
