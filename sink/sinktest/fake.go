// Package sinktest is the receiving side of the Neurons ingestion contract
// (spec/neurons-ingestion.md), for tests, benchmarks and the demo: an OAuth
// token endpoint and the ingest endpoint, checking every request as the
// contract states it, recording accepted batches, answering 409 to a key
// seen before, and failing on command in every way the contract lists.
package sinktest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json" // the fake decodes every byte a benchmark pushes: the faster the better
	// compress/gzip's API, two to three times faster
	"neurons-connector/clock"
)

// Paths the fake serves.
const (
	TokenPath  = "/connect/token"
	IngestPath = "/api/connectors/v1/ingest"
)

// Options configure the fake.
type Options struct {
	ClientID, ClientSecret string
	TokenTTL               time.Duration // default 1 h
	// ExpiresIn, when not zero, is the expires_in the token answer
	// announces instead of TokenTTL's seconds (the tokens still live
	// TokenTTL): a number no clock reaches, or a negative one, from a
	// broken endpoint; RawExpiresIn, the same written as given (JSON).
	// OmitExpiresIn leaves it out, as RFC 6749 allows.
	ExpiresIn     int64
	RawExpiresIn  string
	OmitExpiresIn bool
	Clock         clock.Clock
	// MaxBody answers 413 to larger (uncompressed) bodies; default 5 MiB.
	MaxBody int
	// CountOnly keeps counts, not records: benchmarks of a million users.
	CountOnly bool
	// Scopes are the scopes the App Registration may ask for; a token
	// request asking for another gets 400 invalid_scope (RFC 6749 §5.2).
	// Empty: any scope, or none.
	Scopes []string
}

// Record is what the fake holds for one user.
type Record struct {
	Attributes map[string]any
	// Raw is the last upsert's attributes object exactly as it came, byte
	// for byte: what a client hashed, if it hashes what it sends.
	Raw     []byte
	Upserts int // how many upserts of this user were applied
}

// Accepted is one batch the fake accepted.
type Accepted struct {
	Key       string
	Connector string
	RunID     string
	Sequence  int
	Mode      string
	Final     bool
	Upserts   int
	Deletes   int
	Gzipped   bool
}

// Server is the fake sink.
type Server struct {
	opts  Options
	clock clock.Clock

	mu       sync.Mutex
	tokens   map[string]time.Time // token → expiry
	keys     map[string]bool
	accepted []Accepted
	reports  []*RunReport
	state    map[string]map[string]*Record // connector ID → source ID → record
	deleted  map[string]map[string]string  // connector ID → source ID → reason of the last delete
	delCount map[string]map[string]int     // connector ID → source ID → deletes applied
	counts   struct{ upserts, deletes int }
	lastSeq  map[string]int // connector ID + run → last sequence, for order checks
	failures []failure
	drop     struct{ times, missing int } // DropNext
	outage   bool
	reject   rejectRule
	echo     []echo
	tokenReq int
	tokenErr []tokenFailure // TokenFailNext
	requests map[int]int    // answers by status
}

// tokenFailure is a TokenFailNext order.
type tokenFailure struct {
	status int
	code   string
	times  int
}

type failure struct {
	status     int
	retryAfter string
	times      int
	// raw, when set, is the whole answer (with its Content-Type): not
	// the contract's JSON.
	raw, contentType string
}

// echo is an EchoNext order.
type echo struct {
	path          string
	status, times int
}

// New builds a fake sink.
func New(o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "sink-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sink-secret"
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = time.Hour
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.MaxBody == 0 {
		o.MaxBody = 5 << 20
	}
	return &Server{opts: o, clock: o.Clock, tokens: map[string]time.Time{}, keys: map[string]bool{},
		state: map[string]map[string]*Record{}, deleted: map[string]map[string]string{}, lastSeq: map[string]int{},
		delCount: map[string]map[string]int{}, requests: map[int]int{}}
}

// Start serves the fake on a loopback port.
func (s *Server) Start() *httptest.Server { return httptest.NewServer(s) }

// Outage makes every ingest request fail with 503 until turned off.
func (s *Server) Outage(on bool) {
	s.mu.Lock()
	s.outage = on
	s.mu.Unlock()
}

// FailNext answers the next n ingest requests with status (and Retry-After,
// if not empty): 429, 5xx, 400, 401, 403, 413.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter, times: n})
	s.mu.Unlock()
}

// TokenFailNext answers the next n token requests with status and an
// OAuth error of code (RFC 6749 §5.2's shape): "unauthorized_client" for a
// registration not allowed the grant, "invalid_request", or what servers
// send for their own failures, "server_error" and
// "temporarily_unavailable".
func (s *Server) TokenFailNext(n, status int, code string) {
	s.mu.Lock()
	s.tokenErr = append(s.tokenErr, tokenFailure{status: status, code: code, times: n})
	s.mu.Unlock()
}

// AnswerNext answers the next n ingest requests with status, content type
// and body as given, and keeps nothing of them: what a wrong
// NC_NEURONS_URL (a web application whose every path answers 200 with its
// start page), a proxy's page or an impostor sends.
func (s *Server) AnswerNext(n, status int, contentType, body string) {
	s.mu.Lock()
	s.failures = append(s.failures, failure{status: status, times: n, raw: body, contentType: contentType})
	s.mu.Unlock()
}

