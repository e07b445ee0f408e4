package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The control endpoint's files in the data directory, both readable by the
// owner only: the token every request but /healthz must carry, and where the
// running daemon listens (removed when it stops).
const (
	TokenFile  = "control.token"
	DaemonFile = "daemon.json"
)

// ExecRequest is a command line the CLI hands to the daemon, because the
// daemon holds the database. Secrets the command reads from a variable or
// file were read by the CLI and travel as Stdin.
type ExecRequest struct {
	Args  []string `json:"args"`
	Stdin []byte   `json:"stdin,omitempty"`
}

// frame is one line of an exec response: output, or the exit code last.
type frame struct {
	Stream int    `json:"stream,omitempty"` // 1 stdout, 2 stderr
	Data   string `json:"data,omitempty"`
	Exit   *int   `json:"exit,omitempty"`
}

// Control is the daemon's local HTTP endpoint.
type Control struct {
	Token   string
	Metrics http.Handler
	// Exec runs a command line in the daemon and returns its exit code.
	Exec func(ctx context.Context, req ExecRequest, stdout, stderr io.Writer) int
	// Status returns what `status --json` prints (name empty: every connector).
	Status func(ctx context.Context, name string) (any, error)
	// Trigger queues a run of the named connector and returns at once.
	Trigger func(ctx context.Context, name string, full bool) error
}

// Handler routes the endpoint. Only /healthz answers without the token.
func (c *Control) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /v1/ping", c.auth(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "pong\n") // the token fits: this is the daemon of this data directory
	})))
	mux.Handle("GET /metrics", c.auth(c.Metrics))
	mux.Handle("GET /v1/status", c.auth(http.HandlerFunc(c.status)))
	mux.Handle("POST /v1/run", c.auth(http.HandlerFunc(c.trigger)))
	mux.Handle("POST /v1/exec", c.auth(http.HandlerFunc(c.exec)))
	return mux
}

// auth checks the bearer token in constant time.
func (c *Control) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(c.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="neurons-connector"`)
			httpError(w, http.StatusUnauthorized, "missing or wrong token; send Authorization: Bearer <the content of "+TokenFile+" in the data directory>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Control) status(w http.ResponseWriter, r *http.Request) {
	v, err := c.Status(r.Context(), r.URL.Query().Get("name"))
	if err != nil {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (c *Control) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		httpError(w, http.StatusBadRequest, "give the connector: POST /v1/run?name=NAME[&full=1]")
		return
	}
	full := r.URL.Query().Get("full")
	if err := c.Trigger(r.Context(), name, full == "1" || full == "true"); err != nil {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"queued":true}`+"\n")
}

func (c *Control) exec(w http.ResponseWriter, r *http.Request) {
	var req ExecRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "body must be {\"args\": [...]}: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	fw := &frameWriter{w: w, enc: json.NewEncoder(w)}
	fl, _ := w.(http.Flusher)
	fw.flush = func() {
		if fl != nil {
			fl.Flush()
		}
	}
	code := c.Exec(r.Context(), req, fw.stream(1), fw.stream(2))
	fw.mu.Lock()
	_ = fw.enc.Encode(frame{Exit: &code})
	fw.mu.Unlock()
}

// frameWriter turns writes to stdout and stderr into frames, flushed at
// once so that a long run's output arrives as it happens.
type frameWriter struct {
	mu    sync.Mutex
	w     io.Writer
	enc   *json.Encoder
	flush func()
}

type streamWriter struct {
	fw *frameWriter
	n  int
}

func (fw *frameWriter) stream(n int) io.Writer { return streamWriter{fw, n} }

func (s streamWriter) Write(p []byte) (int, error) {
	s.fw.mu.Lock()
	defer s.fw.mu.Unlock()
	if err := s.fw.enc.Encode(frame{Stream: s.n, Data: string(p)}); err != nil {
		return 0, err
	}
	s.fw.flush()
	return len(p), nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Listen opens the control endpoint's socket.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on NC_LISTEN %s: %w; is another neurons-connector daemon running, or set NC_LISTEN to a free loopback port", addr, err)
	}
	return l, nil
}

// Serve runs the endpoint on l until ctx ends.
func (c *Control) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close() // exec streams of long runs end with the daemon
	})
	defer stop()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("control endpoint: %w", err)
	}
	return nil
}

// LoadOrCreateToken returns the control token of the data directory,
// creating a random one (mode 0600) if there is none. It lasts across
// restarts, so that a Prometheus scrape configured with it keeps working;
// deleting the file and restarting makes a new one.
func LoadOrCreateToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, TokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); len(tok) >= 32 {
			return tok, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the control token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw)
	if err := writePrivate(path, []byte(tok+"\n")); err != nil {
		return "", fmt.Errorf("write the control token: %w", err)
	}
	return tok, nil
}

// DaemonInfo is what daemon.json holds while a daemon runs.
type DaemonInfo struct {
	PID     int       `json:"pid"`
	Listen  string    `json:"listen"`
	Started time.Time `json:"started"`
}

// Announce writes daemon.json; the returned function removes it.
func Announce(dataDir string, info DaemonInfo) (remove func(), err error) {
	path := filepath.Join(dataDir, DaemonFile)
	b, _ := json.Marshal(info)
	if err := writePrivate(path, b); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// writePrivate replaces path with data, readable by the owner only.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := restrictFile(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
