package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/secret"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Add stores a new connector and its sealed secret in one transaction.
func (b *Backend) Add(_ context.Context, req api.AddRequest) (api.Connector, error) {
	sp, err := b.cfg.Drivers.Specs().Parse(string(req.Kind))
	if err != nil {
		return api.Connector{}, api.MarkBadInput(err)
	}
	now := b.cfg.Clock.Now()
	c := connector.New(sp, now.In(b.cfg.Local))
	if missing := req.Changes.Required(sp); missing != "" {
		return api.Connector{}, api.BadInput("%s", missing)
	}
	if err := req.Changes.Apply(sp, &c, now, b.cfg.Local); err != nil {
		return api.Connector{}, api.MarkBadInput(err)
	}
	c.Schedule.Reanchor(now, b.cfg.Local)
	auth, err := givenSecret(sp, c, req.SecretFlag)
	if err != nil {
		return api.Connector{}, err
	}
	sec, err := readSecret(auth, req.Secret)
	if err != nil {
		return api.Connector{}, err
	}
	var view api.Connector
	err = b.update(true, func(tx *store.Tx) (err error) {
		view, err = put(tx, sp, c, &sec, nil)
		return err
	})
	if err == nil {
		b.changed()
	}
	return view, err
}

// givenSecret is the way of signing in whose secret the flags named by
// flag gave ("": c's own), when c signs in that way.
func givenSecret(sp *connector.Spec, c connector.Config, flag string) (*connector.Auth, error) {
	now := sp.AuthOf(c)
	if flag == "" || now == nil || now.Secret.Flag == flag {
		return now, nil
	}
	a, ok := sp.SecretByFlag(flag)
	if !ok {
		return nil, api.BadInput("%s connectors take no secret by the flags --%s-*; %q takes its %s", sp.Kind, flag, c.Name, secretFlags(now))
	}
	return nil, api.BadInput("the %s given is the secret of --auth %s, but %q signs in with --auth %s: add --auth %s to switch, "+
		"or give its %s", a.Secret.What, a.Name, c.Name, now.Name, a.Name, secretFlags(now))
}

// readSecret checks a secret given for a's way of signing in.
func readSecret(a *connector.Auth, raw []byte) (secret.Value, error) {
	v, err := a.Secret.Form().FromBytes(raw)
	if err != nil {
		return v, api.BadInput("the %s: %v", a.Secret.What, err)
	}
	if a.Secret.Check != nil {
		if err := a.Secret.Check(v.Reveal()); err != nil {
			return v, api.BadInput("the %s: %v", a.Secret.What, err)
		}
	}
	return v, nil
}

// put writes c, of sp's kind, and, when sec is set, the secret of the way
// it signs in, in tx. left, when set, is the way it signed in before an
// edit switched: its secret is deleted, not kept unused.
func put(tx *store.Tx, sp *connector.Spec, c connector.Config, sec *secret.Value, left *connector.Auth) (api.Connector, error) {
	if err := tx.PutConnector(c); err != nil {
		return api.Connector{}, nameError(err)
	}
	if sec != nil {
		if err := tx.PutSecret(c.ID, sp.AuthOf(c).Secret.Store, *sec); err != nil {
			return api.Connector{}, err
		}
	}
	if left != nil {
		if err := tx.DeleteSecret(c.ID, left.Secret.Store); err != nil {
			return api.Connector{}, err
		}
	}
	return connectorView(tx, sp, c), nil
}

// Edit changes what req names of a connector; the others keep their values.
func (b *Backend) Edit(_ context.Context, req api.EditRequest) (api.Connector, error) {
	if len(req.Changes.Given()) == 0 && req.Secret == nil {
		return api.Connector{}, api.BadInput("nothing to change: give at least one option")
	}
	var view api.Connector
	var oldName string // the connector's name before the edit
	err := b.update(false, func(tx *store.Tx) error {
		c, err := findConnector(tx, req.Name)
		if err != nil {
			return err
		}
		oldName = c.Name
		sp, err := b.spec(c)
		if err != nil {
			return err
		}
		if req.Secret != nil && req.SecretKind != c.Kind {
			return api.BadInput("%q is of type %s, whose secret is its %s", c.Name, c.Kind, secretFlags(sp.AuthOf(c)))
		}
		was := sp.AuthOf(c)
		now := b.cfg.Clock.Now()
		if err := req.Changes.Apply(sp, &c, now, b.cfg.Local); err != nil {
			return api.MarkBadInput(err)
		}
		if err := b.keepsOwnTable(oldName, c.Name); err != nil {
			return err
		}
		auth := sp.AuthOf(c)
		var sec *secret.Value
		if req.Secret != nil {
			if _, err := givenSecret(sp, c, req.SecretFlag); err != nil {
				return err
			}
			v, err := readSecret(auth, req.Secret)
			if err != nil {
				return err
			}
			sec = &v
		}
		var left *connector.Auth
		if was != auth {
			if sec == nil {
				return api.BadInput("%q would sign in with --auth %s, which needs the %s: give it with %s",
					c.Name, auth.Name, auth.Secret.What, secretFlags(auth))
			}
			left = was
		}
		c.Updated = now.UTC()
		view, err = put(tx, sp, c, sec, left)
		return err
	})
	if err != nil {
		return view, err
	}
	b.changed()
	if view.Name != oldName && b.cfg.CSVDir != "" {
		if err := sink.RenameDrop(b.cfg.CSVDir, oldName, view.Name); err != nil {
			view.Warning = fmt.Sprintf("the CSV drop could not be renamed (%v): the next run that changes a user writes %s; "+
				"delete the old file by hand", err, sink.DropPath(b.cfg.CSVDir, view.Name))
		}
	}
	return view, nil
}

