//go:build linux

package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"neurons-connector/api"
	"neurons-connector/fault"
)

// TestMain lets the test binary be a client of another user: with
// CONTROL_TEST_DIAL set it sends one request to that socket and prints the
// answer's status line.
func TestMain(m *testing.M) {
	if path := os.Getenv("CONTROL_TEST_DIAL"); path != "" {
		c, err := net.Dial("unix", path) //nolint:gosec // G704: the test's own socket
		if err != nil {
			fmt.Println("dial: " + err.Error())
			os.Exit(0)
		}
		_, _ = io.WriteString(c, "POST /v1/connectors/list HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeBackend records what it was asked.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string
	added []api.AddRequest
	// copyOf is what Backup writes; copyErr the error it ends with.
	copyOf  string
	copyErr error
}

func (f *fakeBackend) note(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

func (f *fakeBackend) Add(_ context.Context, req api.AddRequest) (api.Connector, error) {
	f.note("add")
	f.mu.Lock()
	f.added = append(f.added, req)
	f.mu.Unlock()
	if req.Changes.Name == nil {
		return api.Connector{}, api.BadInput("--name is required")
	}
	return api.Connector{Name: *req.Changes.Name, Type: string(req.Kind)}, nil
}
func (f *fakeBackend) Edit(context.Context, api.EditRequest) (api.Connector, error) {
	f.note("edit")
	return api.Connector{}, nil
}
func (f *fakeBackend) Remove(context.Context, api.RemoveRequest) (api.Removed, error) {
	f.note("remove")
	return api.Removed{}, nil
}
func (f *fakeBackend) List(context.Context) ([]api.Connector, error) {
	f.note("list")
	return []api.Connector{{Name: "A"}}, nil
}
func (f *fakeBackend) Show(context.Context, string) (api.Connector, error) {
	f.note("show")
	return api.Connector{}, errors.New("no such thing")
}
func (f *fakeBackend) Test(context.Context, string) (string, error) {
	f.note("test")
	return "fine", nil
}
func (f *fakeBackend) Close() error { return nil }
func (f *fakeBackend) Backup(_ context.Context, w io.Writer) (int64, error) {
	f.note("backup")
	n, err := io.WriteString(w, f.copyOf)
	if err != nil {
		return int64(n), err
	}
	return int64(n), f.copyErr
}
func (f *fakeBackend) Run(_ context.Context, req api.RunRequest, events func(api.Event)) (api.RunResult, error) {
	f.note("run")
	events(api.Event{Note: "starting " + req.Name})
	return api.RunResult{Waiting: 3}, nil
}
func (f *fakeBackend) Status(context.Context, string) ([]api.Status, error) {
	f.note("status")
	return nil, nil
}
func (f *fakeBackend) Explain(context.Context, api.ExplainRequest) (api.Explanation, error) {
	f.note("explain")
	return api.Explanation{}, nil
}
func (f *fakeBackend) Preview(context.Context, api.PreviewRequest) (api.Preview, error) {
	f.note("preview")
	return api.Preview{}, nil
}
func (f *fakeBackend) Export(context.Context, string) (api.Table, error) {
	f.note("export")
	return api.Table{CSV: []byte("target,source\n")}, nil
}

// failingWriter refuses every write, as a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left") }

// serve runs the local API of b on a private directory with allow.
func serve(t *testing.T, dir string, allow func(int) bool, b Backend) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := listen(ctx, dir, allow, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, b) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// The API round trip: typed requests, errors of class bad input, streamed
// run events, and the secret as bytes.
func TestClientAndServer(t *testing.T) {
	dir := t.TempDir()
	b := &fakeBackend{}
	serve(t, dir, func(int) bool { return true }, b)
	ctx := context.Background()
	cl, err := Find(ctx, dir)
	if err != nil || cl == nil {
		t.Fatalf("Find: %v %v", cl, err)
	}
	defer func() { _ = cl.Close() }()
	name := "Okta"
	c, err := cl.Add(ctx, api.AddRequest{Kind: "okta", Changes: api.Changes{Name: &name}, Secret: []byte("s3cret-bytes")})
	if err != nil || c.Name != "Okta" || string(b.added[0].Secret) != "s3cret-bytes" {
		t.Errorf("add: %+v %v", c, err)
	}
	if _, err := cl.Add(ctx, api.AddRequest{Kind: "okta"}); !errors.Is(err, fault.ErrBadInput) || !strings.Contains(err.Error(), "--name") {
		t.Errorf("a bad-input error lost its class: %v", err)
	}
	if _, err := cl.Show(ctx, "x"); err == nil || errors.Is(err, fault.ErrBadInput) || err.Error() != "no such thing" {
		t.Errorf("an operation error: %v", err)
	}
	var notes []string
	res, err := cl.Run(ctx, api.RunRequest{Name: "Okta"}, func(e api.Event) { notes = append(notes, e.Note) })
	if err != nil || res.Waiting != 3 || len(notes) != 1 || notes[0] != "starting Okta" {
		t.Errorf("run: %+v %v %q", res, err, notes)
	}
	if tab, err := cl.Export(ctx, "okta"); err != nil || string(tab.CSV) != "target,source\n" {
		t.Errorf("export: %+v %v", tab, err)
	}

	// A backup streams the copy to the command, which writes the file.
	b.copyOf = strings.Repeat("page", 64<<10)
	var copied bytes.Buffer
	if n, err := cl.Backup(ctx, &copied); err != nil || n != int64(len(b.copyOf)) || copied.String() != b.copyOf {
		t.Errorf("backup: %d bytes, %v", n, err)
	}
	// A copy this side cannot write (a full disk) says so, not that the
	// service broke off.
	if _, err := cl.Backup(ctx, failingWriter{}); err == nil || err.Error() != "no space left" {
		t.Errorf("a copy that cannot be written: %v", err)
	}
	// One that fails part-way is an error, not a short copy taken as whole.
	b.copyErr = errors.New("disk read error")
	copied.Reset()
	if _, err := cl.Backup(ctx, &copied); err == nil || !strings.Contains(err.Error(), "broke off") {
		t.Errorf("a backup cut short: %v", err)
	}
	// One that fails before it begins keeps its error and class.
	b.copyOf, b.copyErr = "", api.BadInput("there is no database yet")
	if _, err := cl.Backup(ctx, &copied); !errors.Is(err, fault.ErrBadInput) || !strings.Contains(err.Error(), "no database yet") {
		t.Errorf("a backup refused: %v", err)
	}
}

// The daemon reads no file and no variable for a client: a request that
// names one (a field the API does not define) is refused before the
// backend hears of it, and the command-line passthrough is gone.
func TestServerRefusesRequestsNamingFilesOrVariables(t *testing.T) {
	dir := t.TempDir()
	b := &fakeBackend{}
	serve(t, dir, func(int) bool { return true }, b)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx, dir)
	}}}
	for _, tc := range []struct{ path, body string }{
		{"/v1/connectors/add", `{"kind":"okta","changes":{"name":"X","url":"https://a.okta.com"},"tokenFile":"/etc/shadow"}`},
		{"/v1/connectors/add", `{"kind":"okta","changes":{"name":"X","tokenEnv":"NC_NEURONS_CLIENT_SECRET"}}`},
		{"/v1/connectors/edit", `{"name":"X","secretFile":"/root/.ssh/id_rsa"}`},
		{"/v1/mapping/export", `{"target":"okta","output":"/etc/passwd"}`},
		{"/v1/exec", `{"args":["mapping","check","/etc/shadow"]}`},
	} {
		resp, err := c.Post("http://d"+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, resp.StatusCode, raw)
		}
	}
	if len(b.calls) != 0 {
		t.Errorf("the backend was asked %v", b.calls)
	}
}

