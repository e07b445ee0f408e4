// Package daemon is what `serve` runs: the database held open, the
// scheduler with a worker per connector, the local API on a socket (a
// named pipe on Windows) that the command line uses while the daemon holds
// the database, and /healthz and /metrics on NC_LISTEN.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"neurons-connector/api"
	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/control"
	"neurons-connector/engine"
	"neurons-connector/local"
	"neurons-connector/metrics"
	"neurons-connector/service"
	"neurons-connector/store"
)

// Config is what the daemon runs with, computed once by the command layer.
type Config struct {
	DataDir string
	Listen  string // NC_LISTEN
	Server  string // NC_SERVER_NAME
	Sink    string // NC_SINK, for the start line
	Version string
	Key     store.KeyFunc
	Clock   clock.Clock
	Local   *time.Location
	Log     *slog.Logger
	// Backend is the local backend of the settings; the daemon binds it to
	// the database it holds and to its scheduler.
	Backend *local.Backend
	// ListenRetry is how often NC_LISTEN is tried again while another
	// process holds its port; zero means a minute.
	ListenRetry time.Duration
	// Notify tells the service manager of the daemon's state, in
	// sd_notify's words: READY=1 once it serves (so that `systemctl start`,
	// and `service start` with it, waits for a daemon that took its
	// database and socket, and fails with one that did not), STATUS= what
	// it serves, STOPPING=1 as it stops. Nil tells nobody.
	Notify func(state string)
}

func (c Config) notify(state string) {
	if c.Notify != nil {
		c.Notify(state)
	}
}

// Files earlier versions kept in the data directory: the control token
// (the local API needs none now) and the daemon's TCP address.
var obsolete = []string{"control.token", "daemon.json"}

// Run serves until ctx ends. It takes its listeners first, so that a
// second daemon fails on its socket (pipe) before it waits for the
// database's lock.
func Run(parent context.Context, cfg Config) error {
	// What the daemon serves ends with the cause api.ErrServiceStopping, so
	// that a command waiting on a request (a run delivering) says why.
	ctx, stop := context.WithCancelCause(context.WithoutCancel(parent))
	defer stop(nil)
	defer context.AfterFunc(parent, func() { stop(api.ErrServiceStopping) })()
	if err := service.PrepareDataDir(cfg.DataDir); err != nil {
		return fmt.Errorf("prepare data directory: %w", err)
	}
	if w := cfg.Backend.DataDirWarning(); w != "" {
		cfg.Log.Warn(w) // on Windows, in the event log too
	}
	// The port is not the daemon's to insist on: another program, or any
	// local user, may hold it first, and a daemon that stopped there would
	// sync nothing. It runs its connectors without the endpoint meanwhile.
	tcp, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	listening := "unavailable"
	if err != nil {
		tcp = nil
		cfg.Log.Error(fmt.Sprintf("cannot listen on NC_LISTEN %s (%v): /healthz and /metrics are unavailable, and what holds the port "+
			"answers there instead; the daemon runs its connectors meanwhile and tries the port again every %s; stop what holds it "+
			"(another neurons-connector daemon, or another program), or set NC_LISTEN to a free loopback port",
			cfg.Listen, err, cmp.Or(cfg.ListenRetry, time.Minute)))
	} else {
		listening = tcp.Addr().String()
		defer func() { _ = tcp.Close() }()
	}
	sock, err := control.Listen(ctx, cfg.DataDir, cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = sock.Close() }()
	db, err := store.Open(store.PathIn(cfg.DataDir), store.Options{Create: true, Key: cfg.Key})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, f := range obsolete {
		_ = os.Remove(filepath.Join(cfg.DataDir, f))
	}
	sink, err := cfg.Backend.Sink(db)
	if err != nil {
		return err
	}
	eng, err := cfg.Backend.Engine(db)
	if err != nil {
		return err
	}
	m := metrics.New(func() ([]metrics.Gauge, error) { return gauges(db) })
	m.WatchDamage(db.Damaged)
	sched := &engine.Scheduler{Engine: eng, Sink: sink, Server: cfg.Server, Local: cfg.Local, Finished: m.RunFinished,
		IdleLimit: cfg.Backend.IdleLimit,
		Provider: func(_ context.Context, c connector.Config) (engine.Provider, error) {
			return cfg.Backend.Provider(db, c)
		}}
	backend := cfg.Backend.Bind(db, sched)
	cfg.Log.Info("daemon started", "version", cfg.Version, "server", cfg.Server, "listen", listening,
		"socket", sock.Addr().String(), "data_dir", cfg.DataDir, "sink", cfg.Sink)
	cfg.notify("READY=1\n" + statusLine(cfg, listening))
	stopping := context.AfterFunc(ctx, func() { cfg.notify("STOPPING=1") })
	defer stopping()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sched.Run(gctx) })
	g.Go(func() error { return control.Serve(gctx, sock, backend) })
	g.Go(func() error {
		if tcp == nil {
			if tcp = listenLater(gctx, cfg.Listen, cmp.Or(cfg.ListenRetry, time.Minute), cfg.Clock); tcp == nil {
				return nil // stopped before the port was free
			}
			defer func() { _ = tcp.Close() }()
			cfg.Log.Info("the health and metrics endpoint listens now", "listen", tcp.Addr().String())
			cfg.notify(statusLine(cfg, tcp.Addr().String()))
		}
		return serveHTTP(gctx, tcp, Handler(m.Handler(), db.Damaged), defaultHTTPLimits)
	})
	err = g.Wait()
	cfg.Log.Info("daemon stopped")
	return err
}

