package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// SocketFile is not used on Windows, whose daemon listens on a named pipe
// of a name it draws (pipename.go); it names the pipe in messages.
const SocketFile = `\\.\pipe\neurons-connector-*`

// Listen opens the local API's named pipe. Its ACL admits only SYSTEM,
// the Administrators and the daemon's own account; winio creates it as the
// pipe's first instance, so a name someone else holds makes it fail
// instead of sharing the name. The daemon keeps the name it drew before;
// if another daemon holds it, this one must not start; if another process
// does (which may have taken it on purpose, to keep the service from
// starting), the daemon draws a new name, which that process cannot read,
// and records it once it serves (published).
func Listen(ctx context.Context, dataDir string, log *slog.Logger) (net.Listener, error) {
	me, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	cfg := &winio.PipeConfig{SecurityDescriptor: "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + me.String() + ")"}
	name, err := readPipeName(dataDir)
	fresh := err != nil // none yet, or a file to replace
	if fresh {
		if name, err = drawPipeName(); err != nil {
			return nil, err
		}
	}
	l, err := winio.ListenPipe(name, cfg)
	if err != nil {
		// Only a daemon that answers as one keeps this one from starting.
		// Anything else (a pipe that refuses this account, one kept busy,
		// another account's) is what someone may have done on purpose; a
		// probe that waits is cut short for the same reason.
		probe, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, held := dialName(probe, name)
		cancel()
		if held == nil {
			_ = c.Close()
			return nil, fmt.Errorf("open the local API pipe %s: %w; another neurons-connector daemon is running on %s", name, err, dataDir)
		}
		log.Warn(fmt.Sprintf("cannot open the local API pipe %s (%v), and no daemon answers on it (%v): another process may hold it; "+
			"the daemon takes a new name, which only administrators can read", name, err, held))
		if name, err = drawPipeName(); err != nil {
			return nil, err
		}
		if l, err = winio.ListenPipe(name, cfg); err != nil {
			return nil, fmt.Errorf("open the local API pipe %s: %w", name, err)
		}
		fresh = true
	}
	g := &guarded{Listener: l, check: func(net.Conn) error { return nil }, log: log}
	if !fresh {
		return g, nil
	}
	return &published{Listener: g, record: func() error { return recordPipeName(dataDir, name) }}, nil
}

// dial connects to the pipe the daemon recorded in dataDir and checks,
// before anything is sent, that the process serving it runs as SYSTEM,
// an administrator or this user: a pipe of that name opened by anyone
// else gets nothing.
func dial(ctx context.Context, dataDir string) (net.Conn, error) {
	name, err := readPipeName(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoDaemon
	}
	if err != nil {
		return nil, err
	}
	return dialName(ctx, name)
}

func dialName(ctx context.Context, name string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, errNoDaemon
	}
	if err != nil {
		return nil, fmt.Errorf("reach the daemon's pipe %s: %w", name, err)
	}
	if err := checkServer(c); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func checkServer(c net.Conn) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return errors.New("cannot tell who serves the daemon's pipe")
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return fmt.Errorf("cannot tell who serves the daemon's pipe: %w", err)
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Errorf("cannot inspect the process serving the daemon's pipe: %w", err)
	}
	defer func() { _ = windows.CloseHandle(p) }()
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("cannot inspect the process serving the daemon's pipe: %w", err)
	}
	defer func() { _ = tok.Close() }()
	user, err := tok.GetTokenUser()
	if err != nil {
		return err
	}
	me, err := currentUserSID()
	if err != nil {
		return err
	}
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		return err
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return err
	}
	if user.User.Sid.Equals(system) || user.User.Sid.Equals(me) {
		return nil
	}
	if ok, err := tok.IsMember(admins); err == nil && ok {
		return nil
	}
	return fmt.Errorf("the process serving the daemon's pipe runs as %s, neither SYSTEM, an administrator nor this user; it is not the daemon, and nothing was sent", user.User.Sid)
}

func currentUserSID() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("read this process's user: %w", err)
	}
	return user.User.Sid, nil
}