// keepsOwnTable refuses a rename that would leave the connector's own
// mapping table (NC_MAPPINGS_DIR/<name>.csv, found by the name) behind: the
// connector would map its users with its type's table from the next run,
// a full one that sends every user changed, without a word.
func (b *Backend) keepsOwnTable(was, name string) error {
	if connector.FoldName(was) == connector.FoldName(name) || b.cfg.MappingsDir == "" {
		return nil
	}
	src, err := b.mappingSource()
	if err != nil {
		return err
	}
	own, err := src.OwnTable(was)
	if err != nil || own == "" {
		return err
	}
	if next, err := src.OwnTable(name); err != nil || next != "" {
		return err
	}
	return api.BadInput("connector %q has its own mapping table %s, which goes by the connector's name: renamed %q, it would "+
		"map its users with its type's table instead; copy the table to %s first (and remove the old one after the rename)",
		was, own, name, filepath.Join(b.cfg.MappingsDir, name+".csv"))
}

// secretFlags names the flags that give a's secret.
func secretFlags(a *connector.Auth) string {
	if a == nil {
		return "secret"
	}
	f := a.Secret.Flags()
	return fmt.Sprintf("%s: --%s VAR, --%s FILE or --%s", a.Secret.What, f[0], f[1], f[2])
}

// Remove removes a connector with everything stored for it, after
// delivering a delete for each of its users when req.Purge.
func (b *Backend) Remove(ctx context.Context, req api.RemoveRequest) (api.Removed, error) {
	defer b.hold(req.Name)() // a daemon's worker must not write while the connector goes
	var out api.Removed
	if req.Purge {
		n, err := b.purge(ctx, req.Name)
		if err != nil {
			return out, err
		}
		out.Purged = n
	}
	err := b.update(false, func(tx *store.Tx) error {
		c, err := findConnector(tx, req.Name)
		if err != nil {
			return err
		}
		if n := tx.OutboxRecords(c.ID); n > 0 && !req.Force {
			return fmt.Errorf("connector %q has %d changes waiting for the sink; deliver them first "+
				"(neurons-connector run %q) or remove with --force to drop them", c.Name, n, c.Name)
		}
		out.Connector = b.describe(tx, c)
		return tx.DeleteConnector(c.ID)
	})
	if err != nil {
		return out, err
	}
	b.changed()
	if err := sink.ForgetCSV(filepath.Join(b.cfg.DataDir, sink.CSVStateDir), out.Connector.ID); err != nil {
		out.Warning = fmt.Sprintf("the CSV drop's state of the connector could not be removed (%v): delete those files by hand", err)
	}
	return out, nil
}

// List returns every connector.
func (b *Backend) List(context.Context) ([]api.Connector, error) {
	views := []api.Connector{}
	err := b.view(func(tx *store.Tx) error {
		if tx == nil {
			return nil
		}
		all, err := tx.Connectors()
		for _, c := range all {
			views = append(views, b.describe(tx, c))
		}
		return err
	})
	return views, err
}

// Show returns one connector.
func (b *Backend) Show(_ context.Context, name string) (api.Connector, error) {
	var v api.Connector
	err := b.view(func(tx *store.Tx) error {
		c, err := findConnector(tx, name)
		if err == nil {
			v = b.describe(tx, c)
		}
		return err
	})
	return v, err
}

