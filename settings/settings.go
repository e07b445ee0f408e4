// Package settings decodes the program's environment (product.md §3) once,
// with go-envconfig, and checks it as a whole: every problem is reported at
// once, each naming its variable, and no value of a secret variable is ever
// quoted.
package settings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"neurons-connector/connector"
	"neurons-connector/internal/private"
	"neurons-connector/internal/redact"
	"neurons-connector/secret"
)

// readSecretFile reads NC_NEURONS_CLIENT_SECRET_FILE; a variable so that
// a test can stand in for it (tests run as root, whom no file refuses).
var readSecretFile = secret.FromFile

// withReadFix adds to err, when this account was refused path, how to let
// it read the file: the service's account cannot read one root wrote with
// mode 0600 beside the settings file, nor one in a folder closed to it.
func withReadFix(err error, path string) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fmt.Errorf("%w; %s", err, private.ReadFix(path))
}

// Sink kinds.
const (
	SinkNeurons = "neurons"
	SinkCSV     = "csv"
)

// Settings is the decoded environment. Fields are plain strings so that
// decoding never fails on a value; Load checks them afterwards, which is what
// lets it report every problem together.
type Settings struct {
	DataDir    string `env:"NC_DATA_DIR"`
	ServerName string `env:"NC_SERVER_NAME, default=Cloud"`

	NeuronsURL          string       `env:"NC_NEURONS_URL"`
	NeuronsTokenURL     string       `env:"NC_NEURONS_TOKEN_URL"`
	NeuronsClientID     string       `env:"NC_NEURONS_CLIENT_ID"`
	NeuronsClientSecret secret.Value `env:"NC_NEURONS_CLIENT_SECRET"`
	NeuronsSecretFile   string       `env:"NC_NEURONS_CLIENT_SECRET_FILE"`
	NeuronsScope        string       `env:"NC_NEURONS_SCOPE"`

	Sink        string `env:"NC_SINK"`
	CSVDir      string `env:"NC_CSV_DIR"`
	MappingsDir string `env:"NC_MAPPINGS_DIR"`
	Listen      string `env:"NC_LISTEN, default=127.0.0.1:7780"`
	LogLevel    string `env:"NC_LOG_LEVEL, default=info"`
	LogFormat   string `env:"NC_LOG_FORMAT, default=text"`

	// SecretKey, when set, replaces <data dir>/secret.key (base64, 32 bytes).
	SecretKey secret.Value `env:"NC_SECRET_KEY"`
}

// Overrides are values that outrank the environment or stand in for its
// platform-dependent defaults.
type Overrides struct {
	DataDir        string // --data-dir; wins over NC_DATA_DIR
	DefaultDataDir string // the platform's default when neither is given
}

// Error lists every problem found in the environment.
type Error struct{ Problems []string }

// Error prints one problem on one line, and several one per line.
func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid setting " + e.Problems[0]
	}
	return fmt.Sprintf("%d invalid settings:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Load decodes and checks the environment seen through lookup.
func Load(ctx context.Context, lookup envconfig.Lookuper, o Overrides) (Settings, error) {
	var s Settings
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &s, Lookuper: lookup}); err != nil {
		return s, fmt.Errorf("decode settings: %w", err)
	}
	var p problems
	if o.DataDir != "" {
		s.DataDir = o.DataDir
	}
	if s.DataDir == "" {
		s.DataDir = o.DefaultDataDir
	}
	s.DataDir = p.dir("NC_DATA_DIR", s.DataDir)
	if err := connector.CheckServer(s.ServerName); err != nil {
		p.add("NC_SERVER_NAME", "%v", err)
	}
	s.checkSink(&p)
	switch {
	case s.CSVDir != "":
		s.CSVDir = p.dir("NC_CSV_DIR", s.CSVDir)
	case s.DataDir != "":
		s.CSVDir = filepath.Join(s.DataDir, "csv")
	}
	if s.MappingsDir != "" {
		s.MappingsDir = p.dir("NC_MAPPINGS_DIR", s.MappingsDir)
		if info, err := os.Stat(s.MappingsDir); err != nil || !info.IsDir() {
			p.add("NC_MAPPINGS_DIR", "%s is not a readable folder; create it or unset the variable", s.MappingsDir)
		} else if err := private.Check(s.MappingsDir, private.Input); err != nil {
			// Its tables decide what every user's record says in Neurons.
			p.add("NC_MAPPINGS_DIR", "%v", err)
		}
	}
	s.checkListen(&p)
	s.LogLevel = p.oneOf("NC_LOG_LEVEL", s.LogLevel, "debug", "info", "warn", "error")
	s.LogFormat = p.oneOf("NC_LOG_FORMAT", s.LogFormat, "text", "json")
	if s.SecretKey.IsSet() {
		if _, err := secret.ParseKey(string(s.SecretKey.Reveal())); err != nil {
			p.add("NC_SECRET_KEY", "%v", err)
		}
	}
	if len(p) > 0 {
		return s, &Error{Problems: p}
	}
	return s, nil
}

