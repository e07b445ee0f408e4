package httpclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"neurons-connector/fault"
)

// Every provider's error answers are classified by status in one place:
// 429 and 5xx may pass, 401 and 403 need an admin, the rest are this
// request's problem and have no class.
func TestAPIErrorClassAndMessage(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for status, class := range map[int]error{429: fault.ErrTransient, 500: fault.ErrTransient, 503: fault.ErrTransient,
		401: fault.ErrConfig, 403: fault.ErrConfig, 400: nil, 404: nil} {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"7"}}}
		e := NewAPIError("acme", "GET", "/users", resp, []byte(strings.Repeat("x", 3*MaxErrorBody)), now)
		for _, c := range []error{fault.ErrTransient, fault.ErrConfig} {
			if errors.Is(e, c) != (c == class) { //nolint:errorlint // comparing the sentinels themselves
				t.Errorf("HTTP %d: in %v is %v, want class %v", status, c, errors.Is(e, c), class)
			}
		}
		if len(e.Body) != MaxErrorBody || e.RetryAfter != 7*time.Second {
			t.Errorf("HTTP %d: kept %d bytes, retry after %v", status, len(e.Body), e.RetryAfter)
		}
	}
	e := NewAPIError("okta", "GET", "/api/v1/users", &http.Response{StatusCode: 403, Header: http.Header{}}, nil, now)
	e.Code, e.Message, e.RequestID = "E0000006", "You do not have permission", "req-1"
	if got := e.Error(); got != "okta: GET /api/v1/users: HTTP 403 E0000006: You do not have permission (request req-1)" {
		t.Errorf("message %q", got)
	}
	var ae *APIError
	if !errors.As(fault.Mark(e, fault.ErrConfig), &ae) || ae.RetryAfter >= 0 {
		t.Errorf("as: %+v", ae)
	}
}

// A web page in place of the API's JSON names itself by its title and is
// a configuration problem; a 429 or 5xx page means its status.
func TestWebPages(t *testing.T) {
	page := func(status int, ct, body string) *APIError {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}}}
		return NewAPIError("okta", "GET", "/api/v1/org", resp, []byte(body), time.Now())
	}
	for _, tc := range []struct {
		status   int
		ct, body string
		want     string // Page
		config   bool
	}{
		{200, "text/html; charset=utf-8", "<html><head><title>Sign In</title></head><body>x</body></html>", "Sign In", true},
		{403, "text/html", "<html><body><h1>Access denied</h1><p>by policy</p></body></html>", "Access denied by policy", true},
		{200, "application/xhtml+xml", "<html><title>\n  Portal\n</title></html>", "Portal", true},
		{404, "TEXT/HTML", "<html></html>", "no title", true},
		{429, "text/html", "<html><title>Too Many Requests</title></html>", "", false},
		{502, "text/html", "<html><title>Bad Gateway</title></html>", "", false},
		{403, "application/json", `{"errorCode":"E0000006"}`, "", true},
	} {
		e := page(tc.status, tc.ct, tc.body)
		if e.Page != tc.want || errors.Is(e, fault.ErrConfig) != tc.config {
			t.Errorf("%d %s: Page %q, config %v", tc.status, tc.ct, e.Page, errors.Is(e, fault.ErrConfig))
		}
	}
	long := page(200, "text/html", "<p>"+strings.Repeat("word ", 40)+"</p>")
	if r := []rune(long.Page); len(r) != 61 || !strings.HasSuffix(long.Page, "…") {
		t.Errorf("a long page's words: %q", long.Page)
	}
}
