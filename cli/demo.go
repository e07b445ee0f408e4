package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"

	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/sink/sinktest"
	"neurons-connector/store"
)

// The demo's made-up credentials: the simulators accept them and nothing
// else does.
const (
	demoOktaToken = "00demo-okta-token-for-the-simulator"    //nolint:gosec // G101: made up; only the demo's simulator accepts it
	demoOLSecret  = "demo-onelogin-secret-for-the-simulator" //nolint:gosec // G101: made up, as above
	demoSinkID    = "demo-sink-client"
	demoSinkKey   = "demo-sink-secret"
)

func (t *tree) demoCmd() *cobra.Command {
	var users int
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo [--users N] [--keep]",
		Short: "Run the whole pipeline on built-in simulators, with no network and no credentials",
		Long: `Show the whole pipeline in under a minute, on this machine only: an Okta and a
OneLogin simulator with generated users and a stand-in for the Neurons ingestion
endpoint start inside the process; one connector per provider is added in a
temporary data directory; both run (full), some users change at the simulators
(status changes, edits, a deletion, a new user), both run again (incremental: the
deletion comes from OneLogin's event log); the
Okta token then loses its admin role, so Okta lists no users, and the deletion
guard holds the run's deletes; the Okta connector then switches from its token to
an OAuth service app (private_key_jwt, DPoP); then what reached the sink and the
status table are shown. The data directory is
removed at the end unless --keep. Your own settings and data are not touched.`,
		Example: `  neurons-connector demo
  neurons-connector demo --users 5000 --keep`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if users < 100 || users > 200000 {
				return usagef("--users must be from 100 to 200000 (got %d)", users)
			}
			return t.demo(cmd.Context(), users, keep)
		}),
	}
	cmd.Flags().IntVar(&users, "users", 2000, "users at each simulator")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data directory and print where it is")
	return declare(cmd, needsNothing)
}

// demoEnv is the demo's world: the simulators, the fake sink, the data
// directory, and the environment its commands see (none of the caller's).
type demoEnv struct {
	t    *tree
	ctx  context.Context
	okta *oktatest.Server
	ol   *onelogintest.Server
	fake *sinktest.Server
	env  map[string]string
	w    io.Writer
	dir  string
}