// A peer whose user the daemon does not admit is refused by the socket,
// with a reason, and the backend hears nothing.
func TestSocketRefusesAPeerOfAnotherUser(t *testing.T) {
	dir := t.TempDir()
	b := &fakeBackend{}
	me := os.Geteuid()
	serve(t, dir, func(uid int) bool { return uid != me }, b) // this test's user plays the stranger
	_, err := Find(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "refused this user") || !strings.Contains(err.Error(), "may not use this daemon") {
		t.Fatalf("Find as a refused user: %v", err)
	}
	if len(b.calls) != 0 {
		t.Errorf("the backend was asked %v", b.calls)
	}
}

// The same with a real process of another user (nobody), against the
// daemon's own rule (its user and root): possible only as root, which can
// start a process as another user.
func TestSocketRefusesTheUserNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another user; TestSocketRefusesAPeerOfAnotherUser covers the check")
	}
	base, err := os.MkdirTemp("", "nc-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	dir := filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := Listen(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = Serve(ctx, l, b) }()
	// Open the directory and socket to everyone, as a careless admin might:
	// the peer check alone must keep nobody out.
	sock := filepath.Join(dir, SocketFile)
	exe := filepath.Join(base, "client.test")
	bin, err := os.ReadFile(os.Args[0]) //nolint:gosec // G703: this test binary
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, bin, 0o755); err != nil { //nolint:gosec // G306: nobody must run it
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{base: 0o755, dir: 0o755, sock: 0o777} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	child := exec.Command(exe, "-test.run", "^$")
	child.Env = []string{"CONTROL_TEST_DIAL=" + sock}
	child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Run(); err != nil {
		t.Fatalf("the child as nobody: %v: %s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "HTTP/1.1 403") {
		t.Errorf("nobody's request was answered %q", out.String())
	}
	if len(b.calls) != 0 {
		t.Errorf("the backend was asked %v for nobody", b.calls)
	}
}

// The command line sends nothing to a socket in a directory others may
// write to (anyone could have put it there), nor to a file that is not a
// socket; a socket nobody answers (a crashed daemon's) means no daemon.
func TestClientTrustsOnlyAPrivateSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, SocketFile)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, c)
		got <- int(n)
	}()
	if err := os.Chmod(dir, 0o777); err != nil { //nolint:gosec // G302: the test makes it unsafe on purpose
		t.Fatal(err)
	}
	if cl, err := Find(context.Background(), dir); cl != nil || err == nil || !strings.Contains(err.Error(), "written by other users") {
		t.Errorf("Find in a world-writable directory: %v %v", cl, err)
	}
	select {
	case n := <-got:
		t.Errorf("the impostor's socket received %d bytes", n)
	case <-time.After(100 * time.Millisecond):
	}
	_ = l.Close()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A socket left behind with nobody listening.
	l2, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l2.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = l2.Close()
	if cl, err := Find(context.Background(), dir); cl != nil || err != nil {
		t.Errorf("Find on a stale socket: %v %v", cl, err)
	}
	// The daemon replaces it.
	serve(t, dir, func(int) bool { return true }, &fakeBackend{})
	if cl, err := Find(context.Background(), dir); cl == nil || err != nil {
		t.Errorf("Find after the daemon replaced the stale socket: %v %v", cl, err)
	}
	// A plain file is not a socket.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, SocketFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(context.Background(), other); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Find on a plain file: %v", err)
	}
}