// Test checks that a connector reaches its provider with its credentials,
// and that the provider answers as the tenant its runs read.
func (b *Backend) Test(ctx context.Context, name string) (string, error) {
	db, c, sec, err := b.openConnector(name, true)
	if err != nil {
		return "", err
	}
	// A few users the connector delivered, and the tenant its runs read:
	// what tells an empty answer or another org from a healthy one.
	known, state, err := knownUsers(db, c.ID)
	var sk engine.Sink
	if err == nil && b.cfg.Sink != nil {
		sk, err = b.cfg.Sink(db)
	}
	_ = db.Close() // the checks need the provider and the sink, not the database
	if err != nil {
		return "", err
	}
	prov, err := b.openProvider(c, sec)
	if err != nil {
		return "", err
	}
	checker, ok := prov.(engine.Checker)
	if !ok {
		return "", fmt.Errorf("connector %q: its provider has no check", c.Name)
	}
	msg, err := checker.Check(ctx, known)
	if err != nil {
		return "", fmt.Errorf("connector %q: %w", c.Name, err)
	}
	if id, ok := prov.(engine.Identifier); ok && state.Identity != "" {
		now, err := id.Identity(ctx)
		switch {
		case err != nil:
			return "", fmt.Errorf("connector %q: %w", c.Name, err)
		case now != "" && now != state.Identity:
			return "", fmt.Errorf("connector %q: the provider answers as %s, but the connector's earlier runs read %s: its "+
				"URL names another tenant now; fix it (neurons-connector connector edit %q), or, if the switch is meant, "+
				"let the next run's deletes through with: neurons-connector run %q --confirm-deletes",
				c.Name, now, state.Identity, c.Name, c.Name)
		case now != "":
			msg += fmt.Sprintf(" (%s, as in the connector's earlier runs)", now)
		}
	}
	// The sink too (Neurons' token, the CSV drop's folder): a wrong
	// secret, token URL or folder found now, not after a first run queued
	// every user.
	if chk, ok := sk.(sinkChecker); ok {
		smsg, err := chk.Check(ctx)
		if err != nil {
			return "", fmt.Errorf("connector %q reaches its provider, but the sink does not take it: %w", c.Name, err)
		}
		msg += "; " + smsg
	}
	return msg, nil
}

// sinkChecker is a sink that can be asked whether its settings work
// (sink.Neurons: a token; sink.CSV: a file in its folder).
type sinkChecker interface {
	Check(ctx context.Context) (string, error)
}

var (
	_ sinkChecker = (*sink.Neurons)(nil)
	_ sinkChecker = (*sink.CSV)(nil)
)

// knownUsers reads up to three users the connector delivered, and its
// sync state.
func knownUsers(db *store.DB, id string) (known []string, state store.SyncState, err error) {
	err = db.View(func(tx *store.Tx) error {
		errEnough := errors.New("enough")
		err := tx.ForEachSnapshot(id, func(uid string, s store.Snapshot) error {
			if s.Delivered() {
				known = append(known, uid)
			}
			if len(known) == 3 {
				return errEnough
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return err
		}
		state, err = tx.SyncState(id)
		return err
	})
	return known, state, err
}

// connectorView is c as list and show print it; the secret only as set or
// not set.
func connectorView(tx *store.Tx, sp *connector.Spec, c connector.Config) api.Connector {
	v := api.Connector{
		ID: c.ID, Name: c.Name, Type: string(c.Kind), Server: c.Server, URL: c.URL, ClientID: c.ClientID,
		UserStatuses: c.Statuses, Repeats: string(c.Schedule.Repeats), StartTime: c.Schedule.StartTime,
		TimeZone: c.Schedule.TimeZone, Schedule: c.Schedule.String(), Active: c.Active,
		RateShare: c.RateShare, FullEvery: c.FullEvery.String(), MaxDeletes: c.MaxDeletes.String(),
		Created: c.Created, Updated: c.Updated,
	}
	v.Secrets = map[string]string{}
	auth := sp.AuthOf(c) // nil for a kind or a way this version does not know: no secret to name
	if auth != nil && auth.Secret.Key != "" {
		state := "not set"
		if tx.HasSecret(c.ID, auth.Secret.Store) {
			state = "set"
		}
		v.Secrets[auth.Secret.Key] = state
	}
	opts := sp.Options
	if len(sp.Auth) > 1 && auth != nil {
		v.Options = append(v.Options, api.Setting{Flag: "auth", Label: "Sign-in", Value: auth.Name})
		opts = append(slices.Clone(opts), auth.Options...)
	}
	for _, o := range opts {
		if o.Get != nil {
			v.Options = append(v.Options, api.Setting{Flag: o.Flag, Label: o.Label, Value: o.Get(c)})
		}
	}
	return v
}

// describe is connectorView with c's spec; a connector of a kind this
// version does not know is shown without its kind's options.
func (b *Backend) describe(tx *store.Tx, c connector.Config) api.Connector {
	sp, err := b.spec(c)
	if err != nil {
		sp = &connector.Spec{Kind: c.Kind}
	}
	return connectorView(tx, sp, c)
}

// nameError turns a taken name into bad input naming --name.
func nameError(err error) error {
	var taken *store.NameTakenError
	if errors.As(err, &taken) {
		return api.BadInput("--name: %v", err)
	}
	return err
}
