package onelogintest

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"neurons-connector/clock"
	"neurons-connector/internal/orgchart"
	"neurons-connector/internal/simrec"
)

// Options configure a simulated OneLogin account.
type Options struct {
	Users        int    // generated users; default 100
	Seed         uint64 // the same seed gives the same account
	ClientID     string // default "sim-client"
	ClientSecret string // default "sim-secret"
	Clock        clock.Clock
	// TokenLifetime is how long an access token lives; default 10 h.
	TokenLifetime time.Duration
	// HourlyLimit is the account's budget of v1 calls (/api/1/...) per
	// hour, which v1 answers and GET /auth/rate_limit report
	// (onelogin-api.md §7.1); 0 means 5000, negative means none. Beyond
	// it, and beyond V2Limit, the answer is a 429: the load
	// balancer's HTML page, or with JSON429 a JSON body with Retry-After.
	HourlyLimit int
	// V2Limit throttles v2 calls (/api/2/...) per hour on a count of their
	// own: OneLogin was seen not to count v2 calls, nor token requests, in
	// the v1 budget, and publishes no v2 limit (§7.2). 0 means as many as
	// HourlyLimit (none when it is negative); negative means none.
	V2Limit int
	// SharedBudget counts v2 calls and token requests in the v1 budget
	// instead, as OneLogin's older documents describe one budget for every
	// call (§7.1): GET /auth/rate_limit then reports what they spent.
	SharedBudget bool
	JSON429      bool
	// RateHeaders adds X-RateLimit-* to v2 answers (the numbers of the
	// budget that counts them). OneLogin was observed to send them only on
	// v1 (onelogin-api.md §7.2).
	RateHeaders bool
	MaxLimit    int // the largest page served (larger limits are clamped); default 100
	// RefuseLimitOver answers 400 to a limit above it, as an account that
	// does not take 100 a page might; 0 clamps instead.
	RefuseLimitOver int
	// ManagerAsString sends every manager_user_id as a string.
	ManagerAsString bool
	// Lag is how long a change takes to reach updated_since filters.
	Lag time.Duration
	// CreatorDeleted: the admin who created the credentials was deleted,
	// and every call answers 500 (onelogin-api.md §1.1).
	CreatorDeleted bool
	// AccountID is the account_id of token answers; default from the seed.
	// SetAccountID changes it later.
	AccountID int64
	// RateLimitThrottled makes GET /auth/rate_limit count against the
	// hourly budget and answer the 429 once it is spent, like every other
	// call. By default it is neither counted nor throttled: it is how a
	// client learns when the budget resets (an assumption; OneLogin does
	// not document either way).
	RateLimitThrottled bool
	// EventNullStrings writes absent pagination links of the event log as
	// the string "null", as OneLogin's spec example does (real traffic
	// sends JSON null); EventTypeAsString sends event_type_id as a string,
	// as some consumers see it (onelogin-api.md §5.3).
	EventNullStrings  bool
	EventTypeAsString bool
}

// Server is a simulated OneLogin account, an http.Handler.
type Server struct {
	opts  Options
	clock clock.Clock
	epoch time.Time
	chart *orgchart.Chart // who reports to whom among the generated users

	mu        sync.Mutex
	n         int             // users generated or created, by index
	changed   map[int]*User   // users changed since generation
	deleted   map[int]bool    // hard-deleted users
	token     string          // the current access token
	expires   time.Time       // when it expires
	tokenSeq  int             // tokens issued
	v1, v2    budget          // the hourly counts (budget.go)
	faults    []*Fault        // pending, in order
	requests  []Request       // what clients sent
	statuses  map[int]int     // answers by status
	pageSizes map[string]bool // the limit values asked for
	byUpdated []updatedIdx    // generated users by updated_at, for updated_since
	nonce     int             // fresh values for endless cursors
	accountID int64
	events    []event // the event log, oldest first
}

// Request records what a client sent, for assertions.
type Request struct {
	Method, Path, RawQuery, Auth string
	Status                       int
}

