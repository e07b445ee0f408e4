// Package control is the daemon's local API: typed requests of package api
// over HTTP on a Unix socket in the data directory (a named pipe on
// Windows), which the operating system authenticates. The daemon refuses a
// peer whose user is neither its own nor root (the socket's peer
// credentials; the pipe's ACL on Windows), and the command line refuses a
// daemon that is not root or the user itself before it sends anything,
// secrets included. No request names a file or an environment variable:
// the command line reads and writes those itself.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"neurons-connector/api"
	"neurons-connector/fault"
	"neurons-connector/mapping"
	"neurons-connector/settings"
)

// Backend is what the daemon answers requests with: the local backend
// bound to the database and scheduler it holds.
type Backend = api.Backend

// maxRequest bounds a request body: a connector's options and a secret,
// or a mapping table to preview (at most 1 MiB, base64 in JSON).
const maxRequest = 2 << 20

// wireError is an error as the socket carries it.
type wireError struct {
	Error    string `json:"error"`
	BadInput bool   `json:"badInput,omitempty"` // fault.ErrBadInput: exit 2
	Lines    bool   `json:"lines,omitempty"`    // one problem per line, to print as is
}

// frame is one line of a run's answer: an event, then the result or an error.
type frame struct {
	Alive  bool           `json:"alive,omitempty"` // a sign of life, every heartbeat
	Event  *api.Event     `json:"event,omitempty"`
	Result *api.RunResult `json:"result,omitempty"`
	Err    *wireError     `json:"err,omitempty"`
}

// The bodies of the requests that name a connector or a table.
type nameRequest struct {
	Name string `json:"name"`
}

type exportRequest struct {
	Target string `json:"target"`
}

// Handler routes the local API to b.
func Handler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, _ *http.Request) { reply(w, map[string]bool{"ok": true}) })
	mux.HandleFunc("POST /v1/connectors/add", call(b.Add))
	mux.HandleFunc("POST /v1/connectors/edit", call(b.Edit))
	mux.HandleFunc("POST /v1/connectors/remove", call(b.Remove))
	mux.HandleFunc("POST /v1/connectors/list", call(func(ctx context.Context, _ struct{}) ([]api.Connector, error) { return b.List(ctx) }))
	mux.HandleFunc("POST /v1/connectors/show", call(func(ctx context.Context, r nameRequest) (api.Connector, error) { return b.Show(ctx, r.Name) }))
	mux.HandleFunc("POST /v1/connectors/test", call(func(ctx context.Context, r nameRequest) (string, error) { return b.Test(ctx, r.Name) }))
	mux.HandleFunc("POST /v1/status", call(func(ctx context.Context, r nameRequest) ([]api.Status, error) { return b.Status(ctx, r.Name) }))
	mux.HandleFunc("POST /v1/explain", call(func(ctx context.Context, r api.ExplainRequest) (api.Explanation, error) { return b.Explain(ctx, r) }))
	mux.HandleFunc("POST /v1/mapping/preview", call(func(ctx context.Context, r api.PreviewRequest) (api.Preview, error) { return b.Preview(ctx, r) }))
	mux.HandleFunc("POST /v1/mapping/export", call(func(ctx context.Context, r exportRequest) (api.Table, error) { return b.Export(ctx, r.Target) }))
	mux.HandleFunc("POST /v1/run", func(w http.ResponseWriter, r *http.Request) { run(w, r, b) })
	mux.HandleFunc("POST /v1/database/backup", func(w http.ResponseWriter, r *http.Request) { backup(w, r, b) })
	return mux
}

