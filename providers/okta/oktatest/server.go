package oktatest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"neurons-connector/clock"
	"neurons-connector/internal/orgchart"
	"neurons-connector/internal/simrec"
)

// typeID is the one user type the tenant has.
const typeID = "oty1162QAr8hJjTaq0g4"

// MaxApps bounds Options.Apps: app IDs and per-user lists assume fewer
// than this many.
const MaxApps = 1000

// DefaultLimits are per-minute bucket limits of an Enterprise org
// (okta-api.md §7.3). "oauth2" is the org authorization server's bucket
// (/oauth2/v1 but its public metadata): 1,200 a minute for Enterprise, in
// Okta's "Authentication/End-user rate limits" page, which okta-api.md
// does not cover.
var DefaultLimits = map[string]int{"users": 600, "user": 1000, "apps": 100, "devices": 100, "logs": 50, "other": 600, "oauth2": 1200}

// Options configure a simulated org.
type Options struct {
	Users int    // generated users; default 100
	Seed  uint64 // the same seed gives the same tenant
	// Apps is how many active apps the org has: default 12, at most
	// MaxApps. Beyond the 16 well-known labels they are numbered copies
	// ("Slack 2"), each assigned to one user in fifty.
	Apps  int
	Token string // the API token it accepts; default "sim-token"
	// TokenIdle is how long the API token may go unused before the org
	// revokes it: Okta's help ("Manage Okta API tokens") says a token is
	// valid for 30 days, renewed by every request made with it, and
	// revoked for good once it has been inactive for more than 30 days.
	// 0 means Okta's 30 days; negative, never. The token counts as used
	// when the simulator is made (its creation). ReplaceToken issues a
	// new one.
	TokenIdle time.Duration
	Clock     clock.Clock
	// Spread is how far before generation the users' lastUpdated values
	// reach. The default, a second per four users (at least a minute),
	// crowds them as a bulk import does, so that an incremental pass's
	// overlap holds many; the demo sets months, as in an org in steady use.
	Spread time.Duration
	// The management hierarchy is laid over the users in an order of its
	// own, so that about half the reports are listed before their managers,
	// as in a real org: Okta's default listing has no order (okta-api.md
	// §2.4), and IDs do not follow the org chart. ManagersFirst gives the
	// chart this simulator had until issue 17: user i reports to user
	// (i-1)/8, which the listing always gives first. No real org is laid
	// out so; it is kept to measure against the figures taken on it.
	ManagersFirst bool
	// Limits per bucket per minute; nil means DefaultLimits. NoLimits turns
	// rate limiting off (headers still report a large limit).
	Limits   map[string]int
	NoLimits bool
	// TokenShare is the share of a bucket one API token, or one OAuth app,
	// may use (Okta's default is 0.5); 0 means 0.5. Each has its own share
	// of the org's limit.
	TokenShare  float64
	Concurrency int  // requests in flight before a 429; default 75
	Classic     bool // a Classic Engine org: no devices API
	NoAdmin     bool // the token's owner has no admin role: 403 everywhere, GET /users answers []
	// OrgID is the org's id (GET /api/v1/org, /.well-known/okta-organization);
	// default derived from the seed. SetOrgID changes it later.
	OrgID string
	// HonourLimit serves any limit asked for instead of clamping at 200.
	HonourLimit bool
	// CombinedLinks sends self and next in one comma-joined Link header, a
	// breakage some proxies introduce.
	CombinedLinks bool
	// LogLag is how long after publication an event shows in the System
	// Log (Okta's log is near real time, not immediate).
	LogLag time.Duration
	// SearchLag is how late GET /api/v1/users?search= sees a change:
	// Okta serves search from an eventually consistent store, while
	// filter, q and GET by ID are current (okta-api.md §2.1, §9 item 12).
	// A user created, edited or deleted less than SearchLag ago is found
	// (or not) by search as it was before.
	SearchLag time.Duration
	// NoLogs answers the System Log with 403, as for a token whose admin
	// may not read it (SetNoLogs changes it later).
	NoLogs bool
	// OAuthApps are the org's API Services apps: with any, the org
	// authorization server's token endpoint (TokenPath) issues access
	// tokens, which the API takes as Bearer or DPoP tokens with the scopes
	// granted. TokenTTL is their life (Okta: an hour).
	OAuthApps []OAuthApp
	TokenTTL  time.Duration
	// NonceEvery moves the DPoP nonce after every that many API calls
	// with a valid proof, as Okta moves it from time to time (how often is
	// undocumented): the calls after it are challenged for the new one.
	NonceEvery int
	// NoCompression answers in plain JSON even to a client that accepts
	// gzip (Okta compresses: see compress.go).
	NoCompression bool
	// Ordered lists each page's users by ID. By default each page's users
	// come shuffled (the same users, the same cursor): Okta guarantees no
	// order for the default listing or a filter (okta-api.md §2.4, §9
	// item 11), so no client may count on one.
	Ordered bool
}

