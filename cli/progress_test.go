package cli

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schollz/progressbar/v3"

	"neurons-connector/api"
	"neurons-connector/engine"
)

// A log line written while the progress line shows starts on a line of its
// own: the progress line is cleared first.
func TestLogLinesEndTheProgressLine(t *testing.T) {
	buf := &lockedBuffer{}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(buf), progressbar.OptionThrottle(0))
	defer func() { _ = bar.Exit() }() // its spinner renders from a goroutine of its own
	bar.Describe("1200 users")
	_ = bar.Add(1)
	lw := newLineWriter(buf)
	lw.show(bar)
	fmt.Fprintln(lw, `level=WARN msg="okta rate limit hit"`)
	out := buf.String()
	i := strings.Index(out, "level=WARN")
	if i < 0 || !strings.HasSuffix(out[:i], "\r") {
		t.Errorf("the log line was glued to the progress line: %q", out)
	}
	lw.show(nil)
	plain := &lockedBuffer{}
	lw = newLineWriter(plain)
	fmt.Fprintln(lw, "plain\x1b[2J")
	if plain.String() != "plain\\x1b[2J\n" {
		t.Errorf("without a progress line: %q", plain.String())
	}
}

// lockedBuffer is a buffer that the bar's goroutine and the test may
// write at once, as they write a terminal.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The progress line says what a run is doing before its first page (the
// sweep's calls) and what it waits for, until when.
func TestProgressTextShowsTheWait(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 30, 0, time.UTC)
	got := progressText(engine.Progress{Stats: engine.Stats{Calls: 17, RateLimitWait: 12 * time.Second,
		WaitingFor: "okta's apps rate limit", WaitingUntil: now.Add(23 * time.Second)}}, 5*time.Second, now)
	for _, want := range []string{"reading (17 API calls so far)", "12s waited on rate limits", "waiting for okta's apps rate limit until", "(23s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	got = progressText(engine.Progress{Pages: 3, Fetched: 600, Stats: engine.Stats{Calls: 40}}, 2*time.Second, now)
	if !strings.HasPrefix(got, "600 users (3 pages, 300/s)") || strings.Contains(got, "waiting") {
		t.Errorf("%q", got)
	}
}

// Counts of one read as one: a small tenant's run said "1 users read" and
// "1 API calls".
func TestCountsOfOneAreSingular(t *testing.T) {
	got := progressText(engine.Progress{Pages: 1, Fetched: 1, Upserts: 1, Stats: engine.Stats{Calls: 1}}, time.Second, time.Now())
	if want := "1 user (1 page, 1/s), 1 upsert, 0 deletes, 1 API call"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	var buf bytes.Buffer
	tr := &tree{env: Env{Stderr: &buf}}
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tr.summary(api.Run{Mode: "full", ModeReason: "first run", Result: "ok", Start: start, End: start.Add(time.Second),
		Fetched: 1, Upserted: 1, Held: 1, APICalls: 1, RateLimitWaits: 1, RateLimitWait: "1s"})
	if want := "1 user read, 1 upserted, 1 delete held; 1 API call, 1 rate-limit wait (1s)"; !strings.Contains(buf.String(), want) {
		t.Errorf("summary %q lacks %q", buf.String(), want)
	}
	for n, want := range map[int]string{0: "0 batches", 1: "1 batch", 2: "2 batches"} {
		if got := count(n, "batch"); got != want {
			t.Errorf("count(%d, batch) = %q", n, got)
		}
	}
}
