package okta

import (
	"encoding/json"
	"net/http"
	"time"

	"neurons-connector/providers/httpclient"
)

// newAPIError types a non-2xx answer from Okta with what Okta says in it:
// its errorCode and errorSummary (okta-api.md §1.3), and the
// X-Okta-Request-Id its support asks for.
func newAPIError(method, path string, resp *http.Response, body []byte, now time.Time) *httpclient.APIError {
	e := httpclient.NewAPIError("okta", method, path, resp, body, now)
	e.RequestID = e.Redact(resp.Header.Get("X-Okta-Request-Id"))
	var shape struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
	}
	if json.Unmarshal(body, &shape) == nil {
		e.Code, e.Message = e.Redact(shape.Code), e.Redact(shape.Summary)
	}
	return e
}
