// Package redact makes text safe to quote in a message or a log line: a
// URL a user typed loses its password and its query values, which is
// where credentials hide (https://user:pw@host, ?client_secret=...), even
// when the URL is too malformed to parse; text from the network loses the
// secrets the request that drew it carried (Secrets).
package redact

import (
	"net/url"
	"strings"
)

// URL returns raw with any userinfo replaced by "***" and every query
// value by "***"; the scheme, host, path and query names stay, so the
// message still says which URL is meant.
func URL(raw string) string {
	if u, err := url.Parse(raw); err == nil && strings.Contains(raw, "://") {
		if u.User != nil {
			u.User = url.User("***")
		}
		if u.RawQuery != "" {
			q := u.Query()
			for k := range q {
				q[k] = []string{"***"}
			}
			u.RawQuery = q.Encode()
		}
		// url.URL.String escapes the asterisks; put them back.
		return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
	}
	// Unparseable (a space in the password, a stray %): cut by hand. The
	// userinfo ends at the last @ before the path.
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			s = s[:i+3] + "***@" + rest[at+1:]
		}
	} else if at := strings.LastIndex(strings.SplitN(s, "/", 2)[0], "@"); at >= 0 {
		s = "***@" + s[at+1:]
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		s = s[:q] + "?***"
	}
	return s
}
