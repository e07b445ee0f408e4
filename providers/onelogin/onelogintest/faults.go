package onelogintest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"neurons-connector/internal/simpad"
	"neurons-connector/internal/simweb"
)

// Fault is a misbehaviour injected into matching requests, in the order
// faults were added, after authentication of the token call and the
// account's throttle.
type Fault struct {
	Path  string // requests whose path starts with this; "" matches all
	Skip  int    // let this many matching requests through first
	Times int    // how many requests it spoils; 0 means 1
	// Every spoils only every Every-th matching request (a storm that lets
	// most requests through); 0 or 1 spoils each one.
	Every int
	// What it does (the first set field wins):
	Status     int           // this status; 429 is the load balancer's HTML page, 401 OneLogin's v2 body
	RetryAfter time.Duration // with Status 429: a JSON 429 with this Retry-After instead of the HTML page
	// RawRetryAfter, with Status 429: the same, with the header written
	// as given (a proxy's own value, such as a count of seconds no clock
	// reaches).
	RawRetryAfter string
	// ResetIn: GET /auth/rate_limit says the budget is spent and resets
	// this far ahead. OneLogin's window is an hour (onelogin-api.md §5.4);
	// a countdown beyond it is a broken answer.
	ResetIn     time.Duration
	Delay       time.Duration // wait this long (real time) before answering normally
	InvalidJSON bool          // a 200 whose body is not JSON
	Truncate    bool          // only half of the real body, then the connection closes
	Reset       bool          // close the connection without answering
	Revoke      bool          // revoke the token, then answer normally (a 401)
	StallCursor bool          // After-Cursor repeats the current page's cursor
	// EndlessCursor: After-Cursor is always a cursor never sent before, to
	// the next page whether or not there is one, so the listing never ends.
	EndlessCursor bool
	// NoNext: the page carries no After-Cursor, so the listing ends early.
	NoNext bool
	// Pad adds a field of this many bytes to every user of a users page,
	// written piecewise: a huge page on the wire.
	Pad int
	// Repeat answers a list (a bare array, or a v1 envelope's data) with
	// its items written this many times over, piece by piece: what a broken
	// server or a proxy that loops over a list sends.
	Repeat int
	// Echo, with Status, quotes the request's Authorization header back in
	// the error's message (Basic client ID and secret on the token
	// endpoint, the access token elsewhere): what an error page or a
	// debugging proxy, or an impostor at a mistyped URL, does.
	Echo bool
	// Page answers with a web page (HTML) and Status, 200 if unset, in
	// place of the API's JSON: what a --domain that names another site, a
	// proxy's or firewall's block page, or a captive portal answers.
	Page bool

	seen int // matching requests, for Every
}

// Inject queues faults.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range faults {
		f := faults[i]
		if f.Times == 0 {
			f.Times = 1
		}
		s.faults = append(s.faults, &f)
	}
}

// ClearFaults drops every fault not yet fired in full: a storm that ends.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !strings.HasPrefix(path, f.Path) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			return nil
		}
		if f.Every > 1 {
			if f.seen++; f.seen%f.Every != 0 {
				return nil
			}
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// apply carries the fault out; it reports whether it answered.
func (f *Fault) apply(w *statusWriter, r *http.Request, s *Server) bool {
	switch {
	case f.Page:
		simweb.Page(w, max(f.Status, http.StatusOK))
	case f.Echo && f.Status != 0:
		writeJSON(w, f.Status, map[string]any{"message": "Authorization: " + r.Header.Get("Authorization") +
			" refused for " + r.Method + " " + r.URL.String(), "name": "Error", "statusCode": f.Status})
	case f.Status == http.StatusTooManyRequests && (f.RetryAfter > 0 || f.RawRetryAfter != ""):
		v := f.RawRetryAfter
		if v == "" {
			v = strconv.Itoa(int(f.RetryAfter.Seconds()))
		}
		w.Header().Set("Retry-After", v)
		writeJSON(w, f.Status, map[string]any{"message": "Too Many Requests", "name": "TooManyRequestsError", "statusCode": 429})
	case f.Status == http.StatusTooManyRequests:
		throttled(w)
	case f.Status == http.StatusUnauthorized:
		writeJSON(w, f.Status, map[string]any{"message": "Unauthorized", "name": "UnauthorizedError", "statusCode": 401})
	case f.Status != 0:
		writeJSON(w, f.Status, map[string]any{"message": http.StatusText(f.Status), "name": "Error", "statusCode": f.Status})
	case f.ResetIn > 0:
		s.writeRateLimit(w, s.opts.HourlyLimit, 0, int64((f.ResetIn+time.Second-1)/time.Second))
	case f.Delay > 0:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
		return false
	case f.InvalidJSON:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"id":30000001,"username":<html>upstream error</html>`))
	case f.Repeat > 0:
		rec := httptest.NewRecorder()
		s.route(rec, r)
		simpad.RepeatAnswer(w, rec, f.Repeat)
	case f.Truncate:
		rec := httptest.NewRecorder()
		s.route(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2]) // short of Content-Length: the client reads an unexpected EOF
	case f.Reset:
		if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case f.Revoke:
		s.RevokeTokens()
		return false
	case f.StallCursor:
		sw := &stallWriter{statusWriter: w}
		s.route(sw, r)
	case f.EndlessCursor, f.NoNext, f.Pad > 0:
		s.route(&pageWriter{statusWriter: w, f: f, s: s}, r)
	}
	return true
}

// pageWriter rewrites a users page as f asks: its After-Cursor (endless or
// none) and its body (padded).
type pageWriter struct {
	*statusWriter
	f      *Fault
	s      *Server
	headed bool
}

func (w *pageWriter) WriteHeader(code int) {
	if w.headed {
		return
	}
	w.headed = true
	h := w.Header()
	switch {
	case w.f.NoNext:
		h.Del("After-Cursor")
	case w.f.EndlessCursor && h.Get("Cursor") != "":
		if limit, page, ok := decodeCursor(h.Get("Cursor")); ok {
			w.s.mu.Lock()
			w.s.nonce++
			n := w.s.nonce
			w.s.mu.Unlock()
			h.Set("After-Cursor", cursorNonce(limit, page+1, n))
		}
	}
	w.statusWriter.WriteHeader(code)
}

func (w *pageWriter) Write(b []byte) (int, error) {
	if w.f.Pad > 0 && w.Status == http.StatusOK && len(b) > 0 && b[0] == '[' {
		w.Header().Set("Content-Length", simpad.ContentLength(b, w.f.Pad))
		w.WriteHeader(http.StatusOK)
		return len(b), simpad.Write(w.statusWriter, b, w.f.Pad)
	}
	w.WriteHeader(http.StatusOK)
	return w.statusWriter.Write(b)
}

// stallWriter rewrites After-Cursor to the page's own cursor.
type stallWriter struct{ *statusWriter }

func (w *stallWriter) WriteHeader(code int) {
	if c := w.Header().Get("Cursor"); c != "" {
		w.Header().Set("After-Cursor", c)
	}
	w.statusWriter.WriteHeader(code)
}

func (w *stallWriter) Write(b []byte) (int, error) {
	if w.Status == 0 || w.Header().Get("After-Cursor") != w.Header().Get("Cursor") {
		w.WriteHeader(http.StatusOK)
	}
	return w.statusWriter.Write(b)
}