// SinkName names where batches go, in words an admin recognises: "Neurons
// at URL (token URL)" or "the CSV drop in DIR". The engine keeps it with
// each connector's state, so that a run can tell that the sink is not the
// one its snapshot describes (see engine.Engine.Sink). Only the URLs count
// for Neurons (the tenant), not the client ID: a new App Registration for
// the same tenant is the same sink. URLs are shown without credentials or
// query values (redact.URL), and compared as written, a trailing slash
// aside.
func (s Settings) SinkName() string {
	if s.Sink == SinkNeurons {
		return fmt.Sprintf("Neurons at %s (token URL %s)", sinkURL(s.NeuronsURL), sinkURL(s.NeuronsTokenURL))
	}
	return "the CSV drop in " + s.CSVDir
}

// sinkURL is a sink's URL as SinkName shows and compares it.
func sinkURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		raw = u.String()
	}
	return redact.URL(strings.TrimRight(raw, "/"))
}

// checkSink resolves NC_SINK's default and checks what the chosen sink needs.
func (s *Settings) checkSink(p *problems) {
	if s.Sink == "" {
		s.Sink = SinkCSV
		if s.NeuronsURL != "" {
			s.Sink = SinkNeurons
		}
	}
	s.Sink = p.oneOf("NC_SINK", s.Sink, SinkNeurons, SinkCSV)
	if s.NeuronsSecretFile != "" {
		if s.NeuronsClientSecret.IsSet() {
			p.add("NC_NEURONS_CLIENT_SECRET_FILE", "is set together with NC_NEURONS_CLIENT_SECRET; set only one")
		} else if err := private.Check(s.NeuronsSecretFile, private.Input); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.add("NC_NEURONS_CLIENT_SECRET_FILE", "%v", withReadFix(err, s.NeuronsSecretFile))
		} else if v, err := readSecretFile(s.NeuronsSecretFile); err != nil {
			p.add("NC_NEURONS_CLIENT_SECRET_FILE", "%v", withReadFix(err, s.NeuronsSecretFile))
		} else {
			s.NeuronsClientSecret = v
		}
	}
	for _, u := range []struct {
		name string
		val  *string
	}{{"NC_NEURONS_URL", &s.NeuronsURL}, {"NC_NEURONS_TOKEN_URL", &s.NeuronsTokenURL}} {
		if *u.val != "" {
			*u.val = p.httpsURL(u.name, *u.val)
		}
	}
	// The ingestion endpoint's own URL, pasted whole, names the same
	// service as its base: the sink adds the path (sink.IngestPath).
	s.NeuronsURL = strings.TrimSuffix(s.NeuronsURL, "/api/connectors/v1/ingest")
	if s.Sink != SinkNeurons {
		return
	}
	for _, req := range []struct {
		name string
		set  bool
	}{
		{"NC_NEURONS_URL", s.NeuronsURL != ""},
		{"NC_NEURONS_TOKEN_URL", s.NeuronsTokenURL != ""},
		{"NC_NEURONS_CLIENT_ID", s.NeuronsClientID != ""},
		{"NC_NEURONS_CLIENT_SECRET", s.NeuronsClientSecret.IsSet() || s.NeuronsSecretFile != ""},
	} {
		if !req.set {
			p.add(req.name, "is required when NC_SINK=neurons; set it from the Neurons App Registration")
		}
	}
}

