package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/fault"
	"neurons-connector/secret"
	"neurons-connector/sink"
	"neurons-connector/sink/sinktest"
)

// tokenEnv is a Neurons client on the fake sink and a fake clock.
type tokenEnv struct {
	fake  *sinktest.Server
	clock *clock.Fake
	n     *sink.Neurons
	url   string // the fake's
}

func newTokenEnv(t *testing.T, o sinktest.Options) *tokenEnv {
	t.Helper()
	c := clock.NewFake(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	if o.ClientSecret == "" {
		o.ClientSecret = "Sink-Secret-5"
	}
	o.ClientID, o.Clock = "sink-client", c
	fake := sinktest.New(o)
	srv := fake.Start()
	t.Cleanup(srv.Close)
	n, err := sink.NewNeurons(sink.NeuronsOptions{URL: srv.URL, TokenURL: srv.URL + sinktest.TokenPath, ClientID: "sink-client",
		ClientSecret: secret.New([]byte(o.ClientSecret)), Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	return &tokenEnv{fake: fake, clock: c, n: n, url: srv.URL}
}

// push sends batch seq (from 1) of a run, one user.
func (e *tokenEnv) push(t *testing.T, seq int) {
	t.Helper()
	if err := e.tryPush(seq); err != nil {
		t.Fatalf("push %d: %v", seq, err)
	}
}

// tryPush is push returning the error.
func (e *tokenEnv) tryPush(seq int) error {
	b := &sink.Batch{Key: "c_1:" + strconv.Itoa(seq), Connector: sink.Connector{ID: "c_1", Name: "Okta", Type: "okta", Server: "Cloud"},
		Info:    sink.BatchInfo{RunID: "r_1", Sequence: seq, Mode: "full"},
		Upserts: []sink.Upsert{{SourceID: "00u1", Attributes: json.RawMessage(`{"User.Email":"a@example.com"}`)}}}
	body, err := b.Body()
	if err != nil {
		return err
	}
	p, err := sink.Pack(body)
	if err != nil {
		return err
	}
	return e.n.Push(context.Background(), b.Key, p)
}

// A token answer without expires_in (RFC 6749 only recommends it), with
// zero, a negative number or one past any clock still gives a token that is
// kept for push after push, renewed after a 401 like any other: never one
// token request per batch.
func TestTokenKeptWhateverLifeItAnnounces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    sinktest.Options
	}{
		{"absent", sinktest.Options{OmitExpiresIn: true}},
		{"negative", sinktest.Options{ExpiresIn: -5}},
		{"past any clock", sinktest.Options{ExpiresIn: 1 << 62}},
		{"past any float", sinktest.Options{RawExpiresIn: "1e400"}},
		{"a string", sinktest.Options{RawExpiresIn: `"3600"`}},
		{"half a minute, under the renewal margin", sinktest.Options{ExpiresIn: 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t, tc.o)
			for seq := 1; seq <= 5; seq++ {
				e.push(t, seq)
				e.clock.Advance(time.Second)
			}
			if got := e.fake.TokenRequests(); got != 1 {
				t.Errorf("%d token requests for 5 pushes within 5 s", got)
			}
		})
	}
}

// A token is renewed before it runs out: pushes a minute apart across five
// lives of a two-minute token never meet a 401.
func TestTokenRenewedBeforeItExpires(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t, sinktest.Options{TokenTTL: 2 * time.Minute})
	for seq := 1; seq <= 10; seq++ {
		e.push(t, seq)
		e.clock.Advance(time.Minute)
	}
	if got := e.fake.Answers()[401]; got != 0 {
		t.Errorf("%d answers of 401: the token was used past its life", got)
	}
	if got := e.fake.TokenRequests(); got < 5 || got > 10 {
		t.Errorf("%d token requests over 10 minutes of a 2-minute token", got)
	}
}

// An endpoint that quotes the request back in its error (a debugging
// proxy, an error page repeating what it refused) never gets the client
// secret or the access token into the error the connector reports, logs
// and shows in status: not as sent, form-encoded or JSON-escaped.
func TestErrorsNeverQuoteTheSecrets(t *testing.T) {
	t.Parallel()
	const clientSecret = `Sink+Secret/"q&=5 é<x>`
	tokenRE := regexp.MustCompile(`eyJ[0-9a-f]{32}`)
	for _, tc := range []struct {
		path   string
		status int
		shows  string // what the quoted request shows once scrubbed
	}{
		{sinktest.TokenPath, 400, "client_secret=[redacted]"},
		{sinktest.TokenPath, 401, "client_secret=[redacted]"},
		{sinktest.TokenPath, 503, "client_secret=[redacted]"},
		{sinktest.TokenPath, 418, "client_secret=[redacted]"},
		{sinktest.IngestPath, 400, "Bearer [redacted]"},
		{sinktest.IngestPath, 403, "Bearer [redacted]"},
		{sinktest.IngestPath, 502, "Bearer [redacted]"},
		{sinktest.IngestPath, 418, "Bearer [redacted]"},
		{sinktest.IngestPath, 200, "Bearer [redacted]"},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.path, tc.status), func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t, sinktest.Options{ClientSecret: clientSecret})
			if tc.path == sinktest.IngestPath {
				e.push(t, 1) // a token in hand
			}
			e.fake.EchoNext(tc.path, 1, tc.status)
			err := e.tryPush(2)
			if err == nil {
				t.Fatal("an echoed request was taken as delivered")
			}
			msg := err.Error()
			for _, form := range []string{clientSecret, url.QueryEscape(clientSecret), `Sink+Secret/\"q`} {
				if strings.Contains(msg, form) {
					t.Errorf("the client secret (as %q) is in the error: %s", form, msg)
				}
			}
			if tokenRE.MatchString(msg) {
				t.Errorf("the access token is in the error: %s", msg)
			}
			if !strings.Contains(msg, tc.shows) {
				t.Errorf("the error does not show the quoted request %q: %s", tc.shows, msg)
			}
		})
	}
}