func (t *tree) demo(ctx context.Context, users int, keep bool) error {
	dir, err := os.MkdirTemp("", "neurons-connector-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	d := &demoEnv{t: t, ctx: ctx, w: t.env.Stdout, dir: dir}
	app, err := d.newApp()
	if err != nil {
		return err
	}
	d.okta = oktatest.New(oktatest.Options{Users: users, Seed: 2026, Token: demoOktaToken, NoLimits: true,
		Spread: 90 * 24 * time.Hour, OAuthApps: []oktatest.OAuthApp{app}})
	oktaSrv := d.okta.Start()
	defer oktaSrv.Close()
	d.ol = onelogintest.New(onelogintest.Options{Users: users, Seed: 2026, ClientID: "demo-client", ClientSecret: demoOLSecret, HourlyLimit: -1})
	olSrv := d.ol.Start()
	defer olSrv.Close()
	d.fake = sinktest.New(sinktest.Options{ClientID: demoSinkID, ClientSecret: demoSinkKey})
	sinkSrv := d.fake.Start()
	defer sinkSrv.Close()
	d.env = map[string]string{
		"NC_DATA_DIR": dir + string(os.PathSeparator) + "data", "NC_LOG_LEVEL": "warn",
		"NC_NEURONS_URL": sinkSrv.URL, "NC_NEURONS_TOKEN_URL": sinkSrv.URL + sinktest.TokenPath,
		"NC_NEURONS_CLIENT_ID": demoSinkID, "NC_NEURONS_CLIENT_SECRET": demoSinkKey,
		"DEMO_OKTA_TOKEN": demoOktaToken, "DEMO_ONELOGIN_SECRET": demoOLSecret,
	}
	start := time.Now()
	fmt.Fprintf(d.w, "neurons-connector demo: the whole pipeline on built-in simulators; nothing leaves this machine.\n\n")
	tw := tabwriter.NewWriter(d.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Okta simulator\t%s\t%d users\n", oktaSrv.URL, users)
	fmt.Fprintf(tw, "  OneLogin simulator\t%s\t%d users\n", olSrv.URL, users)
	fmt.Fprintf(tw, "  Neurons ingestion (stand-in)\t%s\t\n", sinkSrv.URL)
	fmt.Fprintf(tw, "  Data directory\t%s\t%s\n", d.env["NC_DATA_DIR"], map[bool]string{true: "kept (--keep)", false: "removed at the end"}[keep])
	_ = tw.Flush()

	d.section("1. Add a connector per provider and check that each can sign in")
	steps := [][]string{
		{"connector", "add", "okta", "--name", "Okta demo", "--url", oktaSrv.URL, "--token-env", "DEMO_OKTA_TOKEN", "--user-status", "active,locked_out"},
		{"connector", "add", "onelogin", "--name", "OneLogin demo", "--domain", olSrv.URL, "--client-id", "demo-client",
			"--client-secret-env", "DEMO_ONELOGIN_SECRET", "--user-status", "active,locked"},
		{"connector", "test", "Okta demo"},
		{"connector", "test", "OneLogin demo"},
	}
	if err := d.cmds(steps...); err != nil {
		return err
	}
	d.section("2. First runs: full, every selected user is sent")
	if err := d.cmds([]string{"run", "Okta demo"}, []string{"run", "OneLogin demo"}); err != nil {
		return err
	}
	d.section("3. Meanwhile, at the identity providers")
	if err := d.change(); err != nil {
		return err
	}
	d.section("4. Second runs: incremental, only what changed is sent")
	if err := d.cmds([]string{"run", "Okta demo"}, []string{"run", "OneLogin demo"}); err != nil {
		return err
	}
	if err := d.guard(); err != nil {
		return err
	}
	if err := d.oauth(); err != nil {
		return err
	}
	d.section("7. What reached Neurons")
	if err := d.report(); err != nil {
		return err
	}
	d.section("8. Status")
	if err := d.cmds([]string{"status"}); err != nil {
		return err
	}
	fmt.Fprintf(d.w, "\nDone in %s. ", time.Since(start).Round(100*time.Millisecond))
	if keep {
		fmt.Fprintf(d.w, "Look around: NC_DATA_DIR=%s neurons-connector status\n", d.env["NC_DATA_DIR"])
	} else {
		fmt.Fprintln(d.w, "The demo's data directory is gone; nothing else was written.")
	}
	return nil
}

func (d *demoEnv) section(title string) { fmt.Fprintf(d.w, "\n== %s\n", title) }

// guard shows the deletion guard: Okta answers a token whose owner lost
// the admin role with an empty list, and the run that reads it holds its
// deletes instead of emptying Neurons.
func (d *demoEnv) guard() error {
	d.section("5. The Okta token's owner loses the admin role: Okta now lists no users")
	d.okta.SetNoAdmin(true)
	if err := d.expect(1, []string{"run", "Okta demo", "--full"}); err != nil {
		return err
	}
	if err := d.expect(1, []string{"connector", "test", "Okta demo"}); err != nil {
		return err
	}
	fmt.Fprintln(d.w, "\nThe role is given back; the next full run sees everyone, and nothing stays held:")
	d.okta.SetNoAdmin(false)
	return d.cmds([]string{"run", "Okta demo", "--full"}, []string{"status", "Okta demo"})
}

// The demo's OAuth service app (okta-api.md §1.2).
const demoClientID = "0oademoNeuronsConnector"

// newApp makes the demo's API Services app: a fresh RSA key, its private
// half in a file of the demo's directory (as an admin keeps it), its public
// half registered with the simulated org. The app requires DPoP.
func (d *demoEnv) newApp() (oktatest.OAuthApp, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return oktatest.OAuthApp{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return oktatest.OAuthApp{}, err
	}
	path := filepath.Join(d.dir, "okta-app.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return oktatest.OAuthApp{}, err
	}
	return oktatest.OAuthApp{ClientID: demoClientID, DPoP: true, Scopes: okta.DefaultScopes,
		Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "demo-key", Algorithm: string(jose.RS256), Use: "sig"}}}, nil
}

// oauth switches the Okta connector from its token to the OAuth service
// app, and runs it.
func (d *demoEnv) oauth() error {
	d.section("6. Okta again, signing in as an OAuth 2.0 service app (private_key_jwt, DPoP) instead of a token")
	return d.cmds(
		[]string{"connector", "edit", "Okta demo", "--auth", "oauth", "--client-id", demoClientID,
			"--private-key-file", filepath.Join(d.dir, "okta-app.pem")},
		[]string{"connector", "test", "Okta demo"},
		[]string{"run", "Okta demo"})
}

// cmds runs command lines of the real command tree in the demo's world,
// each shown as an admin would type it.
func (d *demoEnv) cmds(lines ...[]string) error {
	for _, args := range lines {
		if err := d.expect(0, args); err != nil {
			return err
		}
	}
	return nil
}

// expect runs one command line and checks its exit code.
func (d *demoEnv) expect(code int, lines ...[]string) error {
	for _, args := range lines {
		shown := make([]string, len(args))
		for i, s := range args {
			shown[i] = s
			if strings.ContainsAny(s, " ") {
				shown[i] = strconv.Quote(s)
			}
		}
		fmt.Fprintf(d.w, "\n$ neurons-connector %s\n", strings.Join(shown, " "))
		env := Env{Stdin: strings.NewReader(""), Stdout: d.w, Stderr: d.w,
			Lookup: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok },
			Now:    time.Now, Local: d.t.env.Local, Tables: d.t.env.Tables, Drivers: d.t.env.Drivers, Version: d.t.env.Version}
		if got := Run(d.ctx, args, env); got != code {
			return fmt.Errorf("demo step %q exited with %d, not %d", strings.Join(shown, " "), got, code)
		}
	}
	return nil
}

