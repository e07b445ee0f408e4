package control

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// On Windows the daemon listens on a named pipe, and pipe names are one
// namespace for the whole machine: any local user may create a pipe under
// any free name. A name derived from the data directory alone could be
// taken before the service starts by someone who wants it not to start
// (the daemon refuses to share a name). So the name holds 128 random bits,
// drawn by the daemon and written to pipeFile in the data directory, which
// only the daemon's account and administrators may read: the command line
// reads it there, and no one else can know it before the daemon listens.
// Unix sockets live in the data directory itself and need none of this.

// pipeFile is the file, in the data directory, that names the pipe.
const pipeFile = "daemon.pipe"

// pipePrefix begins every name the daemon draws.
const pipePrefix = `\\.\pipe\neurons-connector-`

// drawPipeName draws a pipe name.
func drawPipeName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return pipePrefix + hex.EncodeToString(b[:]), nil
}

// recordPipeName records name in dataDir, replacing the one recorded
// before; the file is written whole under another name and then renamed,
// so that a command never reads half a name.
func recordPipeName(dataDir, name string) error {
	path := filepath.Join(dataDir, pipeFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o600); err != nil {
		return fmt.Errorf("record the daemon's pipe name: %w", err)
	}
	if err := robustio.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("record the daemon's pipe name: %w", err)
	}
	return nil
}

// published is a listener on a pipe whose name it records at its first
// Accept. The daemon accepts once it holds the database: a daemon that
// stops before (a second one, which waited on the lock of a first one too
// busy to answer its probe) leaves the name of the one that runs.
type published struct {
	net.Listener
	once   sync.Once
	record func() error
	err    error
}

func (p *published) Accept() (net.Conn, error) {
	p.once.Do(func() { p.err = p.record() })
	if p.err != nil {
		return nil, p.err
	}
	return p.Listener.Accept()
}

// readPipeName is the pipe name recorded in dataDir; an error that
// errors.Is fs.ErrNotExist when none is (no daemon of this version has
// served there). A file that names anything but a pipe of this machine drawn
// as drawPipeName draws them is refused: a name such as \\host\pipe\x
// would send the command's connection, and the Windows credentials that
// go with it, to another machine.
func readPipeName(dataDir string) (string, error) {
	path := filepath.Join(dataDir, pipeFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(b))
	if !validPipeName(name) {
		return "", fmt.Errorf("%s does not hold a pipe name the daemon draws; stop the service, delete the file and start the service again", path)
	}
	return name, nil
}

func validPipeName(name string) bool {
	id, ok := strings.CutPrefix(name, pipePrefix)
	if !ok || len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}
