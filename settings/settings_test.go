package settings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"neurons-connector/internal/private"
	"neurons-connector/secret"
)

func load(t *testing.T, env map[string]string) (Settings, error) {
	t.Helper()
	return Load(context.Background(), envconfig.MapLookuper(env), Overrides{DefaultDataDir: "/var/lib/neurons-connector"})
}

func TestDefaults(t *testing.T) {
	s, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	dataDir, _ := filepath.Abs("/var/lib/neurons-connector") // on Windows, on the current drive
	want := Settings{
		DataDir: dataDir, ServerName: "Cloud", Sink: SinkCSV,
		CSVDir: filepath.Join(dataDir, "csv"), Listen: "127.0.0.1:7780", LogLevel: "info", LogFormat: "text",
	}
	if s.DataDir != want.DataDir || s.ServerName != want.ServerName || s.Sink != want.Sink || s.CSVDir != want.CSVDir ||
		s.Listen != want.Listen || s.LogLevel != want.LogLevel || s.LogFormat != want.LogFormat {
		t.Fatalf("defaults = %+v", s)
	}
}

func TestDataDirFlagWins(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(context.Background(), envconfig.MapLookuper(map[string]string{"NC_DATA_DIR": "/elsewhere"}),
		Overrides{DataDir: dir, DefaultDataDir: "/var/lib/x"})
	if err != nil || s.DataDir != dir || s.CSVDir != filepath.Join(dir, "csv") {
		t.Fatalf("DataDir = %q, CSVDir = %q, %v", s.DataDir, s.CSVDir, err)
	}
}