// New returns a simulated account.
func New(opts Options) *Server {
	if opts.Users == 0 {
		opts.Users = 100
	}
	if opts.ClientID == "" {
		opts.ClientID = "sim-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "sim-secret"
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = 10 * time.Hour
	}
	if opts.HourlyLimit == 0 {
		opts.HourlyLimit = 5000
	}
	if opts.V2Limit == 0 {
		opts.V2Limit = opts.HourlyLimit
	}
	if opts.MaxLimit == 0 {
		opts.MaxLimit = 100
	}
	if opts.AccountID == 0 {
		opts.AccountID = 100_000 + int64(opts.Seed%900_000)
	}
	now := opts.Clock.Now()
	// Generated users were created over the years before the start and
	// last changed at least a day before it.
	epoch := now.Add(-time.Duration(opts.Users)*time.Minute - 4*365*24*time.Hour).Truncate(time.Hour)
	return &Server{opts: opts, clock: opts.Clock, epoch: epoch, chart: orgchart.New(opts.Users), n: opts.Users, changed: map[int]*User{},
		deleted: map[int]bool{}, statuses: map[int]int{}, pageSizes: map[string]bool{}, accountID: opts.AccountID,
		v1: budget{limit: opts.HourlyLimit, start: now}, v2: budget{limit: opts.V2Limit, start: now}}
}

// SetAccountID makes the server answer as another account from now on.
func (s *Server) SetAccountID(id int64) {
	s.mu.Lock()
	s.accountID = id
	s.mu.Unlock()
}

// AccountID is the account the server answers as now.
func (s *Server) AccountID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accountID
}

// Start serves the simulator over http on a loopback port.
func (s *Server) Start() *httptest.Server { return httptest.NewServer(s) }

// StartTLS serves it over https; the pool trusts its certificate.
func (s *Server) StartTLS() (*httptest.Server, *x509.CertPool) {
	ts := httptest.NewTLSServer(s)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return ts, pool
}

// user returns user idx as it is now, or nil if deleted. Callers hold mu.
func (s *Server) user(idx int) *User {
	if s.deleted[idx] {
		return nil
	}
	if u := s.changed[idx]; u != nil {
		return u
	}
	return generate(s.opts.Seed, idx, s.opts.Users, s.epoch, s.chart)
}

func (s *Server) index(id int64) (int, bool) {
	idx := int(id - firstID)
	return idx, idx >= 0 && idx < s.n && !s.deleted[idx]
}

// ServeHTTP routes a request, after the account-wide checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, Status: http.StatusOK}
	sw.Record = func(status int) { // before the client can read the answer (simrec)
		s.mu.Lock()
		s.statuses[status]++
		s.requests = append(s.requests, Request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), status})
		s.mu.Unlock()
	}
	defer sw.Done() // an answer never written (a dropped connection) is recorded too
	w = sw
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat)) // the simulated clock, not the host's
	if s.opts.CreatorDeleted {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error", "name": "InternalServerError", "statusCode": 500})
		return
	}
	if !s.admit(w, r.URL.Path) {
		return
	}
	if f := s.takeFault(r.URL.Path); f != nil && f.apply(sw, r, s) {
		return
	}
	s.route(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/auth/oauth2/v2/token" && r.Method == http.MethodPost:
		s.issueToken(w, r)
	case p == "/auth/rate_limit" && r.Method == http.MethodGet:
		if s.authorized(w, r, true) {
			s.rateLimit(w)
		}
	case p == "/api/1/events" && r.Method == http.MethodGet:
		if s.authorized(w, r, true) {
			s.listEvents(w, r)
		}
	case p == "/api/1/events/types" && r.Method == http.MethodGet:
		if s.authorized(w, r, true) {
			s.listEventTypes(w)
		}
	case p == "/api/2/users" && r.Method == http.MethodGet:
		if s.authorized(w, r, false) {
			s.listUsers(w, r)
		}
	case strings.HasPrefix(p, "/api/2/users/") && !strings.Contains(p[len("/api/2/users/"):], "/"):
		if !s.authorized(w, r, false) {
			return
		}
		id, err := strconv.ParseInt(p[len("/api/2/users/"):], 10, 64)
		switch {
		case err != nil:
			notFound(w)
		case r.Method == http.MethodGet:
			s.getUser(w, id)
		case r.Method == http.MethodDelete:
			if s.Delete(id) {
				w.WriteHeader(http.StatusNoContent)
			} else {
				notFound(w)
			}
		default:
			noRoute(w)
		}
	default:
		noRoute(w)
	}
}

