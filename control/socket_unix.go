//go:build !windows

package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"neurons-connector/internal/owndir"
	"neurons-connector/internal/private"
)

// SocketFile is the local API's socket in the data directory.
const SocketFile = "daemon.sock"

// maxSocketPath is the longest socket path every Unix accepts (sun_path).
const maxSocketPath = 104

// Listen opens the local API's socket in dataDir, which must be private
// to the daemon's user. Peers whose user is neither the daemon's nor root
// are refused with a reason, whatever the file's mode says.
func Listen(ctx context.Context, dataDir string, log *slog.Logger) (net.Listener, error) {
	me := os.Geteuid()
	return listen(ctx, dataDir, func(uid int) bool { return uid == me || uid == 0 }, log)
}

func listen(ctx context.Context, dataDir string, allow func(uid int) bool, log *slog.Logger) (net.Listener, error) {
	if err := checkPrivate(dataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, SocketFile)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("the socket path %s is %d bytes long, more than the %d a Unix socket allows; set NC_DATA_DIR to a shorter path", path, len(path), maxSocketPath)
	}
	if _, err := os.Lstat(path); err == nil {
		// A socket that answers is another daemon's; one that does not
		// was left by a daemon that crashed.
		if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "unix", path); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("another neurons-connector daemon runs on %s (its socket answers); stop it first (neurons-connector service stop)", dataDir)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("open the local API socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("restrict the local API socket %s: %w", path, err)
	}
	check := func(c net.Conn) error {
		uid, err := peerUID(c)
		if err != nil {
			return fmt.Errorf("cannot tell the peer's user: %w", err)
		}
		if !allow(uid) {
			return fmt.Errorf("user %d may not use this daemon: only its own user and root may", uid)
		}
		return nil
	}
	return &guarded{Listener: l, check: check, log: log}, nil
}

// dial connects to the daemon of dataDir after checking that nobody but
// root or this user could have put the socket there, and that the process
// answering runs as root or as this user: only then may a request (a
// secret) go out. No socket, or one nobody answers, is errNoDaemon.
func dial(ctx context.Context, dataDir string) (net.Conn, error) {
	path := filepath.Join(dataDir, SocketFile)
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errNoDaemon
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("the data directory %s is not readable by this user; run the command as the service's account (e.g. with sudo)", dataDir)
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSocket == 0:
		return nil, fmt.Errorf("%s is not a socket; remove it, it is not the daemon's", path)
	}
	if err := trusted(dataDir); err != nil {
		return nil, err
	}
	if err := trusted(path); err != nil {
		return nil, err
	}
	c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "unix", path)
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
		return nil, errNoDaemon // left by a daemon that crashed
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("this user may not use the daemon's socket %s; run the command as the service's account (e.g. with sudo)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reach the daemon's socket %s: %w", path, err)
	}
	uid, err := peerUID(c)
	if err == nil && !private.OwnerTrusted(uid) {
		err = fmt.Errorf("the process behind %s runs as user %d, neither root, this user nor the service's account; it is not the daemon, and nothing was sent", path, uid)
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// trusted checks that path belongs to root or this user and that nobody
// else may write to it (so nobody else can have planted or replaced it).
func trusted(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot read the owner of %s", path)
	}
	if !private.OwnerTrusted(int(st.Uid)) {
		return fmt.Errorf("%s belongs to user %d, neither root, this user nor the service's account; refusing to talk to a daemon there", path, st.Uid)
	}
	if fi.IsDir() && fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by other users (mode %s); make it private (chmod 700) before using it", path, fi.Mode().Perm())
	}
	return nil
}

// checkPrivate is the daemon's side of trusted: its data directory must be
// its own, for nobody else to reach or replace the socket.
func checkPrivate(dir string) error { return owndir.AdoptData(dir) }

// withFD runs fn on the descriptor of a Unix socket connection.
func withFD(c net.Conn, fn func(fd int) error) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
