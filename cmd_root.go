package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/service"
	"neurons-connector/settings"
)

// skipSettings marks commands that must work whatever the environment holds.
const skipSettings = "skip-settings"

// builtin are the commands cobra adds itself; they need no settings either.
var builtin = map[string]bool{"help": true, "completion": true, "__complete": true, "__completeNoDesc": true}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "neurons-connector",
		Short: "Sync users from Okta and OneLogin into Ivanti Neurons",
		Long: `neurons-connector runs Okta and OneLogin user connectors for the Ivanti Neurons
platform. It keeps connector configurations, sealed secrets and sync cursors in
a local database and pushes only changed users to Neurons.

Settings come from the environment:
` + indent(settings.Describe(), "  ") + `

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid input
(nothing was changed).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			for c := cmd; c != nil; c = c.Parent() {
				if c.Annotations[skipSettings] != "" || builtin[c.Name()] {
					return nil
				}
			}
			if err := a.readEnvFile(cmd); err != nil {
				return err
			}
			if err := a.loadSettings(cmd.Context()); err != nil {
				return err
			}
			return a.forward(cmd, args)
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.dataDirFlag, "data-dir", "",
		"folder of the database and key file (overrides NC_DATA_DIR)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v; see: %s --help", err, c.CommandPath())
	})
	root.AddCommand(a.connectorCmd(), a.runCmd(), a.mappingCmd(), a.statusCmd(), a.serveCmd(), a.serviceCmd(), a.demoCmd(),
		a.benchCmd(), a.benchServeCmd(), a.versionCmd())
	for _, p := range []string{"connector", "run", "status", "mapping export"} {
		annotate(root, usesDB, p)
	}
	annotate(root, dbHint, "mapping check")
	return root
}

// annotate marks the command at path with key.
func annotate(root *cobra.Command, key, path string) {
	c, _, err := root.Find(strings.Fields(path))
	if err != nil || c == root {
		panic("no command " + path) // a typo here is a programming error
	}
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[key] = "yes"
}

// readEnvFile takes in the settings file of --env-file (serve, service
// install): its values apply where the environment has none.
func (a *app) readEnvFile(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("env-file")
	if f == nil || !f.Changed || cmd.Name() != "serve" {
		return nil
	}
	vars, err := service.LoadEnvFile(f.Value.String())
	if err != nil {
		return usagef("--env-file: %v", err)
	}
	env := a.lookup
	a.lookup = func(k string) (string, bool) {
		if v, ok := env(k); ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	}
	return nil
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
	return c
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

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "Print the program's version",
		Args:        needArgs(0, "no arguments"),
		Annotations: map[string]string{skipSettings: "yes"},
		RunE: action(func(*cobra.Command, []string) error {
			rev := "unknown commit"
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						rev = "commit " + s.Value
					}
				}
			}
			_, err := fmt.Fprintf(a.stdout, "neurons-connector %s (%s, %s, %s/%s)\n",
				version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		}),
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
