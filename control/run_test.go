//go:build linux

package control

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"neurons-connector/api"
)

// slowRun is a backend whose run goes on, with no event, for a while: a
// run queued behind another, or waiting out a rate limit.
type slowRun struct {
	fakeBackend
	takes time.Duration
}

func (s *slowRun) Run(ctx context.Context, _ api.RunRequest, _ func(api.Event)) (api.RunResult, error) {
	select {
	case <-time.After(s.takes):
		return api.RunResult{Waiting: 7}, nil
	case <-ctx.Done():
		return api.RunResult{}, ctx.Err()
	}
}

// serveRun serves the local API of a fake backend on dir with run as the
// answer to /v1/run: a daemon as the command line sees it through its
// socket, whatever its process does.
func serveRun(t *testing.T, dir string, run http.HandlerFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := listen(ctx, dir, func(int) bool { return true }, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", Handler(&fakeBackend{}))
	mux.HandleFunc("POST /v1/run", run)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

// shortTimes makes a sign of life come every 20 ms and a run give up after
// 500 ms of silence (25 signs missed: a busy CI machine delays one by far
// less) and a grace of a second, for one test.
func shortTimes(t *testing.T) {
	t.Helper()
	beat, silence, grace := heartbeat, runSilence, runGrace
	heartbeat, runSilence, runGrace = 20*time.Millisecond, 500*time.Millisecond, time.Second
	t.Cleanup(func() { heartbeat, runSilence, runGrace = beat, silence, grace })
}

// A daemon whose process is stopped (kill -STOP, a paused machine) or
// hangs whole in the middle of a run keeps the connection open and sends
// nothing more: `run` used to wait for ever. It now gives up after a
// minute without the sign of life the daemon sends every 15 s, naming the
// fix (after a grace for a machine that was paused whole); a run that is only slow (waiting behind another, or for a rate
// limit) keeps its signs of life and is waited for, and a daemon of an
// earlier version, which sends none, is waited for as before.
func TestARunWhoseDaemonFallsSilentIsGivenUp(t *testing.T) { //nolint:paralleltest // sets the package's times
	shortTimes(t)
	t.Run("stopped", func(t *testing.T) {
		dir := t.TempDir()
		serveRun(t, dir, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("{\"alive\":true}\n{\"event\":{\"note\":\"starting\"}}\n"))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the process stopped: nothing more comes
		})
		cl := found(t, dir)
		var notes []string
		err := gaveUp(t, "Run", func() error {
			_, err := cl.Run(context.Background(), api.RunRequest{Name: "x"}, func(e api.Event) { notes = append(notes, e.Note) })
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "sent nothing for 500ms during the run") || !strings.Contains(err.Error(), "service restart") {
			t.Errorf("a silent daemon: %v", err)
		}
		if len(notes) != 1 || notes[0] != "starting" {
			t.Errorf("events before the silence: %q", notes)
		}
	})
	t.Run("woken late", func(t *testing.T) {
		// A machine paused whole wakes with the command's timer spent and
		// the service's next line a moment away: that line is taken.
		dir := t.TempDir()
		serveRun(t, dir, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("{\"alive\":true}\n"))
			w.(http.Flusher).Flush()
			time.Sleep(runSilence + runGrace/2)
			_, _ = w.Write([]byte("{\"result\":{\"waiting\":4}}\n"))
		})
		res, err := found(t, dir).Run(context.Background(), api.RunRequest{Name: "x"}, func(api.Event) {})
		if err != nil || res.Waiting != 4 {
			t.Errorf("a line within the grace after the silence: %+v %v", res, err)
		}
	})
	t.Run("slow but alive", func(t *testing.T) {
		dir := t.TempDir()
		serve(t, dir, func(int) bool { return true }, &slowRun{takes: 3 * runSilence})
		res, err := found(t, dir).Run(context.Background(), api.RunRequest{Name: "x"}, func(api.Event) {})
		if err != nil || res.Waiting != 7 {
			t.Errorf("a run three silences long that sends signs of life: %+v %v", res, err)
		}
	})
	t.Run("an earlier daemon", func(t *testing.T) {
		dir := t.TempDir()
		serveRun(t, dir, func(w http.ResponseWriter, _ *http.Request) {
			time.Sleep(2 * runSilence) // no signs of life: none promised
			_, _ = w.Write([]byte("{\"result\":{\"waiting\":2}}\n"))
		})
		res, err := found(t, dir).Run(context.Background(), api.RunRequest{Name: "x"}, func(api.Event) {})
		if err != nil || res.Waiting != 2 {
			t.Errorf("a daemon that promises no signs of life: %+v %v", res, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		serve(t, dir, func(int) bool { return true }, &slowRun{takes: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 2*runSilence)
		defer cancel()
		_, err := found(t, dir).Run(ctx, api.RunRequest{Name: "x"}, func(api.Event) {})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Ctrl-C during a run: %v", err)
		}
	})
}

// found is Find, which must find the daemon on dir.
func found(t *testing.T, dir string) *Client {
	t.Helper()
	cl, err := Find(context.Background(), dir)
	if err != nil || cl == nil {
		t.Fatalf("Find: %v %v", cl, err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// A run's stream that ends without its result says whether the service is
// gone (stopped or crashed mid-run: the run went with it, and the next run
// finishes it) or still answers (the connection alone broke). Under a real
// systemd a stop that outlasted the service's grace read only "lost the
// connection to the neurons-connector service: unexpected EOF".
func TestARunCutOffSaysWhetherTheServiceIsGone(t *testing.T) {
	start := func(w http.ResponseWriter) {
		_, _ = w.Write([]byte("{\"alive\":true}\n{\"event\":{\"note\":\"starting\"}}\n"))
		w.(http.Flusher).Flush()
	}
	for _, tc := range []struct {
		name string
		gone bool // the service's socket is gone when the stream breaks
		cut  bool // the stream breaks mid-answer rather than ending
		want []string
	}{
		{"stopped mid-answer", true, true, []string{"service stopped during the run (unexpected EOF)", "next run", "finishes it", "neurons-connector status"}},
		{"stopped after a whole answer", true, false, []string{"service stopped during the run (its answer ended without the run's result)", "finishes it"}},
		{"the connection alone broke", false, true, []string{"lost the connection", "(unexpected EOF)", "though the service still answers", "run again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			serveRun(t, dir, func(w http.ResponseWriter, _ *http.Request) {
				start(w)
				if tc.gone {
					// What a stopping daemon's listener leaves: no socket
					// to answer the command's question.
					if err := os.Remove(filepath.Join(dir, SocketFile)); err != nil {
						t.Error(err)
					}
				}
				if tc.cut {
					panic(http.ErrAbortHandler) // the connection closes mid-chunk
				}
			})
			var notes []string
			_, err := found(t, dir).Run(context.Background(), api.RunRequest{Name: "x"}, func(e api.Event) { notes = append(notes, e.Note) })
			if err == nil {
				t.Fatal("a run cut off reported no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			if len(notes) != 1 || notes[0] != "starting" {
				t.Errorf("events before the cut: %q", notes)
			}
		})
	}
}