// DropNext makes the next n batches with upserts lose their last missing
// upserts: accepted with 202 and {"accepted": N}, N counting only what was
// kept. What a gateway that drops records it cannot store, and says so
// only in its count, does.
func (s *Server) DropNext(n, missing int) {
	s.mu.Lock()
	s.drop.times, s.drop.missing = n, missing
	s.mu.Unlock()
}

// EchoNext answers the next n requests to path (TokenPath or IngestPath)
// with status and a body that quotes the request, its headers and the
// start of its body, JSON-escaped as an error page would: what a debugging
// proxy, or an error page that repeats what it refused, sends back.
func (s *Server) EchoNext(path string, n, status int) {
	s.mu.Lock()
	s.echo = append(s.echo, echo{path: path, status: status, times: n})
	s.mu.Unlock()
}

// tokenFailure takes one TokenFailNext order, if any.
func (s *Server) tokenFailure() (tokenFailure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokenErr) == 0 {
		return tokenFailure{}, false
	}
	f := s.tokenErr[0]
	if s.tokenErr[0].times--; s.tokenErr[0].times <= 0 {
		s.tokenErr = s.tokenErr[1:]
	}
	return f, true
}

// echoing takes one EchoNext order for path, if any.
func (s *Server) echoing(path string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.echo {
		if e := &s.echo[i]; e.path == path {
			if e.times--; e.times <= 0 {
				s.echo = append(s.echo[:i], s.echo[i+1:]...)
			}
			return e.status, true
		}
	}
	return 0, false
}

// quote answers status with the request quoted back.
func quote(w http.ResponseWriter, r *http.Request, status int) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	var sent strings.Builder
	for k, v := range r.Header {
		fmt.Fprintf(&sent, "%s: %s\n", k, strings.Join(v, ", "))
	}
	reply(w, status, map[string]any{"error": "invalid_request",
		"error_description": "refused: " + sent.String() + "\n" + string(body)})
}

// RejectValue answers 400 to every batch with an upsert whose attribute
// has the value, naming the record in its details: what a Neurons that
// validates values (an e-mail address, a length) answers, and what no
// retry of the same batch gets past. An empty attribute stops rejecting.
func (s *Server) RejectValue(attribute, value string) {
	s.mu.Lock()
	s.reject.attribute, s.reject.value = attribute, value
	s.mu.Unlock()
}

// RejectDelete answers 400 to every batch that deletes sourceID, naming
// the delete in its details: a sink that will not take a delete (of a
// record it never had, or for a reason it does not know). Empty stops.
func (s *Server) RejectDelete(sourceID string) {
	s.mu.Lock()
	s.reject.deleteOf = sourceID
	s.mu.Unlock()
}

type rejectRule struct{ attribute, value, deleteOf string }

// refused lists the records of b that r refuses, as a 400's details.
func (r rejectRule) refused(b *batch) []string {
	var out []string
	for i, d := range b.Deletes {
		if r.deleteOf != "" && d.SourceID == r.deleteOf {
			out = append(out, fmt.Sprintf("deletes[%d] (sourceId %s): not accepted", i, d.SourceID))
		}
	}
	if r.attribute == "" {
		return out
	}
	for i, u := range b.Upserts {
		var attrs map[string]any
		if json.Unmarshal(u.Raw, &attrs) == nil && attrs[r.attribute] == r.value {
			out = append(out, fmt.Sprintf("upserts[%d] (sourceId %s): attributes.%s: the value %q is not accepted", i, u.SourceID, r.attribute, r.value))
		}
	}
	return out
}

// ExpireTokens makes every issued token invalid, as a revocation would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	s.tokens = map[string]time.Time{}
	s.mu.Unlock()
}

// Users returns a copy of what the fake holds for a connector.
func (s *Server) Users(connectorID string) map[string]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Record{}
	for id, r := range s.state[connectorID] {
		out[id] = *r
	}
	return out
}

// DeleteReason returns the reason of the last delete of a user, if any.
func (s *Server) DeleteReason(connectorID, sourceID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted[connectorID][sourceID]
}

// Accepted returns the accepted batches in order.
func (s *Server) Accepted() []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Accepted(nil), s.accepted...)
}

// Counts returns the upserts and deletes applied so far.
func (s *Server) Counts() (upserts, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts.upserts, s.counts.deletes
}

// TokenRequests is how many tokens were asked for.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenReq
}