// A second daemon on the same directory stops at the socket.
func TestSecondDaemonIsRefused(t *testing.T) {
	dir := t.TempDir()
	serve(t, dir, func(int) bool { return true }, &fakeBackend{})
	if _, err := Listen(context.Background(), dir, nil); err == nil || !strings.Contains(err.Error(), "another neurons-connector daemon") {
		t.Errorf("second Listen: %v", err)
	}
	raw, _ := json.Marshal(wireError{Error: "x"})
	if !bytes.Contains(refusal("x"), raw) {
		t.Error("refusal does not carry the reason")
	}
}

// A daemon that takes connections but answers nothing (hung, stopped with
// SIGSTOP, a VM paused) holds its socket: the kernel still accepts. A
// command says so after a while instead of waiting for ever, and names the
// way out.
func TestAHungDaemonIsReportedNotWaitedFor(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() }) // read nothing, answer nothing
		}
	}()
	defer func(d time.Duration) { pingTimeout = d }(pingTimeout)
	pingTimeout = 200 * time.Millisecond
	err = gaveUp(t, "Find", func() error { _, err := Find(context.Background(), dir); return err })
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "service restart") {
		t.Errorf("Find on a hung daemon: %v", err)
	}
}

// gaveUp runs call and returns its error, failing the test if call has not
// returned within a minute: the guard against a test that hangs, not a
// speed target.
func gaveUp(t *testing.T, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s still waits on a service that never answers", what)
		return nil
	}
}

// stuck answers the ping but never a status: a service deadlocked past
// its accept loop, which the ping cannot tell.
type stuck struct{ fakeBackend }

func (s *stuck) Status(ctx context.Context, _ string) ([]api.Status, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// status, list and show are what scripts run from cron to watch the
// service: a service stuck inside such a request is reported after a
// while, not waited for by every script run until the host runs out of
// processes.
func TestAStuckStatusIsReportedNotWaitedFor(t *testing.T) {
	dir := t.TempDir()
	serve(t, dir, func(int) bool { return true }, &stuck{})
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 200 * time.Millisecond
	cl, err := Find(context.Background(), dir)
	if err != nil || cl == nil {
		t.Fatalf("Find: %v %v", cl, err)
	}
	defer func() { _ = cl.Close() }()
	err = gaveUp(t, "Status", func() error { _, err := cl.Status(context.Background(), ""); return err })
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "service restart") {
		t.Errorf("a stuck status: %v", err)
	}
	if _, err := cl.List(context.Background()); err != nil { // the rest still answers
		t.Errorf("list after a stuck status: %v", err)
	}
}