// NC_NEURONS_TOKEN_URL set to a web page (the Neurons landscape's sign-in
// page rather than the App Registration's /connect/token, a proxy's page)
// answers 200 with HTML: a setting to fix, said with the page's title, not
// an answer to retry for ever as "no access_token".
func TestATokenURLThatIsAWebPage(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><html><head><title>Ivanti Neurons - Sign in</title></head><body></body></html>"))
	}))
	defer page.Close()
	e := newTokenEnv(t, sinktest.Options{})
	n, err := sink.NewNeurons(sink.NeuronsOptions{URL: page.URL, TokenURL: page.URL + "/", ClientID: "sink-client",
		ClientSecret: secret.New([]byte("Sink-Secret-5")), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.n = n
	err = e.tryPush(1)
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), `a web page ("Ivanti Neurons - Sign in")`) ||
		!strings.Contains(err.Error(), "NC_NEURONS_TOKEN_URL") {
		t.Errorf("push: %v", err)
	}
}

// An ingestion URL that does not exist (NC_NEURONS_URL with a wrong path)
// answers 404 or 405: a setting to fix, said as such, not a batch refused
// for its content (which a resend would be asked to replace).
func TestAnIngestURLThatIsNotThere(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusMethodNotAllowed} {
		e := newTokenEnv(t, sinktest.Options{})
		e.fake.FailNext(1, status, "")
		err := e.tryPush(1)
		if !errors.Is(err, fault.ErrConfig) || errors.Is(err, fault.ErrRejected) || !strings.Contains(err.Error(), "check NC_NEURONS_URL") {
			t.Errorf("HTTP %d: %v", status, err)
		}
	}
}

// Each refusal of the token endpoint names the setting to fix, by the
// OAuth error it answers (RFC 6749 §5.2), and a server's own failure is
// retried: before, every 400 said to check the client ID and secret, so
// an admin whose NC_NEURONS_SCOPE the registration does not allow chased
// a secret that was right, and a "temporarily_unavailable" in a 400 waited
// for an admin.
func TestTokenRefusalsNameTheirSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scope   string
		status        int
		code          string // TokenFailNext's, if status
		class         error
		names, blames string // the message names this, and not that
	}{
		{name: "a scope not allowed", scope: "neurons.everything", class: fault.ErrConfig,
			names: "NC_NEURONS_SCOPE", blames: "NC_NEURONS_CLIENT_SECRET"},
		{name: "the grant not allowed", status: 400, code: "unauthorized_client", class: fault.ErrConfig,
			names: "client credentials", blames: "NC_NEURONS_CLIENT_SECRET"},
		{name: "wrong credentials", status: 401, code: "invalid_client", class: fault.ErrConfig,
			names: "NC_NEURONS_CLIENT_SECRET", blames: "NC_NEURONS_SCOPE"},
		{name: "server_error", status: 400, code: "server_error", class: fault.ErrTransient, blames: "NC_NEURONS_CLIENT_SECRET"},
		{name: "temporarily_unavailable", status: 400, code: "temporarily_unavailable", class: fault.ErrTransient,
			blames: "NC_NEURONS_CLIENT_SECRET"},
		{name: "503", status: 503, code: "temporarily_unavailable", class: fault.ErrTransient, blames: "NC_NEURONS_CLIENT_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t, sinktest.Options{Scopes: []string{"neurons.connectors"}})
			if tc.status != 0 {
				e.fake.TokenFailNext(1, tc.status, tc.code)
			}
			n, err := sink.NewNeurons(sink.NeuronsOptions{URL: e.url, TokenURL: e.url + sinktest.TokenPath, ClientID: "sink-client",
				ClientSecret: secret.New([]byte("Sink-Secret-5")), Scope: tc.scope, Clock: e.clock})
			if err != nil {
				t.Fatal(err)
			}
			_, err = n.Check(t.Context())
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.names) || strings.Contains(err.Error(), tc.blames) {
				t.Errorf("%v (want %v, naming %q, not %q)", err, tc.class, tc.names, tc.blames)
			}
		})
	}
}
