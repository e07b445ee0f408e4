package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/sink/sinktest"
)

// The benchmark runs the real binary: simulators in one child process, each
// sync in another, so that a sync's wall time and peak memory are its own.

func (a *app) benchCmd() *cobra.Command {
	var sizes string
	var changed float64
	cmd := &cobra.Command{
		Use:   "bench [--sizes 10000,100000,1000000]",
		Short: "Measure sync speed and memory on the built-in simulators",
		Long: `Measure the sync on the built-in simulators, over loopback, with rate limits off:
for each tenant size, a full run and then an incremental run after a share of the
users changed. Each run is this binary's "run" command in a process of its own,
timed from start to exit, its peak resident memory read from the OS; the
simulators and the fake sink run in another process. Prints one table.`,
		Example:     `  neurons-connector bench --sizes 100000`,
		Args:        needArgs(0, "no arguments"),
		Annotations: map[string]string{skipSettings: "yes"},
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			var ns []int
			for _, s := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usagef("--sizes: %q is not a list of user counts, e.g. 10000,100000", sizes)
				}
				ns = append(ns, n)
			}
			if changed <= 0 || changed > 100 {
				return usagef("--changed: give a percentage from 0 to 100 (default 1)")
			}
			var rows []benchRow
			for _, n := range ns {
				r, err := a.benchSize(cmd.Context(), n, changed)
				if err != nil {
					return err
				}
				rows = append(rows, r...)
			}
			return writeBenchTable(a.stdout, rows)
		}),
	}
	cmd.Flags().StringVar(&sizes, "sizes", "10000,100000,1000000", "tenant sizes, comma-separated")
	cmd.Flags().Float64Var(&changed, "changed", 1, "percentage of users changed before the incremental run")
	return cmd
}

type benchRow struct {
	Provider string
	Users    int
	Mode     string
	Wall     time.Duration
	Fetched  int
	Upserted int
	Calls    int
	PeakRSS  int64 // bytes; 0 where the OS does not tell
}

// benchSize measures one tenant size: a full run, then an incremental one.
func (a *app) benchSize(ctx context.Context, n int, changed float64) ([]benchRow, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	serve := exec.CommandContext(ctx, self, "bench-serve", "--users", strconv.Itoa(n))
	serve.Stderr = a.stderr
	in, err := serve.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := serve.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := serve.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = in.Close(); _ = serve.Wait() }()
	var urls benchURLs
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&urls); err != nil {
		return nil, fmt.Errorf("bench-serve did not start: %w", err)
	}
	dir, err := os.MkdirTemp("", "nc-bench-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	env := append(os.Environ(), "NC_DATA_DIR="+dir, "NC_SINK=neurons", "NC_NEURONS_URL="+urls.Sink,
		"NC_NEURONS_TOKEN_URL="+urls.Sink+sinktest.TokenPath, "NC_NEURONS_CLIENT_ID=sink-client",
		"NC_NEURONS_CLIENT_SECRET=sink-secret", "NC_LOG_LEVEL=warn", "BENCH_TOKEN="+benchToken, "NC_SECRET_KEY=")
	if _, err := benchExec(ctx, self, env, "connector", "add", "okta", "--name", "Bench", "--url", urls.Okta,
		"--token-env", "BENCH_TOKEN", "--user-status", strings.Join(oktatest.Statuses, ",")); err != nil {
		return nil, err
	}
	var rows []benchRow
	for _, mode := range []string{"full", "incremental"} {
		if mode == "incremental" {
			k := max(1, int(float64(n)*changed/100))
			resp, err := http.Post(urls.Control+"/mutate?n="+strconv.Itoa(k), "text/plain", nil)
			if err != nil {
				return nil, err
			}
			_ = resp.Body.Close()
		}
		fmt.Fprintf(a.stderr, "bench: %d users, %s run...\n", n, mode)
		res, err := benchExec(ctx, self, env, "run", "Bench")
		if err != nil {
			return nil, err
		}
		st, err := benchExec(ctx, self, env, "status", "Bench", "--json")
		if err != nil {
			return nil, err
		}
		var v statusView
		if err := json.Unmarshal(st.stdout, &v); err != nil || v.LastRun == nil {
			return nil, fmt.Errorf("bench: read status: %v", err)
		}
		rows = append(rows, benchRow{Provider: "okta", Users: n, Mode: v.LastRun.Mode, Wall: res.wall,
			Fetched: v.LastRun.Fetched, Upserted: v.LastRun.Upserted, Calls: v.LastRun.APICalls, PeakRSS: res.peakRSS})
	}
	return rows, nil
}

const benchToken = "bench-okta-token"

type benchURLs struct{ Okta, Sink, Control string }

type benchResult struct {
	wall    time.Duration
	peakRSS int64
	stdout  []byte
}

func benchExec(ctx context.Context, self string, env []string, args ...string) (benchResult, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := benchResult{wall: time.Since(start), stdout: stdout.Bytes()}
	if cmd.ProcessState != nil {
		res.peakRSS = peakRSS(cmd.ProcessState)
	}
	if err != nil {
		return res, fmt.Errorf("bench: %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

func writeBenchTable(w io.Writer, rows []benchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tusers\trun\twall\tusers/s\tupserted\tAPI calls\tpeak RSS\t")
	for _, r := range rows {
		rss := "n/a"
		if r.PeakRSS > 0 {
			rss = fmt.Sprintf("%d MB", r.PeakRSS>>20)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.2fs\t%.0f\t%d\t%d\t%s\t\n", r.Provider, r.Users, r.Mode, r.Wall.Seconds(),
			float64(r.Fetched)/r.Wall.Seconds(), r.Upserted, r.Calls, rss)
	}
	return tw.Flush()
}

// benchServeCmd runs the simulators for bench in their own process.
func (a *app) benchServeCmd() *cobra.Command {
	var users int
	cmd := &cobra.Command{
		Use:         "bench-serve",
		Short:       "Serve the simulators for bench (internal)",
		Hidden:      true,
		Args:        needArgs(0, "no arguments"),
		Annotations: map[string]string{skipSettings: "yes"},
		RunE: action(func(*cobra.Command, []string) error {
			// The harness, not the connector, is what a relaxed collector
			// should speed up: it shares the machine with the run measured.
			debug.SetGCPercent(800)
			sim := oktatest.New(oktatest.Options{Users: users, Seed: 1, Token: benchToken, NoLimits: true})
			simSrv := sim.Start()
			defer simSrv.Close()
			fake := sinktest.New(sinktest.Options{CountOnly: true})
			sinkSrv := fake.Start()
			defer sinkSrv.Close()
			control := http.NewServeMux()
			control.HandleFunc("POST /mutate", func(w http.ResponseWriter, r *http.Request) {
				k, _ := strconv.Atoi(r.URL.Query().Get("n"))
				ids := sim.IDs("ACTIVE")
				step := max(1, len(ids)/max(k, 1))
				for i := 0; i < k && i*step < len(ids); i++ {
					_ = sim.EditProfile(ids[i*step], map[string]any{"title": "Benchmarked"})
				}
			})
			ctlSrv := httptest.NewServer(control)
			defer ctlSrv.Close()
			if err := json.NewEncoder(a.stdout).Encode(benchURLs{Okta: simSrv.URL, Sink: sinkSrv.URL, Control: ctlSrv.URL}); err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, a.stdin) // until the parent closes our stdin
			return nil
		}),
	}
	cmd.Flags().IntVar(&users, "users", 10000, "simulated users")
	return cmd
}
