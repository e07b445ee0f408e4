package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
	"neurons-connector/sink/sinktest"
)

// The benchmark runs the real binary: simulators in one child process, each
// command in another, so that a run's wall time and peak memory are its own.

func (t *tree) benchCmd() *cobra.Command {
	var sizes, providers, sinks, profiles string
	var changed, scale float64
	var limitedList string
	var assignments int
	var managersFirst bool
	cmd := &cobra.Command{
		Use:   "bench [--sizes 10000,100000,1000000] [--providers okta,onelogin] [--limited 100000] [--limit-scale 12]",
		Short: "Measure sync speed and memory on the built-in simulators",
		Long: `Measure the sync on the built-in simulators, over loopback. For each provider and
tenant size, with rate limits off: a full run, then an incremental run after
--changed percent of the users changed (and, for Okta, --assignments apps
assigned). Then, for each count in --limited, a full Okta run with the simulator
enforcing an Enterprise org's rate limits (600 requests a minute for listing
users, 100 for apps and devices, ...) times --limit-scale, against the windowed
ideal: a client that spends each window's share at once, which no client inside
the limits can beat; the target is 1.2 times that plus 2 s, with no 429.
Each run is this binary's "run" command in a process of its own, timed from start
to exit, its CPU time (user + system) and peak resident memory read from the OS;
the simulators and the fake sink run in another process on the same machine, and
"harness CPU/user" is what that process took during the run: when the two together
keep every core busy, users/s says as much about the harness as the connector.
The simulated Okta org lays its chart over the listing as a real org's is: about
half the reports come before their managers, and a first full run holds those
back until the pass ends. --managers-first lists every manager before its
reports instead, the simulator's org before issue 17, to compare with figures
taken on it; bench says which before each size's runs. Prints two tables.`,
		Example: `  neurons-connector bench --sizes 100000 --providers okta
  neurons-connector bench --sizes 10000 --limited 0      # no rate-limited run
  neurons-connector bench --sizes none --limited 2000,10000 --limit-scale 1   # Okta's real limits`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			// bench-serve children write to stderr too, from goroutines of
			// os/exec's.
			a := &bencher{stdout: t.env.Stdout, stderr: &lockedWriter{w: t.env.Stderr}, profiles: profiles, environ: os.Environ(), managersFirst: managersFirst}
			if t.env.Environ != nil {
				a.environ = t.env.Environ()
			}
			if profiles != "" {
				if err := os.MkdirAll(profiles, 0o750); err != nil {
					return usagef("--cpu-profiles: %v", err)
				}
			}
			var ns []int
			for _, s := range strings.Split(sizes, ",") {
				if s == "none" {
					break
				}
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usagef("--sizes: %q is not a list of user counts, e.g. 10000,100000", sizes)
				}
				ns = append(ns, n)
			}
			var kinds []connector.Kind
			for _, s := range strings.Split(providers, ",") {
				sp, err := benchKinds.Parse(s)
				if err != nil {
					return usagef("--providers: %v", err)
				}
				kinds = append(kinds, sp.Kind)
			}
			if assignments < 0 {
				return usagef("--assignments: give a number of assignments, 0 or more (default 100)")
			}
			if changed <= 0 || changed > 100 {
				return usagef("--changed: give a percentage from 0 to 100 (default 1)")
			}
			var sinkNames []string
			for _, f := range strings.Split(sinks, ",") {
				f = strings.TrimSpace(f)
				if f != "neurons" && f != "csv" {
					return usagef("--sinks: %q is not a sink; give neurons, csv or both, comma-separated", f)
				}
				sinkNames = append(sinkNames, f)
			}
			var limited []int
			for _, f := range strings.Split(limitedList, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 0 || scale <= 0 {
					return usagef("--limited takes user counts, comma-separated (0: none), and --limit-scale a positive factor")
				}
				if n > 0 {
					limited = append(limited, n)
				}
			}
			fmt.Fprintf(a.stdout, "neurons-connector bench on %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
			var rows []benchRow
			for _, n := range ns {
				r, err := a.benchSize(cmd.Context(), n, kinds, sinkNames, changed, assignments)
				if err != nil {
					return err
				}
				rows = append(rows, r...)
			}
			if len(rows) > 0 {
				if err := writeBenchTable(a.stdout, rows); err != nil {
					return err
				}
			}
			if len(limited) == 0 {
				return nil
			}
			var results []limitedResult
			for _, n := range limited {
				lr, err := a.benchLimited(cmd.Context(), n, scale)
				if err != nil {
					return err
				}
				results = append(results, lr)
			}
			fmt.Fprintln(a.stdout)
			return writeLimitedTable(a.stdout, results)
		}),
	}
	cmd.Flags().StringVar(&sizes, "sizes", "10000,100000,1000000", "tenant sizes, comma-separated (none: only the rate-limited runs)")
	cmd.Flags().StringVar(&providers, "providers", "okta,onelogin", "providers to measure, comma-separated")
	cmd.Flags().Float64Var(&changed, "changed", 1, "percentage of users changed before the incremental run")
	cmd.Flags().StringVar(&sinks, "sinks", "neurons", "sinks the runs deliver to, comma-separated: neurons (the fake Neurons endpoint), csv (the CSV drop)")
	cmd.Flags().StringVar(&profiles, "cpu-profiles", "", "a folder for each run's CPU profile (PROVIDER-SINK-USERS-MODE.pprof), for go tool pprof")
	cmd.Flags().IntVar(&assignments, "assignments", 100, "Okta app assignments made before the incremental run (besides --changed)")
	cmd.Flags().StringVar(&limitedList, "limited", "100000", "users of the rate-limited Okta runs, comma-separated (0: none)")
	cmd.Flags().Float64Var(&scale, "limit-scale", 12, "the rate-limited run's limits as a multiple of an Enterprise org's")
	cmd.Flags().BoolVar(&managersFirst, "managers-first", false, "the Okta org lists every manager before its reports, as no real org does (default: about half the reports first, as in a real org)")
	return declare(cmd, needsNothing)
}