// Server is a simulated Okta org. It is an http.Handler; Start and
// StartTLS serve it on loopback.
type Server struct {
	opts  Options
	t     *tenant
	clock clock.Clock

	inFlight atomic.Int64
	nonce    atomic.Int64 // fresh values for endless next links
	noAdmin  atomic.Bool  // Options.NoAdmin, or SetNoAdmin since
	noLogs   atomic.Bool  // Options.NoLogs, or SetNoLogs since
	log      syslog

	mu       sync.Mutex
	windows  map[string]*window // per bucket
	calls    map[string]int     // per bucket
	statuses map[int]int        // answers by status
	faults   []*Fault
	requests []Request
	maxShare map[string]int // the most one token or app sent in any window, per bucket
	orgID    string
	// apiToken is the API token the org accepts now, tokenUsed when it
	// last made a request, and tokenRevoked whether inactivity revoked it.
	apiToken     string
	tokenUsed    time.Time
	tokenRevoked bool

	auth authServer
}

type window struct {
	start time.Time
	count int            // org-wide
	by    map[string]int // per API token or OAuth app (principal)
}

// Request records what a client sent, for assertions.
type Request struct {
	Time       time.Time
	Method     string
	URL        string
	Bucket     string
	Status     int
	RetryFor   string
	RetryCount string
	Auth       string // "SSWS", "Bearer", "DPoP" or "none": the scheme, never the token
	Gzip       bool   // the client accepted gzip, and the answer was compressed (unless a fault wrote its own bytes)
}

// New builds a simulator.
func New(opts Options) *Server {
	if opts.Users == 0 {
		opts.Users = 100
	}
	if opts.Apps == 0 {
		opts.Apps = 12
	}
	opts.Apps = min(opts.Apps, MaxApps)
	if opts.Token == "" {
		opts.Token = "sim-token"
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.TokenIdle == 0 {
		opts.TokenIdle = TokenIdle
	}
	if opts.Limits == nil {
		opts.Limits = DefaultLimits
	}
	if opts.TokenShare == 0 {
		opts.TokenShare = 0.5
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 75
	}
	t := newTenant(opts.Seed, opts.Users, opts.Apps, opts.Clock.Now(), opts.Spread)
	t.keepHistory = opts.SearchLag > 0
	if !opts.ManagersFirst {
		t.chart = orgchart.New(t.n)
	}
	if opts.OrgID == "" {
		opts.OrgID = "00o" + t.tag + "0000000000"
	}
	s := &Server{
		opts: opts, clock: opts.Clock, t: t, orgID: opts.OrgID, apiToken: opts.Token, tokenUsed: opts.Clock.Now(),
		windows: map[string]*window{}, calls: map[string]int{}, statuses: map[int]int{}, maxShare: map[string]int{},
	}
	s.auth.init()
	s.noAdmin.Store(opts.NoAdmin)
	s.noLogs.Store(opts.NoLogs)
	return s
}

// TokenIdle is how long Okta lets an API token go unused before it
// revokes it (Okta's help, "Manage Okta API tokens").
const TokenIdle = 30 * 24 * time.Hour

// ReplaceToken makes tok the org's API token, as an admin creating a new
// one (the old one, revoked or not, no longer works).
func (s *Server) ReplaceToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiToken, s.tokenUsed, s.tokenRevoked = tok, s.clock.Now(), false
}

// TokenRevoked reports whether the API token was revoked for inactivity.
func (s *Server) TokenRevoked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRevoked
}

// useToken reports whether tok is the org's API token and still valid,
// and counts the request as the token's use: one more than TokenIdle after
// the last revokes it for good.
func (s *Server) useToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok != s.apiToken || s.tokenRevoked {
		return false
	}
	now := s.clock.Now()
	if s.opts.TokenIdle > 0 && now.Sub(s.tokenUsed) > s.opts.TokenIdle {
		s.tokenRevoked = true
		return false
	}
	s.tokenUsed = now
	return true
}

// SetNoLogs makes the System Log answer 403 from now on, or serve again.
func (s *Server) SetNoLogs(v bool) { s.noLogs.Store(v) }

