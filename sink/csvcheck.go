package sink

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"neurons-connector/internal/diskfull"
	"neurons-connector/internal/private"
)

// Check says whether the drop's folder takes a file (connector test): a
// folder that is a file, or that the service's account may not write (as
// root beside the service too: private.WritableFor), or
// a full disk, found now rather than at the end of a first run that
// queued every user. It writes a file there and removes it; a folder that
// does not exist yet is not created (the first run does that), its nearest
// existing parent is tried instead.
func (c *CSV) Check(context.Context) (string, error) {
	if err := private.WritableFor(c.Dir, c.State); err != nil {
		return "", fmt.Errorf("the CSV drop cannot write to %s: NC_CSV_DIR: %w", c.Dir, err) // as write refuses it
	}
	dir := c.Dir
	for {
		st, err := os.Stat(dir)
		switch {
		case err == nil && st.IsDir():
		case err == nil:
			return "", c.unwritable(dir, fmt.Errorf("%s is a file, not a folder", dir))
		case errors.Is(err, fs.ErrNotExist) && filepath.Dir(dir) != dir:
			dir = filepath.Dir(dir)
			continue
		default:
			return "", c.unwritable(dir, err)
		}
		break
	}
	f, err := os.CreateTemp(dir, ".neurons-connector-check.*")
	if err != nil {
		return "", c.unwritable(dir, err)
	}
	name := f.Name()
	_, err = f.WriteString("check\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return "", c.unwritable(dir, err)
	}
	return "the CSV drop can write to " + c.Dir, nil
}

// unwritable says that the drop cannot write in dir, and the fix.
func (c *CSV) unwritable(dir string, err error) error {
	if why, ok := diskfull.Describe(err, dir); ok {
		return fmt.Errorf("the CSV drop cannot write to %s: %s (%w)", c.Dir, why, err)
	}
	return fmt.Errorf("the CSV drop cannot write to %s (%w): check NC_CSV_DIR, and that the account the connector runs as may write there", c.Dir, err)
}
