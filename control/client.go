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
	"strings"
	"sync/atomic"
	"time"

	"neurons-connector/api"
)

// pingTimeout bounds the first exchange with the daemon, which answers a
// ping at once unless it hangs: the socket still takes connections then.
var pingTimeout = 10 * time.Second

// readTimeout bounds the requests that only read (status, list, show),
// which scripts run unattended: a service stuck inside one (a deadlock the
// ping cannot see) is reported, not waited for by every script run.
var readTimeout = time.Minute

// runSilence is how long a run may go without a frame once the daemon has
// shown that it sends a sign of life every heartbeat: longer, its process
// is stopped (kill -STOP, a paused machine) or hangs whole, and `run`
// stops waiting instead of waiting for ever (cron jobs piled up).
var runSilence = time.Minute

// runGrace is how long a run waits for a line after runSilence has passed
// before it gives up: a machine that was paused whole wakes with every
// timer spent, its service's next sign of life a moment away.
var runGrace = 5 * time.Second

// errNoDaemon is dial's "nobody answers here".
var errNoDaemon = errors.New("no daemon answers on this data directory")

// Client is the command line's side of the local API: the same requests
// the local backend answers, sent to the daemon that holds the database.
type Client struct {
	http *http.Client
	dir  string // the data directory, for messages
}

// Find returns a client of the daemon running on dataDir, or nil when none
// answers there (none was started, or one crashed and left its socket).
// It fails, sending nothing, when something other than a daemon of root or
// this user could be behind the socket.
func Find(ctx context.Context, dataDir string) (*Client, error) {
	c, err := dial(ctx, dataDir)
	if errors.Is(err, errNoDaemon) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Every connection is checked as the first was; the first is used
	// once, so that the check and the first request see the same peer.
	var first atomic.Pointer[net.Conn]
	first.Store(&c)
	cl := &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if c := first.Swap(nil); c != nil {
				return *c, nil
			}
			return dial(ctx, dataDir)
		},
		MaxIdleConns: 1, DisableCompression: true,
	}}, dir: dataDir}
	var pong map[string]bool
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := cl.get(pctx, "/v1/ping", &pong); err != nil {
		if pctx.Err() != nil && ctx.Err() == nil {
			cl.http.CloseIdleConnections()
			return nil, fmt.Errorf("the neurons-connector service on %s took the connection but did not answer within %s: "+
				"it hangs, or its process is stopped; restart it (neurons-connector service restart)", dataDir, pingTimeout)
		}
		return nil, err
	}
	return cl, nil
}

// Close closes the client's idle connection.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Add adds a connector in the daemon.
func (c *Client) Add(ctx context.Context, req api.AddRequest) (out api.Connector, err error) {
	return out, c.post(ctx, "/v1/connectors/add", req, &out)
}

// Edit changes a connector in the daemon.
func (c *Client) Edit(ctx context.Context, req api.EditRequest) (out api.Connector, err error) {
	return out, c.post(ctx, "/v1/connectors/edit", req, &out)
}

// Remove removes a connector in the daemon.
func (c *Client) Remove(ctx context.Context, req api.RemoveRequest) (out api.Removed, err error) {
	return out, c.post(ctx, "/v1/connectors/remove", req, &out)
}

// List lists the connectors.
func (c *Client) List(ctx context.Context) (out []api.Connector, err error) {
	return out, c.read(ctx, "/v1/connectors/list", struct{}{}, &out)
}

// Show returns one connector.
func (c *Client) Show(ctx context.Context, name string) (out api.Connector, err error) {
	return out, c.read(ctx, "/v1/connectors/show", nameRequest{name}, &out)
}

// cutOff says why a run's stream ended without its last line, asking the
// socket whether a service still answers: a service that stopped or
// crashed took the run with it, which its next run finishes; a connection
// that broke alone leaves the run to stop in the service. Under a real
// systemd a stop that outlasted the service's grace read as a bare "lost
// the connection: unexpected EOF".
func (c *Client) cutOff(ctx context.Context, how error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the command stopped it: the run reports that
	}
	ctx, cancel := context.WithTimeout(ctx, cutOffPing)
	defer cancel()
	// Asked on a new connection: the kept one may be the stopping
	// service's, which answers until it closes.
	c.http.CloseIdleConnections()
	var pong map[string]bool
	err := c.get(ctx, "/v1/ping", &pong)
	if errors.Is(err, errNoDaemon) {
		return fmt.Errorf("the neurons-connector service stopped during the run (%v), and the run with it: what it queued is kept, "+
			"and the next run, yours or the service's scheduled one, finishes it; see the service's log, and `neurons-connector status`", how)
	}
	if err != nil {
		return fmt.Errorf("lost the connection to the neurons-connector service during the run (%v), and the service does not answer (%v); "+
			"see its log, and `neurons-connector status`", how, err)
	}
	return fmt.Errorf("lost the connection to the neurons-connector service during the run (%v), though the service still answers: "+
		"the run stops there once it sees this command gone; see `neurons-connector status`, and run again", how)
}

// cutOffPing bounds cutOff's question: a service that is there answers a
// ping at once.
var cutOffPing = 2 * time.Second

// Test checks a connector's provider from the daemon.
func (c *Client) Test(ctx context.Context, name string) (out string, err error) {
	return out, c.post(ctx, "/v1/connectors/test", nameRequest{name}, &out)
}