// statusLine is the STATUS= the service manager shows for the daemon
// (systemctl status, service status): what it serves, and where.
func statusLine(cfg Config, listening string) string {
	if listening == "unavailable" {
		listening = "unavailable (" + cfg.Listen + " is held by another process)"
	}
	return fmt.Sprintf("STATUS=serving the connectors of server %s into the %s sink; health and metrics: %s", cfg.Server, cfg.Sink, listening)
}

// listenLater tries addr every period until it can listen there, and
// returns the listener; nil once ctx ends.
func listenLater(ctx context.Context, addr string, every time.Duration, clk clock.Clock) net.Listener {
	for {
		if err := clk.Sleep(ctx, every); err != nil {
			return nil
		}
		if l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr); err == nil {
			return l
		}
	}
}

// Handler is the TCP endpoint: liveness and metrics, read-only, with no
// credential, so that a scraper holds nothing that controls the daemon.
// /healthz fails (503) with health's error: a damaged database, which no
// run gets past until an admin salvages it.
func Handler(metrics http.Handler, health func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", metrics)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			// DNS rebinding: a web page whose host name now resolves to
			// this computer, read by the admin's browser. A scraper here
			// names an address or localhost.
			http.Error(w, "this endpoint answers requests for a loopback address or localhost only", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a request's Host names this computer by a
// loopback address or as localhost.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpLimits bound the TCP endpoint's clients: nothing there takes long
// to answer, so slow or idle ones are cut off, and few are served at once.
type httpLimits struct {
	header, read, write, idle time.Duration
	conns                     int
}

var defaultHTTPLimits = httpLimits{header: 5 * time.Second, read: 10 * time.Second, write: 30 * time.Second,
	idle: 30 * time.Second, conns: maxHTTPConns}

// serveHTTP serves the TCP endpoint (h) until ctx ends, within lim.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, lim httpLimits) error {
	l = limit(l, lim.conns)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: lim.header, ReadTimeout: lim.read,
		WriteTimeout: lim.write, IdleTimeout: lim.idle,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics endpoint: %w", err)
	}
	return nil
}

// gauges reads the metrics that live in the database.
func gauges(db *store.DB) ([]metrics.Gauge, error) {
	var out []metrics.Gauge
	err := db.View(func(tx *store.Tx) error {
		all, err := tx.Connectors()
		if err != nil {
			return err
		}
		for _, c := range all {
			g := metrics.Gauge{Connector: c.Name, Type: string(c.Kind), Outbox: tx.OutboxDepth(c.ID)}
			state, err := tx.SyncState(c.ID)
			if err != nil {
				return err
			}
			if state.Hold != nil {
				g.Held = state.Hold.Count
			}
			if r, ok := tx.Rejection(c.ID); ok {
				g.Refused = max(r.Records, 1)
			}
			if sf, ok := tx.Shortfall(c.ID); ok {
				g.NotAccepted = sf.Records
			}
			runs, err := tx.Runs(c.ID, 100)
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.Result == "ok" {
					g.LastSuccess = float64(r.End.UnixNano()) / float64(time.Second)
					break
				}
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}
