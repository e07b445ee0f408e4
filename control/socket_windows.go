package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// SocketFile is not used on Windows, whose daemon listens on a named pipe
// derived from the data directory; it names the pipe in messages.
const SocketFile = `\\.\pipe\neurons-connector-*`

// pipeName is the daemon's pipe for dataDir: one per data directory, so
// that two daemons (and tests) on different directories do not meet.
func pipeName(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(strings.ToLower(abs)))
	return `\\.\pipe\neurons-connector-` + hex.EncodeToString(sum[:8])
}

// Listen opens the local API's named pipe. Its ACL admits only SYSTEM,
// the Administrators and the daemon's own account; winio creates it as the
// pipe's first instance, so a pipe an impostor opened first makes this fail
// instead of sharing the name.
func Listen(_ context.Context, dataDir string, log *slog.Logger) (net.Listener, error) {
	me, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	sddl := "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + me.String() + ")"
	l, err := winio.ListenPipe(pipeName(dataDir), &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("open the local API pipe %s: %w; is another neurons-connector daemon running on %s?", pipeName(dataDir), err, dataDir)
	}
	return &guarded{Listener: l, check: func(net.Conn) error { return nil }, log: log}, nil
}

// dial connects to the daemon's pipe and checks, before anything is sent,
// that the process serving it runs as SYSTEM, an administrator or this
// user: a pipe of the same name opened by anyone else gets nothing.
func dial(ctx context.Context, dataDir string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, pipeName(dataDir))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, errNoDaemon
	}
	if err != nil {
		return nil, fmt.Errorf("reach the daemon's pipe %s: %w", pipeName(dataDir), err)
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