// bencher runs the benchmark, writing its tables to stdout and its
// progress to stderr.
type bencher struct {
	stdout, stderr io.Writer
	profiles       string // a folder for each run's CPU profile, or ""
	// environ is the environment the children start from: the command's
	// own (Env.Environ), so that a caller that injects one, as the tests
	// do, need not change the process's.
	environ []string
	// managersFirst lists every manager of the Okta org before its
	// reports (bench-serve --managers-first), as no real org does.
	managersFirst bool
}

type benchRow struct {
	Provider string
	Sink     string
	Users    int
	Mode     string
	Wall     time.Duration
	Fetched  int
	Upserted int
	Calls    int
	PeakRSS  int64         // bytes; 0 where the OS does not tell
	CPU      time.Duration // the run process's user + system time
	// HarnessCPU is what the simulators and the fake sink (bench-serve)
	// took during the run; 0 where the OS does not tell.
	HarnessCPU time.Duration
	// Bound is the most API calls the run may make (Okta incremental runs:
	// the pages of changed users, the log's pages, two per user the log
	// names, five more); 0 when none is set.
	Bound int
}

// benchServer is a running bench-serve child.
type benchServer struct {
	urls benchURLs
	stop func()
}

func (a *bencher) startBenchServer(ctx context.Context, self string, n int, scale float64) (*benchServer, error) {
	args := []string{"bench-serve", "--users", strconv.Itoa(n), "--okta-limit-scale", fmt.Sprint(scale)}
	if a.managersFirst {
		args = append(args, "--managers-first")
	}
	serve := exec.CommandContext(ctx, self, args...) //nolint:gosec // G204: self is this binary (os.Executable)
	serve.Env = a.environ
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
	bs := &benchServer{stop: func() { _ = in.Close(); _ = serve.Wait() }}
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&bs.urls); err != nil {
		bs.stop()
		return nil, fmt.Errorf("bench-serve did not start: %w", err)
	}
	return bs, nil
}

