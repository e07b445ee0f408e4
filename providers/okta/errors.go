package okta

import (
	"encoding/json"
	"fmt"

	"neurons-connector/engine"
)

// maxErrorBody is how much of an error response an APIError keeps.
const maxErrorBody = 1 << 10

// APIError is a non-2xx answer from Okta, typed once at the HTTP boundary.
type APIError struct {
	Method, Path string // the request, without query (it may hold filters, never secrets)
	Status       int
	Code         string // Okta errorCode, e.g. E0000011
	Summary      string // Okta errorSummary
	RequestID    string // X-Okta-Request-Id, for Okta support
	Body         []byte // at most 1 KiB
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("okta: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Summary != "" {
		msg += " " + e.Summary
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// Unwrap classifies the error for the engine.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == 429 || e.Status >= 500:
		return engine.ErrTransient
	case e.Status == 401 || e.Status == 403:
		return engine.ErrConfig
	}
	return nil // 400, 404: a problem with this request, surfaced as is
}

func newAPIError(method, path string, status int, requestID string, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, RequestID: requestID}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e.Body = append([]byte(nil), body...)
	var shape struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
	}
	if json.Unmarshal(body, &shape) == nil {
		e.Code, e.Summary = shape.Code, shape.Summary
	}
	return e
}

// transientError marks a failure worth retrying that is not an HTTP status:
// network errors, timeouts, truncated or malformed bodies.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() []error {
	return []error{e.err, engine.ErrTransient}
}