// SetNoAdmin takes the token's admin role away (true) or gives it back:
// from then on Okta answers 403 everywhere and an empty users listing.
func (s *Server) SetNoAdmin(v bool) { s.noAdmin.Store(v) }

// SetOrgID makes the server answer as another org from now on: what an
// admin sees after pointing a connector's host at a different tenant.
func (s *Server) SetOrgID(id string) {
	s.mu.Lock()
	s.orgID = id
	s.mu.Unlock()
}

// OrgID is the id the org answers with now.
func (s *Server) OrgID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orgID
}

func (s *Server) now() time.Time { return s.clock.Now().UTC() }

// Calls returns the number of requests per rate-limit bucket.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Statuses returns how many answers had each HTTP status.
func (s *Server) Statuses() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]int{}
	for k, v := range s.statuses {
		out[k] = v
	}
	return out
}

// MaxTokenShare returns, per bucket, the most requests one API token or
// OAuth app sent in one rate-limit window.
func (s *Server) MaxTokenShare() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.maxShare {
		out[k] = v
	}
	return out
}

// Requests returns every request served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Limit is the per-minute limit of a bucket.
func (s *Server) Limit(bucket string) int {
	if s.opts.NoLimits {
		return 1_000_000_000
	}
	if l, ok := s.opts.Limits[bucket]; ok {
		return l
	}
	return DefaultLimits["other"]
}

// bucketOf names a request's rate-limit family (okta-api.md §7.3).
func bucketOf(path string) string {
	switch {
	case path == "/api/v1/users":
		return "users"
	case strings.HasPrefix(path, "/api/v1/users/") && strings.Count(path, "/") == 4:
		return "user"
	case strings.HasPrefix(path, "/api/v1/apps"):
		return "apps"
	case strings.HasPrefix(path, "/api/v1/devices"):
		return "devices"
	case strings.HasPrefix(path, "/api/v1/logs"):
		return "logs"
	case strings.HasPrefix(path, "/oauth2/v1/"):
		return "oauth2"
	}
	return "other"
}

// statusWriter keeps the status written and records the request when it
// is written (simrec).
type statusWriter = simrec.Writer