// stats reads what the simulators counted, and the harness's CPU so far.
func (bs *benchServer) stats(ctx context.Context) (benchStats, error) {
	var st benchStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, bs.urls.Control+"/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer func() { _ = resp.Body.Close() }()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// benchEnv is a fresh data directory and the environment of the runs.
// sinkName is neurons (the fake Neurons endpoint) or csv (the CSV drop in
// the data directory).
func (a *bencher) benchEnv(urls benchURLs, sinkName string) (env []string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "nc-bench-")
	if err != nil {
		return nil, nil, err
	}
	env = append(slices.Clip(a.environ), "NC_DATA_DIR="+dir, "NC_SINK="+sinkName, "NC_CSV_DIR=", "NC_NEURONS_URL="+urls.Sink,
		"NC_NEURONS_TOKEN_URL="+urls.Sink+sinktest.TokenPath, "NC_NEURONS_CLIENT_ID=sink-client",
		"NC_NEURONS_CLIENT_SECRET=sink-secret", "NC_LOG_LEVEL=warn", "BENCH_TOKEN="+benchToken,
		"BENCH_OL_SECRET="+benchOLSecret, "NC_SECRET_KEY=")
	return env, func() { _ = os.RemoveAll(dir) }, nil
}

// benchKinds are the kinds the benchmark has simulators of.
var benchKinds = connector.Specs{okta.Spec, onelogin.Spec}

// benchAdd adds the benchmark's connector of kind, selecting every status.
func benchAdd(ctx context.Context, self string, env []string, kind connector.Kind, urls benchURLs) error {
	sp, _ := benchKinds.Find(kind)
	var statuses []string
	for _, s := range sp.Statuses {
		statuses = append(statuses, s.Name)
	}
	args := []string{"connector", "add", "okta", "--name", "Bench", "--url", urls.Okta, "--token-env", "BENCH_TOKEN"}
	if kind == onelogin.Kind {
		args = []string{"connector", "add", "onelogin", "--name", "Bench", "--domain", urls.OneLogin,
			"--client-id", benchOLClient, "--client-secret-env", "BENCH_OL_SECRET"}
	}
	_, err := benchExec(ctx, self, env, append(args, "--user-status", strings.Join(statuses, ","))...)
	return err
}

// benchRun runs the connector once and reads its figures from status.
// The run's CPU profile goes to the profiles folder as name.pprof.
func (a *bencher) benchRun(ctx context.Context, self string, env []string, name string) (benchResult, api.Run, error) {
	runEnv := env
	if a.profiles != "" {
		runEnv = append(slices.Clip(env), "NC_CPU_PROFILE="+filepath.Join(a.profiles, name+".pprof"))
	}
	res, err := benchExec(ctx, self, runEnv, "run", "Bench")
	if err != nil {
		return res, api.Run{}, err
	}
	st, err := benchExec(ctx, self, env, "status", "Bench", "--json")
	if err != nil {
		return res, api.Run{}, err
	}
	var v api.Status
	if err := json.Unmarshal(st.stdout, &v); err != nil || v.LastRun == nil {
		return res, api.Run{}, fmt.Errorf("bench: read status: %w", err)
	}
	return res, *v.LastRun, nil
}