// writeRateLimit answers GET /auth/rate_limit.
func (s *Server) writeRateLimit(w http.ResponseWriter, limit, remaining int, reset int64) {
	if limit < 0 {
		limit = 5000
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": map[string]any{"error": false, "code": 200, "type": "success", "message": "Success"},
		"data": map[string]any{"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset}})
}

func (s *Server) getUser(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	idx, ok := s.index(id)
	var body json.RawMessage
	if ok {
		body = s.user(idx).render(AllFields, s.opts.ManagerAsString)
	}
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// updatedAfter returns the users whose updated_at is after t, in id order:
// generated users from the index (built once, on first use), and every
// changed or created user, which the caller's filter checks itself.
// Callers hold mu.
func (s *Server) updatedAfter(t time.Time) []*User {
	s.indexUpdates()
	from, _ := slices.BinarySearchFunc(s.byUpdated, t.UnixNano()+1, func(e updatedIdx, at int64) int { return cmp.Compare(e.at, at) })
	idx := make([]int, 0, len(s.byUpdated)-from+len(s.changed))
	for _, e := range s.byUpdated[from:] {
		if i := int(e.idx); s.changed[i] == nil && !s.deleted[i] {
			idx = append(idx, i)
		}
	}
	for i := range s.changed {
		if !s.deleted[i] {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	out := make([]*User, 0, len(idx))
	for _, i := range idx {
		out = append(out, s.user(i))
	}
	return out
}

// IndexUpdates builds the index of the generated users' updated_at now,
// which the first updated_since listing builds otherwise: a harness that
// measures runs (bench) builds it before it measures, since at a million
// users it takes seconds of CPU beside the run.
func (s *Server) IndexUpdates() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexUpdates()
}

// indexUpdates builds the index once. Callers hold mu.
func (s *Server) indexUpdates() {
	if s.byUpdated != nil {
		return
	}
	s.byUpdated = make([]updatedIdx, s.opts.Users)
	for i := range s.opts.Users {
		s.byUpdated[i] = updatedIdx{generate(s.opts.Seed, i, s.opts.Users, s.epoch, s.chart).Updated.UnixNano(), int32(i)}
	}
	slices.SortFunc(s.byUpdated, func(a, b updatedIdx) int { return cmp.Compare(a.at, b.at) })
}

// updatedIdx is a generated user's updated_at (Unix ns) and index.
type updatedIdx struct {
	at  int64
	idx int32
}

// live returns the users of the account in id order. Callers hold mu.
func (s *Server) live() []*User {
	out := make([]*User, 0, s.n)
	for i := 0; i < s.n; i++ {
		if u := s.user(i); u != nil {
			out = append(out, u)
		}
	}
	return out
}

// IDs lists the live users' ids with one of the given status codes (all
// users if none given), ascending.
func (s *Server) IDs(statuses ...int) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, u := range s.live() {
		if len(statuses) == 0 || containsInt(statuses, u.Status) {
			out = append(out, u.ID)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "The resource with the given id could not be found", "name": "NotFoundError", "statusCode": 404})
}

func noRoute(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": true, "code": 404, "type": "Not Found", "message": "No Route Exists"})
}

func badRequest(w http.ResponseWriter, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "error": "BadRequestError", "description": desc})
}

// statusWriter keeps the status written and records the request when it
// is written (simrec).
type statusWriter = simrec.Writer
