package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/internal/nearest"
	"neurons-connector/service"
	"neurons-connector/settings"
)

// networkVariables are the variables outside the program's settings that a
// settings file may set for the process: how Go's HTTP client finds a
// proxy and its TLS verification finds extra CAs. A service has no other
// environment to take them from (the systemd unit and the Windows service
// carry none), and a service behind a proxy that inspects TLS needs both.
var networkVariables = map[string]bool{"HTTPS_PROXY": true, "HTTP_PROXY": true, "NO_PROXY": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true}

// settingsFileNames are the lines service install writes into a new
// settings file, each from the installing shell (sudo -E) if set there,
// else as a comment to fill in: the settings, then the proxy and CA
// variables, so that an admin behind a proxy finds where they go.
func settingsFileNames() []string {
	return append(settings.Variables(), slices.Sorted(maps.Keys(networkVariables))...)
}

// settingsFile is the settings file a command reads besides the
// environment, and whether it must exist: serve's --env-file; else, for a
// command on the service's data directory (neither --data-dir nor
// NC_DATA_DIR given), the service's own file (service install's), so that
// `sudo neurons-connector run …` with the service stopped finds the
// service's data directory, sink and mapping overrides, as the service
// would. Empty: none.
func (t *tree) settingsFile(cmd *cobra.Command) (path string, required bool) {
	if f := cmd.Flags().Lookup("env-file"); f != nil && f.Changed && cmd.Name() == "serve" {
		return f.Value.String(), true
	}
	if _, set := t.env.Lookup("NC_DATA_DIR"); set || t.dataDir != "" {
		return "", false
	}
	if t.env.SettingsFile != "" {
		return t.env.SettingsFile, false
	}
	return t.defaultEnvFile(), false
}

// withSettingsFile adds the command's settings file (settingsFile) to
// lookup: its values apply where the environment has none. The service's
// file is skipped when it does not exist or this account may not read it
// (an account other than root, the service's or an administrator, which
// works on a data directory of its own); otherwise it must be private and
// well-formed, as serve requires. Proxy and CA variables in it are set in
// the process's environment; a name that is neither a setting nor one of
// those is an error if it starts with NC_ (a misspelt setting would
// otherwise be ignored without a word, and a misspelt NC_NEURONS_URL sends
// everything to the CSV drop) and a warning otherwise.
func (t *tree) withSettingsFile(cmd *cobra.Command, lookup func(string) (string, bool)) (func(string) (string, bool), []string, error) {
	path, required := t.settingsFile(cmd)
	if path == "" {
		return lookup, nil, nil
	}
	if !required {
		f, err := os.Open(path) //nolint:gosec // G304: the service's settings file, at its platform path
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return lookup, nil, nil
		}
		if err == nil {
			_ = f.Close()
		}
	}
	vars, err := service.LoadEnvFile(path)
	if err != nil {
		if required && errors.Is(err, fs.ErrPermission) {
			// An earlier version's install closed /etc/neurons-connector to
			// the service's account; `service start` lets it in.
			return nil, nil, usagef("--env-file: %v; this account may not read it or a folder above it: for the service, "+
				"run sudo neurons-connector service start, which lets its account in, or give the folder to the account's group", err)
		}
		if required {
			return nil, nil, usagef("--env-file: %v", err)
		}
		return nil, nil, usagef("%v (the service's settings, which commands on its data directory read too; fix the file, or give --data-dir)", err)
	}
	known := knownVariables()
	var problems, warnings []string
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		switch {
		case name == cpuProfileVar:
			warnings = append(warnings, fmt.Sprintf("settings file %s: %s is read from the environment only, as the process starts; ignored",
				path, name))
		case known[name]:
		case networkVariables[strings.ToUpper(name)]:
			if _, set := lookup(name); !set && t.env.Setenv != nil {
				if err := t.env.Setenv(name, vars[name]); err != nil {
					return nil, nil, fmt.Errorf("settings file %s: set %s: %w", path, name, err)
				}
			}
		case strings.HasPrefix(strings.ToUpper(name), "NC_"):
			problems = append(problems, fmt.Sprintf("%s is not a setting%s", name, didYouMean(name, known)))
		default:
			warnings = append(warnings, fmt.Sprintf("settings file %s: %s is not read (the file takes the NC_ settings and %s); ignored",
				path, name, strings.Join(slices.Sorted(maps.Keys(networkVariables)), ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, nil, usagef("settings file %s: %s; the settings are listed by neurons-connector --help", path, strings.Join(problems, "; "))
	}
	return func(k string) (string, bool) {
		if v, ok := lookup(k); ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	}, warnings, nil
}

// misspelt warns of the environment's variables that look like a setting
// misspelt (NC_NEURON_URL): ignored, such a variable leaves its setting at
// the default without a word (a misspelt NC_NEURONS_URL sends everything
// to the CSV drop). Only names close to a setting are named: other
// programs may use the NC_ prefix too. The settings file is stricter
// (withSettingsFile).
func (t *tree) misspelt() []string {
	if t.env.Environ == nil {
		return nil
	}
	known := knownVariables()
	var out []string
	for _, kv := range t.env.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if known[name] || !strings.HasPrefix(strings.ToUpper(name), "NC_") {
			continue
		}
		if hint := didYouMean(name, known); hint != "" {
			out = append(out, fmt.Sprintf("the environment sets %s, which is not a setting%s; it is ignored", name, hint))
		}
	}
	slices.Sort(out)
	return out
}

// cpuProfileVar is main's NC_CPU_PROFILE, read before any command runs.
const cpuProfileVar = "NC_CPU_PROFILE"

// knownVariables are the names a settings file or the environment may
// set as settings.
func knownVariables() map[string]bool {
	known := map[string]bool{testClockVar: true, cpuProfileVar: true}
	for _, name := range settings.Variables() {
		known[name] = true
	}
	return known
}

// didYouMean names the known setting closest to name, if one is close
// enough to be what was meant (a letter or three off, or another case).
func didYouMean(name string, known map[string]bool) string {
	if best := nearest.Name(name, slices.Sorted(maps.Keys(known)), 3); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}
