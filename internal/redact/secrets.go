package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// Redacted is what a secret is replaced with.
const Redacted = "[redacted]"

// Secrets returns text, which came from the network, with each secret
// replaced by Redacted in every form a server quoting a request back may
// give it: as sent, form- or URL-encoded, JSON-escaped (with and without
// Go's HTML escaping) and base64 (a Basic credential). An error page that
// repeats the request it refused, a debugging proxy or an impostor must
// not put a credential into an error, a log or status. Run it before a
// message is shortened, which could cut a secret in two.
func Secrets(text string, secrets ...string) string {
	for _, v := range secrets {
		if v == "" {
			continue
		}
		for _, form := range []string{v, url.QueryEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20"),
			jsonEscaped(v, true), jsonEscaped(v, false), base64.StdEncoding.EncodeToString([]byte(v))} {
			text = strings.ReplaceAll(text, form, Redacted)
		}
	}
	return text
}

// jsonEscaped is v as it appears inside a JSON string, with <, > and &
// escaped as Go's encoder does by default, or left as they are.
func jsonEscaped(v string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(v)
	return strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:]
}

// Credentials are the secrets an Authorization header carries: the
// credential after its scheme (an API token, an access token, a Basic
// pair as encoded), and a Basic pair's password as typed.
func Credentials(authorization string) []string {
	scheme, cred, ok := strings.Cut(authorization, " ")
	if !ok || cred == "" {
		return nil
	}
	out := []string{cred}
	if strings.EqualFold(scheme, "Basic") {
		if pair, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pw, ok := strings.Cut(string(pair), ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	return out
}
