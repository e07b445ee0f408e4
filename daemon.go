package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/metrics"
	"neurons-connector/secret"
	"neurons-connector/service"
	"neurons-connector/store"
)

// daemon is what `serve` runs: the database held open, the scheduler with
// a worker per connector, the metrics, and the control endpoint.
type daemon struct {
	a       *app // the serve command's: settings, logger, clock
	db      *store.DB
	sched   *engine.Scheduler
	metrics *metrics.Metrics
	ctx     context.Context
}

// runDaemon serves until ctx ends. It listens first, so that a second
// daemon fails on the port before it waits for the database's lock.
func (a *app) runDaemon(ctx context.Context) error {
	l, err := service.Listen(ctx, a.cfg.Listen)
	if err != nil {
		return err
	}
	defer func() { _ = l.Close() }()
	db, err := a.openStore(true)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	token, err := service.LoadOrCreateToken(a.cfg.DataDir)
	if err != nil {
		return err
	}
	sink, err := a.sink(db)
	if err != nil {
		return err
	}
	eng, err := a.engine(db)
	if err != nil {
		return err
	}
	d := &daemon{a: a, db: db, ctx: ctx}
	d.metrics = metrics.New(d.gauges)
	d.sched = &engine.Scheduler{Engine: eng, Sink: sink, Server: a.cfg.ServerName, Local: a.local,
		Provider: d.provider, Finished: d.metrics.RunFinished}
	ctl := &service.Control{Token: token, Metrics: d.metrics.Handler(), Exec: d.exec, Status: d.status, Trigger: d.trigger}
	remove, err := service.Announce(a.cfg.DataDir, service.DaemonInfo{PID: os.Getpid(), Listen: l.Addr().String(), Started: a.clock().Now().UTC()})
	if err != nil {
		return err
	}
	defer remove()
	log := a.logger()
	log.Info("daemon started", "version", version, "server", a.cfg.ServerName, "listen", l.Addr().String(),
		"data_dir", a.cfg.DataDir, "sink", a.cfg.Sink)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.sched.Run(gctx) })
	g.Go(func() error { return ctl.Serve(gctx, l) })
	err = g.Wait()
	log.Info("daemon stopped")
	return err
}

// provider builds a connector's client with its secret from the database.
func (d *daemon) provider(_ context.Context, c connector.Config) (engine.Provider, error) {
	var v secret.Value
	err := d.db.View(func(tx *store.Tx) error {
		var err error
		v, err = tx.Secret(c.ID, secretName(c.Kind))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open the secret of %q: %w", c.Name, err)
	}
	return d.a.provider(c, v)
}

// forwarded are the commands the CLI hands to a running daemon, because
// they read or write the database it holds.
var forwarded = []string{"connector", "run", "status", "mapping"}

// exec runs a command line from the CLI inside the daemon, with the
// daemon's settings and database.
func (d *daemon) exec(ctx context.Context, req service.ExecRequest, stdout, stderr io.Writer) int {
	if len(req.Args) == 0 || !slices.Contains(forwarded, req.Args[0]) {
		fmt.Fprintf(stderr, "neurons-connector: the service runs only %s commands for the command line\n", strings.Join(forwarded, ", "))
		return 2
	}
	a := d.a
	sub := &app{stdin: bytes.NewReader(req.Stdin), stdout: stdout, stderr: stderr, lookup: a.lookup, now: a.now,
		local: a.local, mappings: a.mappings, stdinTerminal: func() (int, bool) { return 0, false },
		dataDirFlag: a.dataDirFlag, clk: a.clk, inDaemon: d}
	code := run(ctx, req.Args, sub)
	d.sched.Reload() // an add, edit or remove takes effect now
	return code
}

// status is GET /v1/status: what `status --json` prints.
func (d *daemon) status(_ context.Context, name string) (any, error) {
	sub := &app{now: d.a.now, local: d.a.local, cfg: d.a.cfg, inDaemon: d, clk: d.a.clk}
	views, err := sub.statusViews(name)
	if err != nil || name == "" {
		return views, err
	}
	return views[0], nil
}

// trigger is POST /v1/run: a run of the named connector, queued.
func (d *daemon) trigger(_ context.Context, name string, full bool) error {
	c, err := d.byName(name)
	if err != nil {
		return err
	}
	go func() { _, _, _ = d.sched.RunNow(d.ctx, c.ID, engine.RunFlags{Full: full}, nil) }()
	return nil
}

// hold keeps the daemon's worker of a connector from running while a
// command removes it; without a daemon it does nothing.
func (a *app) hold(name string) (release func()) {
	if a.inDaemon == nil {
		return func() {}
	}
	c, err := a.inDaemon.byName(name)
	if err != nil {
		return func() {} // the command reports the unknown name itself
	}
	return a.inDaemon.sched.Hold(c.ID)
}

// byName finds a connector in the daemon's database.
func (d *daemon) byName(name string) (c connector.Config, err error) {
	err = d.db.View(func(tx *store.Tx) error {
		c, err = findConnector(tx, name)
		return err
	})
	return c, err
}

// gauges reads the metrics that live in the database.
func (d *daemon) gauges() ([]metrics.Gauge, error) {
	var out []metrics.Gauge
	err := d.db.View(func(tx *store.Tx) error {
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