func (s *Settings) checkListen(p *problems) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		p.add("NC_LISTEN", "%q is not host:port; use e.g. 127.0.0.1:7780", s.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("NC_LISTEN", "port %q is not a number from 0 to 65535", port)
	}
	if !connector.IsLoopback(host) {
		p.add("NC_LISTEN", "%q is not a loopback address; the health and metrics endpoint listens on 127.0.0.1, ::1 or localhost only", host)
	}
}

type problems []string

func (p *problems) add(name, format string, args ...any) {
	*p = append(*p, name+": "+fmt.Sprintf(format, args...))
}

func (p *problems) oneOf(name, v string, valid ...string) string {
	low := strings.ToLower(strings.TrimSpace(v))
	for _, ok := range valid {
		if low == ok {
			return low
		}
	}
	p.add(name, "%q is not valid; use one of: %s", v, strings.Join(valid, ", "))
	return v
}

func (p *problems) dir(name, v string) string {
	if v == "" {
		p.add(name, "is empty; give a folder path")
		return v
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		p.add(name, "%v", err)
		return v
	}
	return abs
}

// httpsURL checks a sink URL: https, or http on a loopback host only.
func (p *problems) httpsURL(name, v string) string {
	u, err := url.Parse(strings.TrimSpace(v))
	switch {
	case err != nil || u.Host == "":
		p.add(name, "%q is not an absolute URL; use https://host/...", redact.URL(v))
	case u.User != nil:
		p.add(name, "must not contain credentials; use NC_NEURONS_CLIENT_ID and NC_NEURONS_CLIENT_SECRET")
	case u.Scheme == "https":
		return strings.TrimRight(u.String(), "/")
	case u.Scheme == "http" && connector.IsLoopback(u.Hostname()):
		return strings.TrimRight(u.String(), "/")
	default:
		p.add(name, "must use https (plain http only for loopback hosts)")
	}
	return v
}

// Describe lists the variables for --help, in the order of product.md §3.
func Describe() string {
	return strings.TrimSpace(`
NC_DATA_DIR                  database, key file and CSV drops (also --data-dir)
NC_SERVER_NAME               this daemon's connector server name (default Cloud)
NC_NEURONS_URL               Neurons ingestion endpoint (selects NC_SINK=neurons)
NC_NEURONS_TOKEN_URL         OAuth token URL of the Neurons App Registration
NC_NEURONS_CLIENT_ID         its client ID
NC_NEURONS_CLIENT_SECRET     its client secret (or NC_NEURONS_CLIENT_SECRET_FILE)
NC_NEURONS_SCOPE             OAuth scope, if the registration needs one
NC_SINK                      neurons or csv
NC_CSV_DIR                   where the CSV drop writes (default <data dir>/csv)
NC_MAPPINGS_DIR              folder of okta.csv / onelogin.csv / <name>.csv overrides
NC_LISTEN                    /healthz and /metrics, read-only (default 127.0.0.1:7780, loopback only)
NC_LOG_LEVEL, NC_LOG_FORMAT  debug|info|warn|error, text|json
NC_SECRET_KEY                base64 sealing key instead of <data dir>/secret.key`)
}

// Variables lists the environment variables Load reads, in declaration
// order: the lines of the service's settings file.
func Variables() []string {
	var names []string
	t := reflect.TypeFor[Settings]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("env"); tag != "" {
			name, _, _ := strings.Cut(tag, ",")
			names = append(names, name)
		}
	}
	return names
}
