package onelogin

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"neurons-connector/providers/httpclient"
)

// TimeFormat is how OneLogin writes timestamps and how filters are sent.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// jsonUnmarshal is goccy/go-json's Unmarshal (a drop-in for encoding/json,
// faster on large pages).
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// decodeUser decodes one user streamed in, numbers kept exact.
func decodeUser(r io.Reader) (map[string]any, error) {
	var m map[string]any
	if err := httpclient.DecodeInto(r, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null instead of an object")
	}
	return m, nil
}

// fields of one user that the client itself reads.
type facts struct {
	id      string
	status  int
	updated time.Time
	created time.Time // zero if absent or unreadable: only counted, never trusted
}

// checkUser validates and normalises one user in place: id and
// manager_user_id become decimal strings (the API sends numbers or
// strings; onelogin-api.md §3.2), so that a manager reference matches the
// manager's sourceId. A user without a usable id or status is a malformed
// page, not a user to skip.
func checkUser(raw map[string]any) (facts, error) {
	id, ok := idString(raw["id"])
	if !ok {
		return facts{}, fmt.Errorf("a user without a numeric id (%v)", raw["id"])
	}
	raw["id"] = id
	st, ok := idString(raw["status"])
	if !ok {
		return facts{}, fmt.Errorf("user %s: status %v is not a number", id, raw["status"])
	}
	status, _ := strconv.Atoi(st)
	if m, ok := idString(raw["manager_user_id"]); ok && m != "0" {
		raw["manager_user_id"] = m
	} else {
		raw["manager_user_id"] = nil
	}
	f := facts{id: id, status: status}
	if s, ok := raw["updated_at"].(string); ok && s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return facts{}, fmt.Errorf("user %s: updated_at %q is not a timestamp", id, s)
		}
		f.updated = t
	}
	if s, ok := raw["created_at"].(string); ok {
		f.created, _ = time.Parse(time.RFC3339Nano, s)
	}
	return f, nil
}

// idString reads an integer sent as a JSON number or a string (possibly
// quoted once more, as manager_ad_id has been seen).
func idString(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.Trim(strings.TrimSpace(x), `"`)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return "", false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}