// ServeHTTP implements http.Handler: headers every Okta response carries,
// the concurrency limit, authentication, rate limits, faults, then the API.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var gz *gzipWriter
	if !s.opts.NoCompression && acceptsGzip(r) {
		gz = &gzipWriter{ResponseWriter: rw}
		defer gz.close()
		rw = gz
	}
	w := &statusWriter{ResponseWriter: rw, Status: 200}
	bucket := bucketOf(r.URL.Path)
	// One moment for the request: its Date, its record and the window it
	// counts in, so that the reset is never more than a window after the
	// Date, however the clock moves meanwhile (TestDateAndResetAgree).
	now := s.now()
	rec := Request{Time: now, Method: r.Method, URL: r.URL.String(), Bucket: bucket,
		RetryFor: r.Header.Get("X-Okta-Retry-For"), RetryCount: r.Header.Get("X-Okta-Retry-Count"), Auth: "none"}
	w.Record = func(status int) { // before the client can read the answer (simrec)
		rec.Status = status
		rec.Gzip = gz != nil && gz.zw != nil
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.statuses[status]++
		s.mu.Unlock()
	}
	defer w.Done() // an answer never written (a dropped connection) is recorded too
	h := w.Header()
	h.Set("Date", now.Format(http.TimeFormat))
	h.Set("X-Okta-Request-Id", requestID())
	h.Set("Content-Type", "application/json")

	if n := s.inFlight.Add(1); n > int64(s.opts.Concurrency) {
		// Okta's concurrency answer: Limit and Remaining are always 0, and
		// Reset is only an estimate of when a slot frees up (rl-best-practices).
		s.inFlight.Add(-1)
		h.Set("X-Rate-Limit-Limit", "0")
		h.Set("X-Rate-Limit-Remaining", "0")
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(now.Add(time.Second).Unix(), 10))
		writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	defer s.inFlight.Add(-1)

	// Every request counts against its bucket, rejected ones included, so
	// every answer carries the rate headers.
	if !s.rateLimit(w, bucket, s.principal(r), now) {
		return
	}
	if r.URL.Path == "/.well-known/okta-organization" && r.Method == http.MethodGet {
		s.wellKnown(w, r) // public: the spec gives it no security
		return
	}
	if r.URL.Path == TokenPath && len(s.opts.OAuthApps) > 0 {
		if f := s.takeFault(r.URL.Path); f != nil && f.apply(w, r, s) {
			return // the token endpoint fails as any endpoint can
		}
		s.token(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	if scheme == "SSWS" || scheme == "Bearer" || scheme == "DPoP" {
		rec.Auth = scheme
	}
	switch {
	case (scheme == "SSWS" || scheme == "Bearer") && s.useToken(token):
	case (scheme == "Bearer" || scheme == "DPoP") && len(s.opts.OAuthApps) > 0:
		if !s.authorize(w, r, scheme, token) {
			return
		}
	default:
		writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	if f := s.takeFault(r.URL.Path); f != nil {
		if f.apply(w, r, s) {
			return
		}
	}
	if s.noAdmin.Load() {
		if r.URL.Path == "/api/v1/users" && r.Method == http.MethodGet {
			writeJSON(w, []any{})
			return
		}
		writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	s.route(w, r)
}

// rateLimit counts the request, which arrived at now, in its bucket's
// window and sets the rate headers; over the org's limit or the share of
// the token or app it comes from (who; "" counts org-wide only) it answers
// 429.
func (s *Server) rateLimit(w http.ResponseWriter, bucket, who string, now time.Time) bool {
	start := now.Truncate(time.Minute)
	limit := s.Limit(bucket)
	shareCap := max(1, int(float64(limit)*s.opts.TokenShare))
	if s.opts.NoLimits || who == "" {
		shareCap = limit
	}
	s.mu.Lock()
	s.calls[bucket]++
	win := s.windowAt(bucket, start)
	over := win.count >= limit || win.by[who] >= shareCap
	if !over {
		win.count++
		win.by[who]++
		if who != "" && win.by[who] > s.maxShare[bucket] {
			s.maxShare[bucket] = win.by[who]
		}
	}
	remaining := min(limit-win.count, shareCap-win.by[who])
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(max(0, remaining)))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(start.Add(time.Minute).Unix(), 10))
	if over {
		writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return false
	}
	return true
}

// windowAt is the bucket's window that began at start, a new one when the
// last began earlier (s.mu held).
func (s *Server) windowAt(bucket string, start time.Time) *window {
	win := s.windows[bucket]
	if win == nil || !win.start.Equal(start) {
		win = &window{start: start, by: map[string]int{}}
		s.windows[bucket] = win
	}
	return win
}

// OthersSpend counts n requests of the org's other clients in the
// bucket's current window, up to its limit: an integration that loops on
// the token endpoint, a script listing users, an admin's export. Requests
// of this org's clients then get 429 once the window is spent, until it
// resets, as Okta answers them.
func (s *Server) OthersSpend(bucket string, n int) {
	limit := s.Limit(bucket)
	s.mu.Lock()
	defer s.mu.Unlock()
	win := s.windowAt(bucket, s.now().Truncate(time.Minute))
	win.count = min(limit, win.count+n)
}

// principal is whose share of the rate limit a request counts in: its API
// token's, or that of the OAuth app its access token was issued to. A
// request that names neither (the token endpoint, a public document, an
// unknown token) counts org-wide only.
func (s *Server) principal(r *http.Request) string {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch scheme {
	case "SSWS":
		return "token:" + value
	case "Bearer", "DPoP":
		s.auth.mu.Lock()
		defer s.auth.mu.Unlock()
		if tok := s.auth.tokens[value]; tok != nil {
			return "app:" + tok.clientID
		}
	}
	return ""
}

func requestID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, v any) { writeBody(w, appendValue(nil, v)) }

// writeBody sends a whole body with its length, as Okta does, rather than
// chunked.
func writeBody(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	errCauses := []map[string]string{}
	for _, c := range causes {
		errCauses = append(errCauses, map[string]string{"errorSummary": c})
	}
	w.WriteHeader(status)
	data, _ := json.Marshal(map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae" + requestID(), "errorCauses": errCauses})
	_, _ = w.Write(data)
}

// baseURL is the scheme and host the client used, for links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// setLinks writes the self and next links as separate header lines, as
// Okta does; next is absent on the last page.
func (s *Server) setLinks(w http.ResponseWriter, r *http.Request, next url.Values) {
	self := baseURL(r) + r.URL.RequestURI()
	links := []string{fmt.Sprintf(`<%s>; rel="self"`, self)}
	if next != nil {
		links = append(links, fmt.Sprintf(`<%s%s?%s>; rel="next"`, baseURL(r), r.URL.Path, next.Encode()))
	}
	if s.opts.CombinedLinks {
		w.Header().Set("Link", strings.Join(links, ", "))
		return
	}
	for _, l := range links {
		w.Header().Add("Link", l)
	}
}
