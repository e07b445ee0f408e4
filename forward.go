package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"neurons-connector/connector"
	"neurons-connector/service"
)

// Annotations of commands that touch the database. While the daemon runs it
// holds the database (bbolt allows one process), so these go through its
// control endpoint instead; without a daemon they open the file themselves.
const (
	usesDB = "uses-db" // hand the whole command to the daemon
	dbHint = "db-hint" // the database is only a hint: do without it
)

// remoteExit is the exit code of a command the daemon ran; its output has
// been copied already.
type remoteExit struct{ code int }

func (r *remoteExit) Error() string {
	return fmt.Sprintf("the service's command exited with %d", r.code)
}

func annotated(cmd *cobra.Command, key string) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[key] != "" {
			return true
		}
	}
	return false
}

// forward hands cmd to the daemon if one holds the database. It returns
// nil when the command should run here.
func (a *app) forward(cmd *cobra.Command, args []string) error {
	if a.inDaemon != nil || (!annotated(cmd, usesDB) && !annotated(cmd, dbHint)) {
		return nil
	}
	cl, err := service.Find(cmd.Context(), a.cfg.DataDir)
	if err != nil || cl == nil {
		return err
	}
	if annotated(cmd, dbHint) {
		a.skipDB = true
		return nil
	}
	req, outFile, err := a.forwardRequest(cmd, args)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	stdout := a.stdout
	if outFile != "" {
		stdout = &buf
	}
	code, err := cl.Exec(cmd.Context(), req, stdout, a.stderr)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	if outFile != "" && code == 0 {
		if err := writeFileAtomic(outFile, buf.Bytes(), 0o644); err != nil {
			return &exitError{code: 1, err: err}
		}
		fmt.Fprintf(a.stdout, "Wrote the table (%d rows) to %s.\n", max(bytes.Count(buf.Bytes(), []byte("\n"))-1, 0), outFile)
	}
	return &remoteExit{code: code}
}

// forwardRequest rebuilds the command line for the daemon. Secrets named by
// --token-env / --token-file (and the OneLogin ones) are read here, where
// the variable or file is, and travel as standard input; --data-dir is the
// daemon's own; mapping export -o is written here.
func (a *app) forwardRequest(cmd *cobra.Command, args []string) (service.ExecRequest, string, error) {
	var path []string
	for c := cmd; c.HasParent(); c = c.Parent() {
		path = append([]string{c.Name()}, path...)
	}
	secretFlag := map[string]bool{}
	for _, names := range secretFlags {
		for _, n := range names {
			secretFlag[n] = true
		}
	}
	fs := cmd.Flags()
	var req service.ExecRequest
	var flags []string
	var outFile string
	fs.Visit(func(f *pflag.Flag) {
		switch {
		case f.Name == "data-dir" || secretFlag[f.Name]:
		case f.Name == "output" && strings.Join(path, " ") == "mapping export":
			outFile = f.Value.String()
		default:
			flags = append(flags, "--"+f.Name+"="+f.Value.String())
		}
	})
	for _, k := range connector.Kinds {
		if len(given(fs, secretFlags[k]...)) == 0 {
			continue
		}
		str := func(name string) string { v, _ := fs.GetString(name); return v }
		o := options{tokenEnv: str("token-env"), tokenFile: str("token-file"),
			secretEnv: str("client-secret-env"), secretFile: str("client-secret-file")}
		v, _, err := a.readSecret(fs, &o, k)
		if err != nil {
			return req, "", err
		}
		req.Stdin = append([]byte(nil), v.Reveal()...)
		flags = append(flags, "--"+secretFlags[k][2])
		break
	}
	req.Args = append(append(append(path, flags...), "--"), args...)
	return req, outFile, nil
}
