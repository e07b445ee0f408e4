package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client talks to the daemon that holds a data directory's database.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Find returns a client for the daemon running on dataDir, or nil when no
// daemon answers there (none was started, or it died and left daemon.json
// behind). Only a daemon that knows the directory's token counts.
func Find(ctx context.Context, dataDir string) (*Client, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, DaemonFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", DaemonFile, err)
	}
	var info DaemonInfo
	if json.Unmarshal(b, &info) != nil || info.Listen == "" {
		return nil, nil // a torn file from a crash: no daemon to trust
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if err != nil {
		return nil, fmt.Errorf("a daemon runs on this data directory but its control token is unreadable (run as the service's account, e.g. with sudo): %w", err)
	}
	c := &Client{base: "http://" + info.Listen, token: strings.TrimSpace(string(tok)), http: &http.Client{}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/v1/ping", nil)
	if err != nil {
		return nil, nil
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil
	}
	return c, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.http.Do(req)
}

// Exec runs a command line in the daemon, copying its output as it comes,
// and returns its exit code.
func (c *Client) Exec(ctx context.Context, req ExecRequest, stdout, stderr io.Writer) (int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/exec", body)
	if err != nil {
		return 0, fmt.Errorf("reach the neurons-connector service: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("the neurons-connector service answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var f frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return 0, fmt.Errorf("the neurons-connector service sent a malformed answer: %w", err)
		}
		switch {
		case f.Exit != nil:
			return *f.Exit, nil
		case f.Stream == 1:
			_, _ = io.WriteString(stdout, f.Data)
		case f.Stream == 2:
			_, _ = io.WriteString(stderr, f.Data)
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return 0, fmt.Errorf("lost the connection to the neurons-connector service: %w", err)
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return 0, errors.New("the neurons-connector service stopped before the command finished; see its log, and `neurons-connector status`")
}
