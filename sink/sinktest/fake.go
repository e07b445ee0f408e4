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
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"      // the fake decodes every byte a benchmark pushes: the faster the better
	"github.com/klauspost/compress/gzip" // compress/gzip's API, two to three times faster

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
	Clock                  clock.Clock
	// MaxBody answers 413 to larger (uncompressed) bodies; default 5 MiB.
	MaxBody int
	// CountOnly keeps counts, not records: benchmarks of a million users.
	CountOnly bool
}

// Record is what the fake holds for one user.
type Record struct {
	Attributes map[string]any
	Upserts    int // how many upserts of this user were applied
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
	outage   bool
	rejectID string
	tokenReq int
	requests map[int]int // answers by status
}

type failure struct {
	status     int
	retryAfter string
	times      int
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

// Reject answers 400 to every batch that holds the source ID.
func (s *Server) Reject(sourceID string) {
	s.mu.Lock()
	s.rejectID = sourceID
	s.mu.Unlock()
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
	if r.PostForm.Get("client_id") != s.opts.ClientID || r.PostForm.Get("client_secret") != s.opts.ClientSecret {
		reply(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "eyJ" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.clock.Now().Add(s.opts.TokenTTL)
	s.tokenReq++
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenTTL.Seconds())})
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
	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		reply(w, fail.status, map[string]any{"error": http.StatusText(fail.status), "details": []string{"injected failure"}})
		return fail.status
	}
	key := r.Header.Get("Idempotency-Key")
	body, gz, err := readBody(r, s.opts.MaxBody)
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
	if s.rejectID != "" && b.holds(s.rejectID) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "invalid record", "details": []string{"sourceId " + s.rejectID + ": rejected by policy"}})
		return http.StatusBadRequest
	}
	if s.keys[key] {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"error":"duplicate"}` + "\n"))
		return http.StatusConflict
	}
	s.keys[key] = true
	s.apply(key, &b, gz)
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, `{"accepted":%d}`+"\n", len(b.Upserts)+len(b.Deletes))
	return http.StatusAccepted
}

func bad(w http.ResponseWriter, msg string) int {
	reply(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "details": []string{msg}})
	return http.StatusBadRequest
}

var errTooLarge = fmt.Errorf("too large")

func readBody(r *http.Request, maxBody int) ([]byte, bool, error) {
	var in io.Reader = r.Body
	gz := false
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, true, fmt.Errorf("Content-Encoding gzip but the body is not gzip")
		}
		in, gz = zr, true
	default:
		return nil, false, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength*6, int64(maxBody)+1))) // JSON inflates about five-fold
	}
	_, err := buf.ReadFrom(io.LimitReader(in, int64(maxBody)+1))
	body := buf.Bytes()
	if err != nil {
		return nil, gz, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return nil, gz, errTooLarge
	}
	return body, gz, nil
}

func (s *Server) apply(key string, b *batch, gz bool) {
	id := b.Connector.ID
	if s.opts.CountOnly { // a million users: counts only, no state
		s.counts.upserts += len(b.Upserts)
		s.counts.deletes += len(b.Deletes)
		s.accepted = append(s.accepted, Accepted{Key: key, Connector: id, RunID: b.Batch.RunID, Sequence: b.Batch.Sequence,
			Mode: b.Batch.Mode, Final: b.Batch.Final, Upserts: len(b.Upserts), Deletes: len(b.Deletes), Gzipped: gz})
		return
	}
	if s.state[id] == nil {
		s.state[id], s.deleted[id], s.delCount[id] = map[string]*Record{}, map[string]string{}, map[string]int{}
	}
	rr := s.report(id, b.Batch.RunID, b.Batch.Mode)
	for _, u := range b.Upserts {
		rec := s.state[id][u.SourceID]
		if rec == nil {
			rec = &Record{}
			s.state[id][u.SourceID] = rec
			rr.New++
			rr.NewIDs = sample(rr.NewIDs, u.SourceID)
		} else {
			rr.Updated++
			rr.UpdatedIDs = sample(rr.UpdatedIDs, u.SourceID)
		}
		rec.Upserts++
		if !s.opts.CountOnly {
			rec.Attributes = u.Attributes
		}
		delete(s.deleted[id], u.SourceID)
	}
	for _, d := range b.Deletes {
		delete(s.state[id], d.SourceID)
		s.deleted[id][d.SourceID] = d.Reason
		s.delCount[id][d.SourceID]++
		rr.Deletes[d.Reason]++
		rr.DeletedIDs = sample(rr.DeletedIDs, d.SourceID)
	}
	s.counts.upserts += len(b.Upserts)
	s.counts.deletes += len(b.Deletes)
	s.accepted = append(s.accepted, Accepted{Key: key, Connector: id, RunID: b.Batch.RunID, Sequence: b.Batch.Sequence,
		Mode: b.Batch.Mode, Final: b.Batch.Final, Upserts: len(b.Upserts), Deletes: len(b.Deletes), Gzipped: gz})
}

// RunReport is what one run delivered to the fake, as applied: upserts of
// users the fake did not hold (New) or did (Updated), deletes by reason,
// and the first few source IDs of each, for a reader to look at.
type RunReport struct {
	Connector, RunID, Mode         string
	New, Updated                   int
	Deletes                        map[string]int
	NewIDs, UpdatedIDs, DeletedIDs []string
}

// sampleSize is how many IDs a RunReport keeps of each kind.
const sampleSize = 3

func sample(ids []string, id string) []string {
	if len(ids) < sampleSize {
		return append(ids, id)
	}
	return ids
}

// report returns the run's report, creating it in arrival order.
func (s *Server) report(connID, runID, mode string) *RunReport {
	for _, r := range s.reports {
		if r.Connector == connID && r.RunID == runID {
			return r
		}
	}
	r := &RunReport{Connector: connID, RunID: runID, Mode: mode, Deletes: map[string]int{}}
	s.reports = append(s.reports, r)
	return r
}

// Reports returns the connector's run reports in the order the runs
// reached the fake.
func (s *Server) Reports(connectorID string) []RunReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RunReport
	for _, r := range s.reports {
		if r.Connector == connectorID {
			c := *r
			c.Deletes = maps.Clone(r.Deletes)
			out = append(out, c)
		}
	}
	return out
}

// DeleteCounts returns how many deletes of each user the fake applied (a
// new key's; repeated keys are not applied again).
func (s *Server) DeleteCounts(connectorID string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.delCount[connectorID])
}

// DeletedReason returns the reason of the last delete of a user.
func (s *Server) DeletedReason(connectorID, sourceID string) string {
	return s.DeleteReason(connectorID, sourceID)
}

// upsert keeps its attributes raw until check decodes them (unless the
// fake only counts).
type upsert struct {
	SourceID   string          `json:"sourceId"`
	Raw        json.RawMessage `json:"attributes"`
	Attributes map[string]any  `json:"-"`
}

// batch is the request body, decoded strictly.
type batch struct {
	lite          bool
	SchemaVersion int `json:"schemaVersion"`
	Connector     struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Server string `json:"server"`
	} `json:"connector"`
	DataType string `json:"dataType"`
	Batch    struct {
		RunID    string `json:"runId"`
		Sequence int    `json:"sequence"`
		Mode     string `json:"mode"`
		Final    bool   `json:"final"`
	} `json:"batch"`
	Upserts []upsert `json:"upserts"`
	Deletes []struct {
		SourceID string `json:"sourceId"`
		Reason   string `json:"reason"`
	} `json:"deletes"`
}

func (b *batch) holds(id string) bool {
	for _, u := range b.Upserts {
		if u.SourceID == id {
			return true
		}
	}
	return false
}

// check validates a batch against the contract.
func (b *batch) check() []string {
	var p []string
	add := func(f string, args ...any) { p = append(p, fmt.Sprintf(f, args...)) }
	if b.SchemaVersion != 1 {
		add("schemaVersion must be 1")
	}
	c := b.Connector
	if c.ID == "" || c.Name == "" || (c.Type != "okta" && c.Type != "onelogin") || c.Server == "" {
		add("connector needs id, name, type okta|onelogin and server")
	}
	if b.DataType != "User" {
		add("dataType must be User")
	}
	if b.Batch.RunID == "" || b.Batch.Sequence < 1 || (b.Batch.Mode != "full" && b.Batch.Mode != "incremental") {
		add("batch needs runId, sequence >= 1 and mode full|incremental")
	}
	if n := len(b.Upserts) + len(b.Deletes); n > 1000 {
		add("%d records; at most 1000 per batch", n)
	}
	for i := range b.Upserts {
		u := &b.Upserts[i]
		if u.SourceID == "" {
			add("upserts[%d]: sourceId is empty", i)
		}
		if b.lite {
			continue
		}
		if len(u.Raw) == 0 || u.Raw[0] != '{' {
			add("upserts[%d]: attributes missing", i)
			continue
		}
		if err := json.Unmarshal(u.Raw, &u.Attributes); err != nil {
			add("upserts[%d]: attributes: %v", i, err)
		}
		for k, v := range u.Attributes {
			switch x := v.(type) {
			case string:
				if x == "" {
					add("upserts[%d].%s: empty string; absent values are omitted", i, k)
				}
			case []any:
			default:
				add("upserts[%d].%s: %T; values are strings or lists", i, k, v)
			}
		}
	}
	for i, d := range b.Deletes {
		switch d.Reason {
		case "status-not-selected", "deleted-at-source", "connector-removed":
		default:
			add("deletes[%d]: unknown reason %q", i, d.Reason)
		}
		if d.SourceID == "" {
			add("deletes[%d]: sourceId is empty", i)
		}
	}
	return p
}