func TestNeuronsSink(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := load(t, map[string]string{
		"NC_NEURONS_URL": "https://neurons.example.com/", "NC_NEURONS_TOKEN_URL": "https://neurons.example.com/t/connect/token",
		"NC_NEURONS_CLIENT_ID": "cid", "NC_NEURONS_CLIENT_SECRET_FILE": secretFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Sink != SinkNeurons || s.NeuronsURL != "https://neurons.example.com" || string(s.NeuronsClientSecret.Reveal()) != "file-secret" {
		t.Fatalf("sink settings = %+v", s)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	const clientSecret = "Sup3r-Secret-Value"
	_, err := load(t, map[string]string{
		"NC_SERVER_NAME":           " ",
		"NC_SINK":                  "neurons",
		"NC_NEURONS_URL":           "http://neurons.example.com",
		"NC_NEURONS_CLIENT_SECRET": clientSecret,
		"NC_LISTEN":                "0.0.0.0:7780",
		"NC_LOG_LEVEL":             "verbose",
		"NC_LOG_FORMAT":            "xml",
		"NC_MAPPINGS_DIR":          "/does/not/exist",
		"NC_SECRET_KEY":            "not-base64!" + clientSecret,
	})
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *Error", err)
	}
	for _, name := range []string{"NC_SERVER_NAME", "NC_NEURONS_URL", "NC_NEURONS_TOKEN_URL", "NC_NEURONS_CLIENT_ID",
		"NC_LISTEN", "NC_LOG_LEVEL", "NC_LOG_FORMAT", "NC_MAPPINGS_DIR", "NC_SECRET_KEY"} {
		found := false
		for _, p := range se.Problems {
			found = found || strings.HasPrefix(p, name+":")
		}
		if !found {
			t.Errorf("no problem reported for %s in:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Error("a secret value appears in the error")
	}
}

func TestSecretTwice(t *testing.T) {
	_, err := load(t, map[string]string{"NC_NEURONS_CLIENT_SECRET": "a", "NC_NEURONS_CLIENT_SECRET_FILE": "/x"})
	if err == nil || !strings.Contains(err.Error(), "NC_NEURONS_CLIENT_SECRET_FILE: is set together") {
		t.Fatalf("err = %v", err)
	}
}

func TestListenLoopbackForms(t *testing.T) {
	for _, l := range []string{"127.0.0.1:7780", "[::1]:7780", "localhost:0"} {
		if _, err := load(t, map[string]string{"NC_LISTEN": l}); err != nil {
			t.Errorf("NC_LISTEN=%s: %v", l, err)
		}
	}
	for _, l := range []string{"7780", ":7780", "192.168.1.5:7780", "127.0.0.1:http"} {
		if _, err := load(t, map[string]string{"NC_LISTEN": l}); err == nil {
			t.Errorf("NC_LISTEN=%s accepted", l)
		}
	}
}

// SinkName names the sink by where batches go: the same tenant written
// another way, or reached with another App Registration, is the same sink;
// another URL or the CSV drop is not.
func TestSinkName(t *testing.T) {
	neurons := func(url, token, client string) string {
		t.Helper()
		s, err := load(t, map[string]string{"NC_NEURONS_URL": url, "NC_NEURONS_TOKEN_URL": token,
			"NC_NEURONS_CLIENT_ID": client, "NC_NEURONS_CLIENT_SECRET": "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		return s.SinkName()
	}
	a := neurons("https://ingest.example.com", "https://landscape.example.com/t1/connect/token", "cid")
	if a != "Neurons at https://ingest.example.com (token URL https://landscape.example.com/t1/connect/token)" {
		t.Errorf("SinkName = %q", a)
	}
	if b := neurons("https://INGEST.example.com/", "https://landscape.example.com/t1/connect/token/", "another-cid"); b != a {
		t.Errorf("the same tenant written another way: %q, want %q", b, a)
	}
	if c := neurons("https://ingest.example.com", "https://landscape.example.com/t2/connect/token", "cid"); c == a {
		t.Errorf("another tenant has the same name %q", c)
	}
	s, err := load(t, map[string]string{"NC_CSV_DIR": t.TempDir()})
	if err != nil || s.SinkName() != "the CSV drop in "+s.CSVDir {
		t.Errorf("CSV: %q, %v", s.SinkName(), err)
	}
}

// NC_NEURONS_URL is the ingestion service's base URL; the endpoint's own
// URL, pasted whole, is taken as its base, not doubled into a 404.
func TestNeuronsURLPastedWithItsPath(t *testing.T) {
	s, err := load(t, map[string]string{"NC_NEURONS_URL": "https://ingest.example.com/tenant-1/api/connectors/v1/ingest/",
		"NC_NEURONS_TOKEN_URL": "https://landscape.example.com/t1/connect/token", "NC_NEURONS_CLIENT_ID": "cid", "NC_NEURONS_CLIENT_SECRET": "s"})
	if err != nil || s.NeuronsURL != "https://ingest.example.com/tenant-1" {
		t.Errorf("NeuronsURL = %q, %v", s.NeuronsURL, err)
	}
}

// A secret file the account may not read (root's, mode 0600, beside the
// settings file, read by the service's own account) names the fix. The
// tests run as root, whom no file refuses: the read is stood in for.
func TestAnUnreadableSecretFileNamesTheFix(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secretFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	read := readSecretFile
	t.Cleanup(func() { readSecretFile = read })
	readSecretFile = func(path string) (secret.Value, error) {
		return secret.Value{}, fmt.Errorf("cannot read %s: %w", path, fs.ErrPermission)
	}
	_, err := load(t, map[string]string{
		"NC_NEURONS_URL": "https://neurons.example.com/", "NC_NEURONS_TOKEN_URL": "https://neurons.example.com/t/connect/token",
		"NC_NEURONS_CLIENT_ID": "cid", "NC_NEURONS_CLIENT_SECRET_FILE": secretFile,
	})
	if err == nil || !strings.Contains(err.Error(), "NC_NEURONS_CLIENT_SECRET_FILE: cannot read "+secretFile+": permission denied; this account") ||
		!strings.Contains(err.Error(), secretFile) || !strings.Contains(err.Error(), private.ReadFix(secretFile)) {
		t.Fatalf("err = %v", err)
	}
}