// change makes a round of changes at both simulators and says what.
func (d *demoEnv) change() error {
	active := d.okta.IDs("ACTIVE")
	if len(active) < 12 {
		return fmt.Errorf("the Okta simulator has too few active users (%d)", len(active))
	}
	for _, id := range active[:3] {
		if err := d.okta.SetStatus(id, "SUSPENDED"); err != nil {
			return err
		}
	}
	for i, id := range active[3:8] {
		if err := d.okta.EditProfile(id, map[string]any{"title": fmt.Sprintf("Demo Engineer %d", i+1)}); err != nil {
			return err
		}
	}
	if err := d.okta.Deactivate(active[8]); err != nil {
		return err
	}
	newcomer := d.okta.AddUser(map[string]any{"firstName": "Demo", "lastName": "Newcomer", "email": "demo.newcomer@example.com",
		"login": "demo.newcomer@example.com", "title": "New hire"}, "ACTIVE")
	fmt.Fprintf(d.w, "  Okta:     suspended 3 users, changed the title of 5, deactivated 1, added 1 (%s, Demo Newcomer)\n", newcomer)

	ol := d.ol.IDs(1)
	if len(ol) < 12 {
		return fmt.Errorf("the OneLogin simulator has too few active users (%d)", len(ol))
	}
	for _, id := range ol[:2] {
		d.ol.SetStatus(id, 2)
	}
	for i, id := range ol[2:7] {
		d.ol.SetTitle(id, fmt.Sprintf("Demo Analyst %d", i+1))
	}
	d.ol.Delete(ol[7])
	added := d.ol.Create("Demo", "Arrival")
	fmt.Fprintf(d.w, "  OneLogin: suspended 2 users, changed the title of 5, deleted 1 (%d), added 1 (%d, Demo Arrival)\n", ol[7], added)
	return nil
}

// report prints, per connector, what each run delivered and a few records.
func (d *demoEnv) report() error {
	db, err := store.Open(store.PathIn(d.env["NC_DATA_DIR"]), store.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.View(func(tx *store.Tx) error {
		all, err := tx.Connectors()
		if err != nil {
			return err
		}
		for _, c := range all {
			fmt.Fprintf(d.w, "\n%s (%s): the sink holds %d users\n", c.Name, c.Kind, len(d.fake.Users(c.ID)))
			tw := tabwriter.NewWriter(d.w, 0, 0, 2, ' ', 0)
			for i, r := range d.fake.Reports(c.ID) {
				fmt.Fprintf(tw, "  run %d\t%s\t%d new\t%d updated\t%s\n", i+1, r.Mode, r.New, r.Updated, deletesText(r.Deletes))
			}
			_ = tw.Flush()
			d.samples(c.ID)
		}
		return nil
	})
}

func deletesText(m map[string]int) string {
	total, parts := 0, []string{}
	for _, reason := range slices.Sorted(maps.Keys(m)) {
		total += m[reason]
		parts = append(parts, fmt.Sprintf("%d %s", m[reason], reason))
	}
	if total == 0 {
		return "0 deleted"
	}
	return fmt.Sprintf("%d deleted (%s)", total, strings.Join(parts, ", "))
}

// samples shows a record the later runs added or updated, and their
// deletes.
func (d *demoEnv) samples(connID string) {
	reports := d.fake.Reports(connID)
	if len(reports) < 2 {
		return
	}
	held := d.fake.Users(connID)
	shown := false
	for _, r := range reports[1:] {
		for _, id := range slices.Concat(r.UpdatedIDs, r.NewIDs) {
			if rec, ok := held[id]; ok && !shown {
				fmt.Fprintf(d.w, "  e.g. upsert %s: %s\n", id, brief(rec.Attributes))
				shown = true
			}
		}
	}
	for _, r := range reports[1:] {
		for _, id := range r.DeletedIDs {
			fmt.Fprintf(d.w, "  e.g. delete %s: reason %s\n", id, d.fake.DeleteReason(connID, id))
		}
	}
}

// brief is a record's identifying attributes as one JSON line.
func brief(attrs map[string]any) string {
	keep := map[string]any{}
	for _, k := range []string{"User.FirstName", "User.LastName", "User.Email", "User.JobTitle", "User.Department", "User.Status", "User.Manager"} {
		if v, ok := attrs[k]; ok && v != nil {
			keep[k] = v
		}
	}
	b, _ := json.Marshal(keep)
	return fmt.Sprintf("%s … (%d attributes)", b, len(attrs))
}