// benchSize measures one tenant size: per provider a full run, then an
// incremental one.
func (a *bencher) benchSize(ctx context.Context, n int, kinds []connector.Kind, sinks []string, changed float64, assignments int) ([]benchRow, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bs, err := a.startBenchServer(ctx, self, n, 0)
	if err != nil {
		return nil, err
	}
	defer bs.stop()
	if slices.Contains(kinds, okta.Kind) {
		if err := a.sayTenant(ctx, bs, n); err != nil {
			return nil, err
		}
	}
	var rows []benchRow
	for _, kind := range kinds {
		for _, sinkName := range sinks {
			r, err := a.benchPair(ctx, self, bs, n, kind, sinkName, changed, assignments)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
	}
	return rows, nil
}

// sayTenant prints how the Okta org of n users lists its reports: a first
// full run costs more where many come before their managers.
func (a *bencher) sayTenant(ctx context.Context, bs *benchServer, n int) error {
	st, err := bs.stats(ctx)
	if err != nil {
		return err
	}
	if st.ReportsBefore == 0 {
		_, err = fmt.Fprintf(a.stdout, "Okta org of %d users: every manager listed before its reports "+
			"(--managers-first; a real org lists about half the reports first)\n", n)
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Okta org of %d users: %d of %d reports (%.0f %%) listed before their managers, as in a real org\n",
		n, st.ReportsBefore, st.Reports, 100*float64(st.ReportsBefore)/float64(st.Reports))
	return err
}

// benchPair is a full run and then an incremental one of a fresh connector
// of kind delivering to sinkName.
func (a *bencher) benchPair(ctx context.Context, self string, bs *benchServer, n int, kind connector.Kind, sinkName string, changed float64, assignments int) ([]benchRow, error) {
	env, cleanup, err := a.benchEnv(bs.urls, sinkName)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := benchAdd(ctx, self, env, kind, bs.urls); err != nil {
		return nil, err
	}
	var rows []benchRow
	for _, mode := range []string{"full", "incremental"} {
		bound := 0
		if mode == "incremental" {
			k := max(1, int(float64(n)*changed/100))
			q := "/mutate?provider=" + string(kind) + "&n=" + strconv.Itoa(k)
			if kind == okta.Kind {
				q += "&apps=" + strconv.Itoa(assignments)
				bound = ceilDiv(k, 200) + ceilDiv(assignments, 1000) + 2*assignments + 5
			}
			if err := benchPost(ctx, bs.urls.Control+q); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(a.stderr, "bench: %s, %d users, %s run into the %s sink...\n", kind, n, mode, sinkName)
		before, err := bs.stats(ctx)
		if err != nil {
			return nil, err
		}
		res, r, err := a.benchRun(ctx, self, env, fmt.Sprintf("%s-%s-%d-%s", kind, sinkName, n, mode))
		if err != nil {
			return nil, err
		}
		after, err := bs.stats(ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, benchRow{Provider: string(kind), Sink: sinkName, Users: n, Mode: r.Mode, Wall: res.wall,
			Fetched: r.Fetched, Upserted: r.Upserted, Calls: r.APICalls, PeakRSS: res.peakRSS, Bound: bound, CPU: res.cpu,
			HarnessCPU: after.CPU - before.CPU})
	}
	return rows, nil
}

func benchPost(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// limitedResult is the rate-limited run: its wall time against the time
// the simulator's limits allow at the connector's share.
type limitedResult struct {
	Users      int
	Scale      float64
	Wall       time.Duration
	Ideal      time.Duration
	Bottleneck string // the bucket that sets the ideal
	Calls      int
	Too        int // 429 answers
	Waits      int
}

// benchLimited runs one full Okta run against enforced rate limits. The
// ideal is the windowed one: a client that spends each window's share (the
// limit times the connector's 50 % share, which is also what Okta lets one
// token use) at once needs, for the busiest bucket, as many windows as its
// calls fill, and its last calls can go when the last of them begins (on
// the minute). No client that stays within the limits can be faster; the
// target is 1.2 × that plus 2 s.
func (a *bencher) benchLimited(ctx context.Context, n int, scale float64) (limitedResult, error) {
	lr := limitedResult{Users: n, Scale: scale}
	self, err := os.Executable()
	if err != nil {
		return lr, err
	}
	bs, err := a.startBenchServer(ctx, self, n, scale)
	if err != nil {
		return lr, err
	}
	defer bs.stop()
	if err := a.sayTenant(ctx, bs, n); err != nil {
		return lr, err
	}
	env, cleanup, err := a.benchEnv(bs.urls, "neurons")
	if err != nil {
		return lr, err
	}
	defer cleanup()
	if err := benchAdd(ctx, self, env, okta.Kind, bs.urls); err != nil {
		return lr, err
	}
	fmt.Fprintf(a.stderr, "bench: okta, %d users, full run against rate limits ×%g...\n", n, scale)
	res, r, err := a.benchRun(ctx, self, env, fmt.Sprintf("okta-limited-%d", n))
	if err != nil {
		return lr, err
	}
	st, err := bs.stats(ctx)
	if err != nil {
		return lr, err
	}
	lr.Wall, lr.Calls, lr.Too, lr.Waits = res.wall, r.APICalls, st.Statuses[http.StatusTooManyRequests], r.RateLimitWaits
	for _, b := range slices.Sorted(maps.Keys(st.Calls)) {
		budget := max(1, int(float64(st.Limits[b])*st.TokenShare))
		// Okta's windows (and the simulator's) begin on the minute: the
		// calls of the k-th share can go at the k-th minute after the run
		// began, which may be seconds away.
		windows := (st.Calls[b] + budget - 1) / budget
		ideal := time.Duration(0)
		if windows > 1 {
			ideal = res.start.Truncate(time.Minute).Add(time.Duration(windows-1) * time.Minute).Sub(res.start)
		}
		if ideal > lr.Ideal || lr.Bottleneck == "" {
			lr.Ideal, lr.Bottleneck = ideal, fmt.Sprintf("%s: %d calls, %d a minute", b, st.Calls[b], budget)
		}
	}
	return lr, nil
}

type benchResult struct {
	start   time.Time
	wall    time.Duration
	cpu     time.Duration // user + system time of the run's process, from the OS
	peakRSS int64
	stdout  []byte
}

func benchExec(ctx context.Context, self string, env []string, args ...string) (benchResult, error) {
	cmd := exec.CommandContext(ctx, self, args...) //nolint:gosec // G204: this binary, with arguments bench builds
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := benchResult{start: start, wall: time.Since(start), stdout: stdout.Bytes()}
	if cmd.ProcessState != nil {
		res.peakRSS = peakRSS(cmd.ProcessState)
		res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return res, fmt.Errorf("bench: %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

func writeBenchTable(w io.Writer, rows []benchRow) error {
	fmt.Fprintln(w, "Rate limits off:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tsink\tusers\trun\twall\tusers/s\tCPU/user\tharness CPU/user\tupserted\tAPI calls\tbound\tpeak RSS\t")
	for _, r := range rows {
		rss := "n/a"
		if r.PeakRSS > 0 {
			rss = fmt.Sprintf("%d MB", r.PeakRSS>>20)
		}
		bound := "-"
		if r.Bound > 0 {
			bound = fmt.Sprintf("≤ %d", r.Bound)
		}
		perUser := func(d time.Duration) string {
			if d <= 0 || r.Fetched == 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.1f µs", float64(d.Microseconds())/float64(r.Fetched))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.2fs\t%.0f\t%s\t%s\t%d\t%d\t%s\t%s\t\n", r.Provider, r.Sink, r.Users, r.Mode, r.Wall.Seconds(),
			float64(r.Fetched)/r.Wall.Seconds(), perUser(r.CPU), perUser(r.HarnessCPU), r.Upserted, r.Calls, bound, rss)
	}
	return tw.Flush()
}

func writeLimitedTable(w io.Writer, results []limitedResult) error {
	fmt.Fprintf(w, "Okta's rate limits enforced (×%g), full run at the default 50 %% share:\n", results[0].Scale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "users\twall\twindowed ideal\ttarget\tmet\tAPI calls\trate-limit waits\t429s\tbusiest bucket\t")
	for _, r := range results {
		target := time.Duration(1.2*float64(r.Ideal)) + 2*time.Second
		met := "yes"
		if r.Wall > target || r.Too > 0 {
			met = "no"
		}
		fmt.Fprintf(tw, "%d\t%.1fs\t%.1fs\t%.1fs\t%s\t%d\t%d\t%d\t%s\t\n", r.Users, r.Wall.Seconds(), r.Ideal.Seconds(),
			target.Seconds(), met, r.Calls, r.Waits, r.Too, r.Bottleneck)
	}
	return tw.Flush()
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