// backup streams a copy of the database: the command line writes the file
// itself, as its own user, wherever it may write (the service's sandbox
// may write only its data directory).
func backup(w http.ResponseWriter, r *http.Request, b Backend) {
	if err := decode(r, &struct{}{}); err != nil {
		fail(w, err)
		return
	}
	cw := &countingWriter{w: w}
	if _, err := b.Backup(r.Context(), cw); err != nil {
		if cw.n == 0 {
			fail(w, err)
			return
		}
		// The answer has begun: cutting the connection is how the
		// command learns that the copy is incomplete.
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // would send the headers, and an error could no longer be answered
	}
	if c.n == 0 {
		if h, ok := c.w.(http.ResponseWriter); ok {
			h.Header().Set("Content-Type", "application/octet-stream")
		}
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// decode reads a request body strictly: a field the API does not define
// (a file to read, a variable to expand) is refused, not ignored.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return api.BadInput("the request is not one this daemon understands (%v); are the command line and the service the same version?", err)
	}
	return nil
}

// call adapts one typed operation to a handler.
func call[Req, Resp any](op func(context.Context, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := decode(r, &req); err != nil {
			fail(w, err)
			return
		}
		resp, err := op(r.Context(), req)
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, resp)
	}
}

// heartbeat is how often a run's stream carries a sign of life, whatever
// the run does (it may wait behind another run, or for a rate limit, for
// minutes without an event): a command line that hears nothing for a
// while knows the daemon's process is stopped or hung.
var heartbeat = 15 * time.Second

// run streams a run's events as JSON lines, then its result.
func run(w http.ResponseWriter, r *http.Request, b Backend) {
	var req api.RunRequest
	if err := decode(r, &req); err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	var mu sync.Mutex // progress comes from the run's ticker, changes from its pages
	send := func(f frame) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(f)
		if fl != nil {
			fl.Flush()
		}
	}
	stop := beat(func() { send(frame{Alive: true}) })
	res, err := b.Run(r.Context(), req, func(e api.Event) { send(frame{Event: &e}) })
	stop() // no sign of life after the last line, nor once the handler returns
	if err != nil {
		we := toWire(err)
		send(frame{Err: &we})
		return
	}
	send(frame{Result: &res})
}

// beat calls alive now, which tells the command line that signs of life
// will come, and then every heartbeat until the returned stop, which waits
// for the last call to end.
func beat(alive func()) (stop func()) {
	alive()
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				alive()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	we := toWire(err)
	code := http.StatusInternalServerError
	if we.BadInput {
		code = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(we)
}

func toWire(err error) wireError {
	var se *settings.Error
	var mp mapping.Problems
	return wireError{Error: err.Error(), BadInput: errors.Is(err, fault.ErrBadInput) || errors.As(err, &mp),
		Lines: errors.As(err, &se) || errors.As(err, &mp)}
}

// Serve answers the local API on l until ctx ends. Requests in flight get
// a second to finish; a long run's stream ends with the daemon.
func Serve(ctx context.Context, l net.Listener, b Backend) error {
	srv := &http.Server{Handler: Handler(b), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		// Time for a request that ends with the daemon (a run delivering)
		// to send its last line, saying why, before its connection is cut.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
	})
	defer stop()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("local API: %w", err)
	}
	return nil
}

// shutdownGrace bounds the wait for requests in progress as the daemon
// stops: within Windows' stop timeout (service.StopTimeout) and systemd's
// (TimeoutStopSec=10s).
const shutdownGrace = 3 * time.Second

// refusal is the answer a refused peer gets before its connection closes.
func refusal(why string) []byte {
	body, _ := json.Marshal(wireError{Error: why})
	return []byte("HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)+1) + string(body) + "\n")
}

// guarded is a listener that drops peers allow refuses, telling them why.
type guarded struct {
	net.Listener
	check func(net.Conn) error
	log   *slog.Logger
}

func (g *guarded) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := g.check(c); err != nil {
			if g.log != nil {
				g.log.Warn("local API: refused a peer", "reason", err)
			}
			go refuse(c, err)
			continue
		}
		return c, nil
	}
}

// refuse reads what the peer sent (so that closing does not reset the
// connection before it reads the answer), tells it why, and closes.
func refuse(c net.Conn, why error) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for total := 0; total < 64<<10; {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			break
		}
	}
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(refusal(strings.TrimSpace(why.Error())))
}