// Status returns the daemon's status of one connector or all.
func (c *Client) Status(ctx context.Context, name string) (out []api.Status, err error) {
	return out, c.read(ctx, "/v1/status", nameRequest{name}, &out)
}

// Export returns a mapping table as the daemon's settings make it.
func (c *Client) Export(ctx context.Context, target string) (out api.Table, err error) {
	return out, c.post(ctx, "/v1/mapping/export", exportRequest{target}, &out)
}

// Explain explains one user, in the daemon.
func (c *Client) Explain(ctx context.Context, req api.ExplainRequest) (out api.Explanation, err error) {
	return out, c.post(ctx, "/v1/explain", req, &out)
}

// Preview applies an edited table to a few users, in the daemon.
func (c *Client) Preview(ctx context.Context, req api.PreviewRequest) (out api.Preview, err error) {
	return out, c.post(ctx, "/v1/mapping/preview", req, &out)
}

// Run runs a connector on the daemon's worker, passing its events on as
// they come. A daemon that sends signs of life (this version's) and then
// falls silent for runSilence is given up on; the run stops in the daemon
// when it sees the connection gone.
func (c *Client) Run(ctx context.Context, req api.RunRequest, events func(api.Event)) (api.RunResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.send(ctx, "/v1/run", req)
	if err != nil {
		return api.RunResult{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	frames := make(chan frame)
	ended := make(chan error, 1) // why the stream ended without a last line
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			var f frame
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				ended <- fmt.Errorf("the neurons-connector service sent a malformed answer: %w", err)
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
		if err := sc.Err(); err != nil {
			ended <- c.cutOff(ctx, err)
			return
		}
		ended <- c.cutOff(ctx, errors.New("its answer ended without the run's result"))
	}()
	silence := time.NewTimer(runSilence)
	silence.Stop()
	defer silence.Stop()
	var quiet <-chan time.Time // armed once the daemon has shown it sends signs of life
	for {
		var f frame
		select {
		case f = <-frames:
		case err := <-ended:
			if ctx.Err() != nil {
				return api.RunResult{}, ctx.Err()
			}
			return api.RunResult{}, err
		case <-ctx.Done():
			return api.RunResult{}, ctx.Err()
		case <-quiet:
			// A machine paused whole (a VM, a laptop) or this command
			// stopped (Ctrl-Z) wakes with the timer spent and the service's
			// lines on their way: a moment for them before giving up.
			select {
			case f = <-frames:
			case <-time.After(runGrace):
				return api.RunResult{}, fmt.Errorf("the neurons-connector service on %s sent nothing for %s during the run, though it sends a sign "+
					"of life every %s: its process is stopped or hangs; the run stops when the service sees this command gone. "+
					"See `neurons-connector status`, and restart the service if it does not answer (neurons-connector service restart)",
					c.dir, runSilence, heartbeat)
			}
		}
		if f.Alive {
			quiet = silence.C
		}
		if quiet != nil {
			silence.Reset(runSilence)
		}
		switch {
		case f.Event != nil:
			events(*f.Event)
		case f.Result != nil:
			return *f.Result, nil
		case f.Err != nil:
			return api.RunResult{}, fromWire(*f.Err)
		}
	}
}

// Backup copies the database the daemon holds to w, as it streams it.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	resp, err := c.send(ctx, "/v1/database/backup", struct{}{})
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	dst := &writeTracker{w: w}
	n, err := io.Copy(dst, resp.Body)
	switch {
	case dst.err != nil:
		return n, dst.err // writing the copy failed here (a full disk), not the service
	case err != nil:
		return n, fmt.Errorf("the copy from the neurons-connector service broke off after %d bytes: %w", n, err)
	}
	return n, nil
}

// writeTracker keeps the error of its writer's last write.
type writeTracker struct {
	w   io.Writer
	err error
}

func (t *writeTracker) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://neurons-connector"+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// read is post for a request that only reads, within readTimeout.
func (c *Client) read(ctx context.Context, path string, body, out any) error {
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	err := c.post(rctx, path, body, out)
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("the neurons-connector service did not answer %s within %s: it may be stuck; "+
			"restart it (neurons-connector service restart)", strings.Replace(strings.TrimPrefix(path, "/v1/"), "connectors/", "connector ", 1), readTimeout)
	}
	return err
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	resp, err := c.send(ctx, path, body)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return json.NewDecoder(resp.Body).Decode(out)
}

// send posts body and returns a successful response; an error answer is
// turned back into the error the daemon had.
func (c *Client) send(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://neurons-connector"+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the neurons-connector service: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }()
		return nil, answerError(resp)
	}
	return resp, nil
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach the neurons-connector service: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func answerError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var we wireError
	if json.Unmarshal(raw, &we) != nil || we.Error == "" {
		return fmt.Errorf("the neurons-connector service answered %s: %.200s", resp.Status, bytes.TrimSpace(raw))
	}
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("the neurons-connector service refused this user: %s", we.Error)
	}
	return fromWire(we)
}

// RemoteError is an error the daemon reported; Lines marks a message of
// one problem per line (settings, mapping tables), to print as is.
type RemoteError struct {
	Msg   string
	Lines bool
}

func (e *RemoteError) Error() string { return e.Msg }

func fromWire(we wireError) error {
	err := error(&RemoteError{Msg: we.Error, Lines: we.Lines})
	if we.BadInput {
		err = api.MarkBadInput(err)
	}
	return err
}
