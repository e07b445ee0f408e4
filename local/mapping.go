package local

import (
	"bytes"
	"context"
	"errors"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/fault"
	"neurons-connector/store"
)

// Export returns the effective mapping table of a kind ("okta") or of a
// connector named target, as CSV.
func (b *Backend) Export(_ context.Context, target string) (api.Table, error) {
	src, err := b.mappingSource()
	if err != nil {
		return api.Table{}, err
	}
	kind, name, err := b.exportTarget(target)
	if err != nil {
		return api.Table{}, err
	}
	table, err := src.Load(kind, name)
	if err != nil {
		return api.Table{}, api.MarkBadInput(err)
	}
	var buf bytes.Buffer
	if err := table.Export(&buf); err != nil {
		return api.Table{}, err
	}
	return api.Table{Kind: kind, File: table.File, Rows: len(table.Rows()), CSV: buf.Bytes()}, nil
}

// exportTarget resolves a connector type ("okta") or a connector name.
func (b *Backend) exportTarget(arg string) (connector.Kind, string, error) {
	specs := b.cfg.Drivers.Specs()
	if sp, err := specs.Parse(arg); err == nil {
		return sp.Kind, "", nil
	}
	var c connector.Config
	err := b.view(func(tx *store.Tx) error {
		var err error
		c, err = findConnector(tx, arg)
		return err
	})
	if errors.Is(err, fault.ErrBadInput) {
		return "", "", api.BadInput("%q is neither a connector type (%s) nor a connector's name; see the names with: neurons-connector connector list",
			arg, specs.Names())
	}
	if err != nil {
		return "", "", err
	}
	return c.Kind, c.Name, nil
}
