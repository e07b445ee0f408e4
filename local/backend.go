// Package local is the command layer's backend on the database itself:
// every request of package api (add, edit, remove, run, status, export ...)
// answered from the bbolt file. The command line uses it when no daemon
// runs; the daemon serves the same Backend, bound to the database it holds
// and to its scheduler, behind its local socket. So each operation is
// written once, and a command behaves the same either way.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"neurons-connector/api"
	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/internal/netfs"
	"neurons-connector/internal/owndir"
	"neurons-connector/internal/private"
	"neurons-connector/mapping"
	"neurons-connector/secret"
	"neurons-connector/service"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Patience is how long a run or a purge keeps delivering after its pass
// when the sink fails; what is left waits in the outbox for the next run or
// the service.
const Patience = 30 * time.Second

// Scheduler is what the backend needs of the daemon's scheduler, when it
// serves the daemon: runs go through the connector's worker, a removal
// keeps the worker away, a change reloads the schedule.
type Scheduler interface {
	RunNow(ctx context.Context, id string, flags engine.RunFlags, progress func(engine.Progress)) (store.Run, *engine.Pusher, error)
	Hold(id string) (release func())
	Reload()
	State(id string) (engine.State, bool)
}

// Config is what a Backend is built from: computed once by the command
// layer (or the daemon) from the settings.
type Config struct {
	DataDir string
	Key     store.KeyFunc
	Server  string // NC_SERVER_NAME
	// Tables are the built-in mapping tables and the target catalog;
	// MappingsDir (NC_MAPPINGS_DIR) holds the admin's overrides.
	Tables      fs.FS
	MappingsDir string
	// Drivers are the supported kinds: their specs and how to open their
	// clients. UserAgent is what the clients send.
	Drivers   engine.Drivers
	UserAgent string
	// Sink builds the configured sink on db. LocalSink says that it reads
	// batches in this process (the CSV drop), so they need no gzip.
	Sink      func(db *store.DB) (engine.Sink, error)
	LocalSink bool
	// SinkName names the sink (settings.Settings.SinkName), so that a run
	// notices a sink its connector's snapshot does not describe.
	SinkName string
	// CSVDir is NC_CSV_DIR, where a renamed connector's drop is renamed.
	CSVDir string
	Clock  clock.Clock
	Local  *time.Location
	Log    *slog.Logger
	// DB and Scheduler are set by the daemon, which holds the database;
	// otherwise each request opens the file and closes it.
	DB        *store.DB
	Scheduler Scheduler
	// NetworkFS says whether a folder is on a network file system, and
	// which (netfs.Of when nil; tests pretend).
	NetworkFS func(dir string) (kind string, remote bool)
}

// The sinks the configuration builds, checked against what the engine's
// pusher needs.
var (
	_ engine.Sink    = (*sink.Neurons)(nil)
	_ engine.Counter = (*sink.Neurons)(nil)
	_ engine.Sink    = (*sink.CSV)(nil)
)

// Backend answers the command layer's requests from the database.
type Backend struct{ cfg Config }

// New returns the Backend of cfg.
func New(cfg Config) *Backend { return &Backend{cfg: cfg} }

// Close releases nothing: each request closes what it opened.
func (b *Backend) Close() error { return nil }

