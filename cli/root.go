package cli

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/fault"
	"neurons-connector/settings"
)

// tree is the command tree of one invocation: the process's Env, the
// global flags, and the session prepare computes once, before the command
// runs. Nothing changes s afterwards.
type tree struct {
	env     Env
	dataDir string // --data-dir
	s       *session
}

// needs is what a command declares it needs before it runs; a test walks
// the tree and fails on a runnable command that declares nothing.
const needsKey = "needs"

const (
	needsNothing  = "nothing"  // works whatever the environment holds (version, demo)
	needsSettings = "settings" // the settings, no database (serve, service install)
	needsBackend  = "backend"  // the connectors: the daemon if one runs, else the database
	needsHint     = "hint"     // like backend, but does without when none can be had (mapping check)
)

// builtin are the commands cobra adds itself; they need nothing either.
var builtin = map[string]bool{"help": true, "completion": true, "__complete": true, "__completeNoDesc": true}

func (t *tree) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "neurons-connector",
		Short: "Sync users from Okta and OneLogin into Ivanti Neurons",
		Long: `neurons-connector runs Okta and OneLogin user connectors for the Ivanti Neurons
platform. It keeps connector configurations, sealed secrets and sync cursors in
a local database and pushes only changed users to Neurons.

Settings come from the environment:
` + indent(settings.Describe(), "  ") + `

Without --data-dir and NC_DATA_DIR, a command also reads the service's settings
file (written by service install) if this account may (root, an administrator),
as the service does; the environment wins. That file may also set HTTPS_PROXY,
HTTP_PROXY, NO_PROXY, SSL_CERT_FILE and SSL_CERT_DIR for the process.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid input
(nothing was changed).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			s, err := t.prepare(cmd)
			t.s = s
			return err
		},
	}
	root.SetIn(t.env.Stdin)
	root.SetOut(t.env.Stdout)
	root.SetErr(t.env.Stderr)
	root.PersistentFlags().StringVar(&t.dataDir, "data-dir", "",
		"folder of the database and key file (overrides NC_DATA_DIR)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v; see: %s --help", err, c.CommandPath())
	})
	root.AddCommand(t.connectorCmd(), t.runCmd(), t.explainCmd(), t.mappingCmd(), t.statusCmd(), t.databaseCmd(), t.serveCmd(), t.serviceCmd(), t.demoCmd(),
		t.benchCmd(), t.benchServeCmd(), t.versionCmd())
	return root
}

// needsOf is what cmd declared; builtin commands need nothing.
func needsOf(cmd *cobra.Command) string {
	for c := cmd; c != nil; c = c.Parent() {
		if builtin[c.Name()] {
			return needsNothing
		}
	}
	return cmd.Annotations[needsKey]
}

// declare sets what cmd needs and returns it.
func declare(cmd *cobra.Command, needs string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[needsKey] = needs
	return cmd
}

// group is a command that only holds subcommands: it shows its help when
// called alone and rejects an unknown subcommand with exit code 2.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usagef("unknown command %q for %q; see: %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return declare(c, needsNothing)
}

// needArgs checks positional arguments with a message that names them.
func needArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments); see: %s --help", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// action wraps a command's work: an error it does not classify as bad
// input is an operation failure (exit 1).
func action(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var oe *opError
		if err == nil || errors.Is(err, fault.ErrBadInput) || errors.As(err, &oe) {
			return err
		}
		return &opError{err: err}
	}
}

func (t *tree) versionCmd() *cobra.Command {
	return declare(&cobra.Command{
		Use:   "version",
		Short: "Print the program's version",
		Args:  needArgs(0, "no arguments"),
		RunE: action(func(*cobra.Command, []string) error {
			rev := "unknown commit"
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						rev = "commit " + s.Value
					}
				}
			}
			_, err := fmt.Fprintf(t.env.Stdout, "neurons-connector %s (%s, %s, %s/%s)\n",
				t.env.Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		}),
	}, needsNothing)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