// Answers counts ingest answers by HTTP status.
func (s *Server) Answers() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]int{}
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if status, ok := s.echoing(r.URL.Path); ok {
		quote(w, r, status)
		s.mu.Lock()
		s.requests[status]++
		s.mu.Unlock()
		return
	}
	switch {
	case r.URL.Path == TokenPath && r.Method == http.MethodPost:
		s.token(w, r)
	case r.URL.Path == IngestPath && r.Method == http.MethodPost:
		status := s.ingest(w, r)
		s.mu.Lock()
		s.requests[status]++
		s.mu.Unlock()
	default:
		reply(w, http.StatusNotFound, map[string]any{"error": "not found"})
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		reply(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if f, ok := s.tokenFailure(); ok {
		reply(w, f.status, map[string]any{"error": f.code, "error_description": "refused by the test"})
		return
	}
	if r.PostForm.Get("client_id") != s.opts.ClientID || r.PostForm.Get("client_secret") != s.opts.ClientSecret {
		reply(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		if len(s.opts.Scopes) > 0 && !slices.Contains(s.opts.Scopes, sc) {
			reply(w, http.StatusBadRequest, map[string]any{"error": "invalid_scope"})
			return
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "eyJ" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.clock.Now().Add(s.opts.TokenTTL)
	s.tokenReq++
	s.mu.Unlock()
	answer := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int64(s.opts.TokenTTL.Seconds())}
	switch {
	case s.opts.OmitExpiresIn:
		delete(answer, "expires_in")
	case s.opts.RawExpiresIn != "": // by hand: an encoder may refuse what a broken server sends
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%s}`, tok, s.opts.RawExpiresIn)
		return
	case s.opts.ExpiresIn != 0:
		answer["expires_in"] = s.opts.ExpiresIn
	}
	reply(w, http.StatusOK, answer)
}

// ingest checks, in the contract's order, and answers with a status.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) int {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	valid := ok && s.clock.Now().Before(exp)
	var fail *failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		fail.times--
		if fail.times <= 0 {
			s.failures = s.failures[1:]
		}
	}
	outage := s.outage
	s.mu.Unlock()
	if !valid {
		reply(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token"})
		return http.StatusUnauthorized
	}
	if outage {
		reply(w, http.StatusServiceUnavailable, map[string]any{"error": "unavailable"})
		return http.StatusServiceUnavailable
	}
	if fail != nil && fail.raw != "" {
		w.Header().Set("Content-Type", fail.contentType)
		w.WriteHeader(fail.status)
		_, _ = io.WriteString(w, fail.raw)
		return fail.status
	}
	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		reply(w, fail.status, map[string]any{"error": http.StatusText(fail.status), "details": []string{"injected failure"}})
		return fail.status
	}
	key := r.Header.Get("Idempotency-Key")
	body, gz, release, err := readBody(r, s.opts.MaxBody)
	defer release() // the decoders below read body through copies of their own
	switch {
	case key == "":
		return bad(w, "missing Idempotency-Key")
	case r.Header.Get("Content-Type") != "application/json":
		return bad(w, "Content-Type must be application/json")
	case !strings.HasPrefix(r.Header.Get("User-Agent"), "neurons-connector"):
		return bad(w, "User-Agent must be neurons-connector/<version>")
	case errors.Is(err, errTooLarge):
		reply(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "body too large"})
		return http.StatusRequestEntityTooLarge
	case err != nil:
		return bad(w, err.Error())
	}
	var b batch
	if s.opts.CountOnly {
		// Benchmarks: the envelope is checked; the attributes are skipped,
		// not even kept raw.
		var lite struct {
			SchemaVersion int             `json:"schemaVersion"`
			Connector     json.RawMessage `json:"connector"`
			DataType      string          `json:"dataType"`
			Batch         json.RawMessage `json:"batch"`
			Upserts       []struct {
				SourceID string `json:"sourceId"`
			} `json:"upserts"`
			Deletes json.RawMessage `json:"deletes"`
		}
		if err := json.Unmarshal(body, &lite); err != nil {
			return bad(w, "body is not a batch: "+err.Error())
		}
		b.SchemaVersion, b.DataType, b.lite = lite.SchemaVersion, lite.DataType, true
		if json.Unmarshal(lite.Connector, &b.Connector) != nil || json.Unmarshal(lite.Batch, &b.Batch) != nil ||
			json.Unmarshal(lite.Deletes, &b.Deletes) != nil {
			return bad(w, "body is not a batch")
		}
		b.Upserts = make([]upsert, len(lite.Upserts))
		for i, u := range lite.Upserts {
			b.Upserts[i].SourceID = u.SourceID
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return bad(w, "body is not a batch: "+err.Error())
		}
	}
	if problems := b.check(); len(problems) > 0 {
		reply(w, http.StatusBadRequest, map[string]any{"error": "invalid batch", "details": problems})
		return http.StatusBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if details := s.reject.refused(&b); len(details) > 0 {
		reply(w, http.StatusBadRequest, map[string]any{"error": "invalid record", "details": details})
		return http.StatusBadRequest
	}
	if s.keys[key] {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"error":"duplicate"}` + "\n"))
		return http.StatusConflict
	}
	s.keys[key] = true
	if s.drop.times > 0 && len(b.Upserts) > 0 {
		s.drop.times--
		b.Upserts = b.Upserts[:len(b.Upserts)-min(s.drop.missing, len(b.Upserts))]
	}
	s.apply(key, &b, gz)
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, `{"accepted":%d}`+"\n", len(b.Upserts)+len(b.Deletes))
	return http.StatusAccepted
}
