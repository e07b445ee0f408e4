package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/sink/sinktest"
)

// The simulators' credentials in benchmarks.
const (
	benchToken    = "bench-okta-token" //nolint:gosec // G101: made up; only the benchmark's simulator accepts it
	benchOLClient = "bench-client"
	benchOLSecret = "bench-onelogin-secret" //nolint:gosec // G101: made up, as above
)

// benchServeMemoryLimit is bench-serve's soft memory limit, unless
// GOMEMLIMIT sets one.
const benchServeMemoryLimit = 1 << 30

// benchURLs is what bench-serve prints when it is ready.
type benchURLs struct{ Okta, OneLogin, Sink, Control string }

// benchStats is bench-serve's /stats: what the Okta simulator served.
type benchStats struct {
	Calls      map[string]int `json:"calls"`    // by rate-limit bucket
	Limits     map[string]int `json:"limits"`   // per minute, by bucket
	Statuses   map[int]int    `json:"statuses"` // answers by HTTP status
	TokenShare float64        `json:"tokenShare"`
	// ReportsBefore of Reports (the Okta users with a manager) are listed
	// before their managers: about half, as in a real org; 0 with
	// --managers-first.
	ReportsBefore int `json:"reportsBefore"`
	Reports       int `json:"reports"`
	// CPU is the bench-serve process's user + system time so far (the
	// simulators' and the fake sink's), from the OS: bench takes it before
	// and after each run, to show how much of the two cores the harness
	// took beside the run measured.
	CPU time.Duration `json:"cpu"`
}

// benchServeCmd runs the simulators for bench in their own process.
func (t *tree) benchServeCmd() *cobra.Command {
	var users int
	var scale float64
	var plain, managersFirst bool
	cmd := &cobra.Command{
		Use:    "bench-serve",
		Short:  "Serve the simulators for bench (internal)",
		Hidden: true,
		Args:   needArgs(0, "no arguments"),
		RunE: action(func(c *cobra.Command, _ []string) error {
			// The harness, not the connector, is what a relaxed collector
			// should speed up: it shares the machine with the run measured.
			debug.SetGCPercent(800)
			// And with a soft memory limit of its own, not the connector's
			// (main sets 128 MiB unless GOMEMLIMIT is): after edits to a
			// million-user tenant of each provider the harness holds up to
			// 240 MB live, and under 128 MiB its collector ran without pause
			// beside the runs measured (bench's harness CPU/user at 285 µs
			// where it is 30 to 40). 1 GiB leaves it room, and bounds what
			// bench takes of a small machine.
			if _, set := t.env.Lookup("GOMEMLIMIT"); !set {
				debug.SetMemoryLimit(benchServeMemoryLimit)
			}
			// Spread: an org in steady use, whose users changed over a month,
			// so an incremental run's overlap holds a few users, not a bulk
			// import's thousands.
			oo := oktatest.Options{Users: users, Seed: 1, Token: benchToken, NoLimits: scale == 0, Spread: 30 * 24 * time.Hour,
				NoCompression: plain, ManagersFirst: managersFirst}
			if scale > 0 {
				oo.Limits = map[string]int{}
				for b, l := range oktatest.DefaultLimits {
					oo.Limits[b] = int(float64(l) * scale)
				}
			}
			sim := oktatest.New(oo)
			simSrv := sim.Start()
			defer simSrv.Close()
			// OneLogin sends no rate headers on v2; here it does, with a
			// limit no run reaches, so the client paces by them and not by
			// its assumed 5,000 calls an hour.
			ol := onelogintest.New(onelogintest.Options{Users: users, Seed: 1, ClientID: benchOLClient, ClientSecret: benchOLSecret,
				HourlyLimit: 1_000_000_000, RateHeaders: true})
			ol.IndexUpdates() // before any run is measured, not during the first incremental one
			olSrv := ol.Start()
			defer olSrv.Close()
			fake := sinktest.New(sinktest.Options{CountOnly: true})
			sinkSrv := fake.Start()
			defer sinkSrv.Close()
			control := http.NewServeMux()
			// Each round edits to a new title, so that a second connector
			// measured on the same tenant sees changes too.
			var round atomic.Int64
			control.HandleFunc("POST /mutate", func(_ http.ResponseWriter, r *http.Request) {
				k, _ := strconv.Atoi(r.URL.Query().Get("n"))
				title := fmt.Sprintf("Benchmarked %d", round.Add(1))
				if r.URL.Query().Get("provider") == "onelogin" {
					ids := ol.IDs(1)
					step := max(1, len(ids)/max(k, 1))
					for i := 0; i < k && i*step < len(ids); i++ {
						ol.SetTitle(ids[i*step], title)
					}
					return
				}
				ids := sim.IDs("ACTIVE")
				step := max(1, len(ids)/max(k, 1))
				for i := 0; i < k && i*step < len(ids); i++ {
					_ = sim.EditProfile(ids[i*step], map[string]any{"title": title})
				}
				// App assignments, to other users than the edited ones: they
				// change no lastUpdated, only the System Log tells.
				a, _ := strconv.Atoi(r.URL.Query().Get("apps"))
				astep := max(2, len(ids)/max(a, 1))
				for i := 0; i < a && i*astep+1 < len(ids); i++ {
					_ = sim.Assign(ids[i*astep+1], 1+(i+int(round.Load()))%11)
				}
			})
			before, reports := sim.ReportsBeforeManagers()
			control.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
				st := benchStats{Calls: sim.Calls(), Limits: map[string]int{}, Statuses: sim.Statuses(), TokenShare: 0.5, CPU: processCPU(),
					ReportsBefore: before, Reports: reports}
				for b := range st.Calls {
					st.Limits[b] = sim.Limit(b)
				}
				_ = json.NewEncoder(w).Encode(st)
			})
			ctlSrv := httptest.NewServer(control)
			defer ctlSrv.Close()
			if err := json.NewEncoder(t.env.Stdout).Encode(benchURLs{Okta: simSrv.URL, OneLogin: olSrv.URL, Sink: sinkSrv.URL, Control: ctlSrv.URL}); err != nil {
				return err
			}
			// Until the parent closes our stdin, or Ctrl-C / SIGTERM (whose
			// handler keeps them from ending the process by themselves).
			closed := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, t.env.Stdin); close(closed) }()
			select {
			case <-closed:
			case <-c.Context().Done():
			}
			return nil
		}),
	}
	cmd.Flags().IntVar(&users, "users", 10000, "simulated users")
	cmd.Flags().Float64Var(&scale, "okta-limit-scale", 0, "Okta rate limits as a multiple of an Enterprise org's (0: none)")
	// Plain answers are what a fake that ignores Accept-Encoding serves
	// (issue 17 does not say whether the fake it measured 427e62d on did):
	// the connector's CPU then has no inflating in it.
	cmd.Flags().BoolVar(&plain, "plain", false, "Okta answers uncompressed, whatever the client accepts")
	// Okta's default listing has no order, and a real org's IDs do not
	// follow its chart: about half the reports come before their managers,
	// and a first full run holds those back until the pass ends (spill).
	// --managers-first is the simulator's chart before issue 17, kept to
	// measure against the figures taken on it.
	cmd.Flags().BoolVar(&managersFirst, "managers-first", false, "Okta's managers all listed before their reports, as no real org's are")
	return declare(cmd, needsNothing)
}
