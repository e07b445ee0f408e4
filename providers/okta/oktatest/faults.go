package oktatest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"neurons-connector/internal/simpad"
	"neurons-connector/internal/simweb"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Fault is a misbehaviour injected into matching requests, in the order
// faults were added. Faults apply after authentication and rate limiting,
// like a failure inside Okta.
type Fault struct {
	Path string // requests whose path starts with this; "" matches all
	// Suffix narrows Path to paths that end with it ("/factors": every
	// user's factors, which no prefix names).
	Suffix string
	Skip   int // let this many matching requests through first
	Times  int // how many requests it spoils; 0 means 1
	// Every spoils only every Every-th matching request (a storm that lets
	// most requests through); 0 or 1 spoils each one.
	Every int
	// What it does (the first set field wins):
	Status int // answer with this status; 429 gets Okta's body
	// ResetIn announces the bucket's reset this far ahead instead of at
	// the end of its minute: with Status 429, on Okta's 429; alone, on an
	// answer otherwise served normally, whose headers also say nothing of
	// the window remains. Okta's windows are a minute (okta-api.md §7.1),
	// so a reset further ahead is what a broken org, or a proxy with a
	// wrong clock in front of one, may send.
	ResetIn time.Duration
	// NoDate and NoReset, with Status 429, leave out the answer's Date or
	// its X-Rate-Limit-Reset: the cases that make Okta's Go SDK give up
	// at once (okta-api.md §7.4, §9 item 23).
	NoDate, NoReset bool
	// Echo, with Status, quotes the request back in the answer: its
	// Authorization header in errorSummary, errorCode and
	// X-Okta-Request-Id; on the token endpoint, the form (its signed
	// assertion) in error_description. What an error page or a debugging
	// proxy in front of the org, or an impostor at a mistyped URL, does.
	Echo bool
	// Summary, with Status, is the errorSummary to answer with: the words
	// of a proxy or an impostor in Okta's error shape, which may hold
	// anything (control characters, a forged line).
	Summary string
	// OAuthError, with Status, answers in the token endpoint's OAuth error
	// shape, this error code and Summary as its description: Okta's
	// reference has the token endpoint answer "server_error" when a token
	// inline hook fails, and a gateway in front of it may answer
	// "temporarily_unavailable".
	OAuthError string
	// Page answers with a web page (HTML) and Status, 200 if unset, in
	// place of the API's JSON: what a connector URL that names a sign-in
	// page or another site, a proxy's or firewall's block page, or a
	// captive portal answers. Okta's API answers JSON on every path.
	Page        bool
	Delay       time.Duration // wait this long (real time) before answering normally
	Truncate    bool          // send only half of the real body, then close
	InvalidJSON bool          // a 200 whose body is not JSON
	// BadGzip: a 200 that says Content-Encoding: gzip, complete as HTTP,
	// whose gzip stream stops half-way (a proxy that cut it).
	BadGzip  bool
	Reset    bool // close the connection without answering
	LoopNext bool // the page's next link points back to the page itself
	// EndlessNext: every users page carries a next link never seen before
	// (the same position, a fresh query), so the listing never ends.
	EndlessNext bool
	// NoNext: the users page carries no next link, so the listing ends
	// early: an org that answers half a list.
	NoNext bool
	// Pad adds a field of this many bytes to every user of a users page,
	// written piecewise: a huge page on the wire.
	Pad int
	// Repeat answers a list with its items written this many times over,
	// piece by piece: what a broken server or a proxy that loops over a
	// list sends. Unpaginated lists (a user's app links, devices and
	// factors) then grow without a bound.
	Repeat int

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

// PendingFaults is how many injected faults have not fired in full.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
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
		if !strings.HasPrefix(path, f.Path) || !strings.HasSuffix(path, f.Suffix) {
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

// apply carries the fault out; it reports whether it answered the request.
func (f *Fault) apply(w *statusWriter, r *http.Request, s *Server) bool {
	switch {
	case f.Page:
		simweb.Page(w, max(f.Status, http.StatusOK))
	case f.OAuthError != "" && f.Status != 0:
		oauthError(w, f.Status, f.OAuthError, f.Summary)
	case f.Echo && f.Status != 0:
		echo(w, r, f.Status)
	case f.Summary != "" && f.Status != 0:
		writeError(w, f.Status, "E0000001", f.Summary)
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		if f.ResetIn > 0 {
			at := s.now().Add(f.ResetIn + time.Second - 1).Truncate(time.Second)
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(at.Unix(), 10))
		}
		if f.NoDate {
			w.Header()["Date"] = nil // nil, not deleted: net/http adds a Date to a header without one
		}
		if f.NoReset {
			w.Header().Del("X-Rate-Limit-Reset")
		}
		writeError(w, f.Status, "E0000047", "API call exceeded rate limit due to too many requests.")
	case f.Status >= 500:
		writeError(w, f.Status, "E0000009", "Internal Server Error")
	case f.Status == http.StatusUnauthorized:
		writeError(w, f.Status, "E0000011", "Invalid token provided")
	case f.Status == http.StatusForbidden:
		writeError(w, f.Status, "E0000006", "You do not have permission to perform the requested action")
	case f.Status == http.StatusNotFound:
		writeError(w, f.Status, "E0000007", "Not found: Resource not found: "+path.Base(r.URL.Path))
	case f.Status != 0:
		writeError(w, f.Status, "E0000001", "Api validation failed")
	case f.ResetIn > 0:
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		at := s.now().Add(f.ResetIn + time.Second - 1).Truncate(time.Second)
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(at.Unix(), 10))
		return false
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
		_, _ = w.Write([]byte(`[{"id":"00u1","status":"ACTIVE","profile":{"login":`))
		_, _ = w.Write([]byte(`<html>upstream error</html>`))
	case f.Repeat > 0:
		uncompressed(w)
		rec := httptest.NewRecorder()
		s.route(rec, r)
		simpad.RepeatAnswer(w, rec, f.Repeat)
	case f.Truncate:
		uncompressed(w)
		rec := httptest.NewRecorder()
		s.route(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(bytes.Clone(body[:len(body)/2]))
		// The handler returns short of Content-Length: the server closes
		// the connection and the client reads an unexpected EOF.
	case f.BadGzip:
		uncompressed(w)
		rec := httptest.NewRecorder()
		s.route(rec, r)
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		half := z.Bytes()[:z.Len()/2]
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(half)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(half)
	case f.Reset:
		if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case f.LoopNext, f.EndlessNext, f.NoNext, f.Pad > 0:
		if f.Pad > 0 {
			uncompressed(w) // huge on the wire, as the fault means
		}
		*r = *r.WithContext(context.WithValue(r.Context(), listKey{}, f))
		return false
	}
	return true
}

// listKey carries a fault that changes how a listing answers.
type listKey struct{}

func listFault(r *http.Request) *Fault { f, _ := r.Context().Value(listKey{}).(*Fault); return f }

func loopNext(r *http.Request) bool    { f := listFault(r); return f != nil && f.LoopNext }
func endlessNext(r *http.Request) bool { f := listFault(r); return f != nil && f.EndlessNext }
func noNext(r *http.Request) bool      { f := listFault(r); return f != nil && f.NoNext }
func padding(r *http.Request) int {
	if f := listFault(r); f != nil {
		return f.Pad
	}
	return 0
}

// echo answers status quoting the request's credentials back (Fault.Echo).
func echo(w *statusWriter, r *http.Request, status int) {
	auth := r.Header.Get("Authorization")
	if r.URL.Path == TokenPath {
		_ = r.ParseForm()
		w.WriteHeader(status)
		data, _ := json.Marshal(map[string]string{"error": "invalid_client",
			"error_description": "refused " + r.PostForm.Encode()})
		_, _ = w.Write(data)
		return
	}
	w.Header().Set("X-Okta-Request-Id", auth)
	_, cred, _ := strings.Cut(auth, " ")
	writeError(w, status, cred, "Authorization: "+auth+" refused for "+r.Method+" "+r.URL.String())
}