// open opens the database. Only requests that create something pass
// create; the others get store.ErrNoDatabase on a fresh host and treat it
// as "no connectors yet", so that looking never writes.
func (b *Backend) open(create bool) (*store.DB, error) {
	if b.cfg.DB != nil {
		return b.cfg.DB.Borrow(), nil
	}
	if create {
		if err := service.PrepareDataDir(b.cfg.DataDir); err != nil {
			return nil, fmt.Errorf("prepare data directory: %w", err)
		}
	} else if _, err := os.Stat(b.cfg.DataDir); err == nil {
		// Reading a folder someone else prepared would trust their
		// database: it is checked like one about to be written.
		if err := owndir.AdoptData(b.cfg.DataDir); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	return store.Open(store.PathIn(b.cfg.DataDir), store.Options{Create: create, Key: b.cfg.Key})
}

// DataDirWarning says why the data directory is no place for the database,
// or "" when it is fine: on a network file system (netfs), bbolt's lock
// does not keep a process on another host out, and a connection lost in a
// commit can damage the file.
func (b *Backend) DataDirWarning() string {
	of := b.cfg.NetworkFS
	if of == nil {
		of = netfs.Of
	}
	kind, remote := of(b.cfg.DataDir)
	if !remote {
		return ""
	}
	return fmt.Sprintf("the data directory %s is on %s, a network file system: the database needs a local disk, since its lock "+
		"does not keep out a process on another host and a connection lost during a commit can damage it; stop the service, "+
		"move the folder to a local disk and set NC_DATA_DIR to it (the CSV drop, NC_CSV_DIR, may stay on a share)", b.cfg.DataDir, kind)
}

// view runs fn in a read transaction; with no database yet it runs fn
// with a nil transaction, meaning "nothing stored".
func (b *Backend) view(fn func(tx *store.Tx) error) error {
	db, err := b.open(false)
	if errors.Is(err, store.ErrNoDatabase) {
		return fn(nil)
	}
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.View(fn)
}

// update runs fn in one write transaction: a request's writes land
// together or not at all.
func (b *Backend) update(create bool, fn func(tx *store.Tx) error) error {
	db, err := b.open(create)
	if errors.Is(err, store.ErrNoDatabase) {
		return fn(nil)
	}
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.Update(fn)
}

// openConnector opens the database and finds the named connector and,
// with withSecret, opens its secret. The caller closes the database.
func (b *Backend) openConnector(name string, withSecret bool) (*store.DB, connector.Config, secret.Value, error) {
	var c connector.Config
	var sec secret.Value
	db, err := b.open(false)
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, c, sec, api.UnknownConnector(name)
	}
	if err != nil {
		return nil, c, sec, err
	}
	err = db.View(func(tx *store.Tx) error {
		var err error
		if c, err = findConnector(tx, name); err != nil || !withSecret {
			return err
		}
		name, err := b.secretName(c)
		if err != nil {
			return err
		}
		sec, err = tx.Secret(c.ID, name)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, c, sec, err
	}
	return db, c, sec, nil
}

// engine builds the sync engine on db.
func (b *Backend) engine(db *store.DB) (*engine.Engine, error) {
	src, err := b.mappingSource()
	if err != nil {
		return nil, err
	}
	return &engine.Engine{DB: db, Tables: mapping.NewKeeper(src), Clock: b.cfg.Clock, Log: b.cfg.Log, SpillDir: b.cfg.DataDir, LocalSink: b.cfg.LocalSink, Sink: b.cfg.SinkName}, nil
}

// mappingSource is the built-in tables with NC_MAPPINGS_DIR's overrides.
func (b *Backend) mappingSource() (*mapping.Source, error) {
	src, err := mapping.NewSource(b.cfg.Drivers.Specs(), b.cfg.Tables, nil)
	if err == nil && b.cfg.MappingsDir != "" {
		src.Overrides, src.OverridesDir = os.DirFS(b.cfg.MappingsDir), b.cfg.MappingsDir
		src.Trust = func(path string) error { return private.Check(path, private.Input) }
	}
	return src, err
}

// findConnector looks a connector up by name; an unknown name is bad
// input. tx is nil when no database exists yet.
func findConnector(tx *store.Tx, name string) (connector.Config, error) {
	if tx == nil {
		return connector.Config{}, api.UnknownConnector(name)
	}
	c, err := tx.ConnectorByName(name)
	if errors.Is(err, store.ErrNotFound) {
		return c, api.UnknownConnector(name)
	}
	return c, err
}

// spec is the spec of c's kind. A database written by a version that
// knew more kinds may hold one this version does not.
func (b *Backend) spec(c connector.Config) (*connector.Spec, error) {
	d, ok := b.cfg.Drivers.Find(c.Kind)
	if !ok {
		return nil, fmt.Errorf("connector %q is of type %q, which this version does not support (it knows %s)",
			c.Name, c.Kind, b.cfg.Drivers.Specs().Names())
	}
	return d.Spec, nil
}

// secretName is the store's name of the secret c signs in with.
func (b *Backend) secretName(c connector.Config) (string, error) {
	sp, err := b.spec(c)
	if err != nil {
		return "", err
	}
	a := sp.AuthOf(c)
	if a == nil {
		return "", fmt.Errorf("connector %q signs in as %q, which this version does not know; upgrade, or choose with: "+
			"neurons-connector connector edit %q --auth %s", c.Name, c.Auth, c.Name, sp.AuthNames())
	}
	return a.Secret.Store, nil
}

// openProvider builds c's client with its secret sec.
func (b *Backend) openProvider(c connector.Config, sec secret.Value) (engine.Provider, error) {
	d, ok := b.cfg.Drivers.Find(c.Kind)
	if !ok {
		_, err := b.spec(c)
		return nil, err
	}
	return d.Open(engine.OpenRequest{Config: c, Secret: sec, Log: b.cfg.Log.With("connector", c.Name),
		UserAgent: b.cfg.UserAgent, DataDir: b.cfg.DataDir})
}

// hold keeps the daemon's worker of a connector from running while a
// request removes it; without a daemon it does nothing.
func (b *Backend) hold(name string) (release func()) {
	if b.cfg.Scheduler == nil {
		return func() {}
	}
	var c connector.Config
	if err := b.view(func(tx *store.Tx) (err error) { c, err = findConnector(tx, name); return err }); err != nil {
		return func() {} // the request reports the unknown name itself
	}
	return b.cfg.Scheduler.Hold(c.ID)
}

// changed tells the daemon's scheduler that connectors changed.
func (b *Backend) changed() {
	if b.cfg.Scheduler != nil {
		b.cfg.Scheduler.Reload()
	}
}

// Engine is the sync engine on db, as the backend's runs use it; the
// daemon's scheduler runs with the same.
func (b *Backend) Engine(db *store.DB) (*engine.Engine, error) { return b.engine(db) }

// Sink is the configured sink on db.
func (b *Backend) Sink(db *store.DB) (engine.Sink, error) { return b.cfg.Sink(db) }

// IdleLimit is how long c's credential may go unused before its provider
// revokes it (engine.Driver.IdleLimit), 0 when it does not lapse.
func (b *Backend) IdleLimit(c connector.Config) time.Duration {
	d, ok := b.cfg.Drivers.Find(c.Kind)
	if !ok || d.IdleLimit == nil {
		return 0
	}
	return d.IdleLimit(c)
}

// Provider builds a connector's client with its secret from db.
func (b *Backend) Provider(db *store.DB, c connector.Config) (engine.Provider, error) {
	name, err := b.secretName(c)
	if err != nil {
		return nil, err
	}
	var v secret.Value
	err = db.View(func(tx *store.Tx) error {
		var err error
		v, err = tx.Secret(c.ID, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open the secret of %q: %w", c.Name, err)
	}
	return b.openProvider(c, v)
}

// Bind returns a Backend like b on the database the daemon holds, whose
// runs go through sched.
func (b *Backend) Bind(db *store.DB, sched Scheduler) *Backend {
	cfg := b.cfg
	cfg.DB, cfg.Scheduler = db, sched
	return &Backend{cfg: cfg}
}
