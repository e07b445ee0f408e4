package cli

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputChangesNothing feeds the commands every kind of bad input an
// admin produces and checks the contract: exit code 2, one line on stderr
// naming the option (or variable) at fault, nothing on stdout, and every
// file in the data directory byte for byte as it was.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod")
	h.addOneLogin("OneLogin")
	tokenFile := filepath.Join(t.TempDir(), "two-lines")
	if err := os.WriteFile(tokenFile, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["EMPTY_TOKEN"] = ""
	openEnv := filepath.Join(t.TempDir(), "open.env")
	if err := os.WriteFile(openEnv, []byte("NC_SINK=csv\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What Windows PowerShell 5 writes for "NC_SINK=csv" > file: UTF-16LE.
	utf16Env := filepath.Join(t.TempDir(), "utf16.env")
	if err := os.WriteFile(utf16Env, []byte("\xff\xfeN\x00C\x00_\x00S\x00I\x00N\x00K\x00=\x00c\x00s\x00v\x00\r\x00\n\x00"), 0o600); err != nil {
		t.Fatal(err)
	}

	okta := func(extra ...string) []string {
		return append([]string{"connector", "add", "okta", "--name", "New", "--url", "https://new.okta.com", "--token-env", "OKTA_TOKEN"}, extra...)
	}
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		names string // what the message must name
	}{
		{"missing name", []string{"connector", "add", "okta", "--url", "https://a.okta.com", "--token-env", "OKTA_TOKEN"}, nil, "--name"},
		{"empty name", okta("--name", ""), nil, "--name"},
		{"name too long", okta("--name", strings.Repeat("x", 101)), nil, "--name"},
		{"name with control character", okta("--name", "bad\x07name"), nil, "--name"},
		{"name with slash", okta("--name", "okta/prod"), nil, "--name"},
		{"duplicate name, other case", okta("--name", "OKTA PROD"), nil, "--name"},
		{"empty server", okta("--server", ""), nil, "--server"},
		{"http to a public host", okta("--url", "http://acme.okta.com"), nil, "--url"},
		{"url with path", okta("--url", "https://acme.okta.com/admin"), nil, "--url"},
		{"admin console url", okta("--url", "https://acme-admin.okta.com"), nil, "--url"},
		{"okta subdomain only", okta("--url", "acme"), nil, "https://acme.okta.com"},
		{"url with a password", okta("--url", "https://us er:Url-Password-77@x"), nil, "--url"},
		{"token url with a password", []string{"status"}, map[string]string{"NC_NEURONS_TOKEN_URL": "https://a:Url-Password-77@ho st/t"}, "NC_NEURONS_TOKEN_URL"},
		{"missing url", []string{"connector", "add", "okta", "--name", "N", "--token-env", "OKTA_TOKEN"}, nil, "--url"},
		{"unknown status", okta("--user-status", "ACTIVE,ACTIV"), nil, "--user-status"},
		{"empty status list", okta("--user-status", ","), nil, "--user-status"},
		{"onelogin status on okta", okta("--user-status", "password-pending"), nil, "--user-status"},
		{"start time out of range", okta("--start-time", "24:00"), nil, "--start-time"},
		{"start time not HH:MM", okta("--start-time", "2pm"), nil, "--start-time"},
		{"unknown period", okta("--repeats", "yearly"), nil, "--repeats"},
		{"unknown time zone", okta("--time-zone", "Mars/Olympus"), nil, "--time-zone"},
		{"rate share zero", okta("--rate-share", "0"), nil, "--rate-share"},
		{"rate share over 100", okta("--rate-share", "101"), nil, "--rate-share"},
		{"rate share not a number", okta("--rate-share", "half"), nil, "--rate-share"},
		{"full every too short", okta("--full-every", "10m"), nil, "--full-every"},
		{"max deletes not a number", okta("--max-deletes", "many"), nil, "--max-deletes"},
		{"max deletes negative", okta("--max-deletes", "-5"), nil, "--max-deletes"},
		{"max deletes over 100%", okta("--max-deletes", "150%"), nil, "--max-deletes"},
		{"edit max deletes fraction", []string{"connector", "edit", "Okta prod", "--max-deletes", "2.5%"}, nil, "--max-deletes"},
		{"confirm a dry run", []string{"run", "Okta prod", "--confirm-deletes", "--dry-run"}, nil, "--confirm-deletes"},
		{"active and inactive", okta("--active", "--inactive"), nil, "--active"},
		{"token variable unset", okta("--token-env", "NO_SUCH_VAR"), nil, "--token-env"},
		{"token variable empty", okta("--token-env", "EMPTY_TOKEN"), nil, "--token-env"},
		{"token value given as a name", okta("--token-env", "00abc-secret-value"), nil, "--token-env"},
		{"token file missing", []string{"connector", "add", "okta", "--name", "N", "--url", "https://a.okta.com", "--token-file", "/no/such/file"}, nil, "--token-file"},
		{"token file with two lines", []string{"connector", "add", "okta", "--name", "N", "--url", "https://a.okta.com", "--token-file", tokenFile}, nil, "--token-file"},
		{"no token", []string{"connector", "add", "okta", "--name", "N", "--url", "https://a.okta.com"}, nil, "--token-env"},
		{"two token sources", okta("--token-file", tokenFile), nil, "--token-env"},
		{"token as a plain flag", okta("--token", "00abc"), nil, "--token"},
		{"onelogin without client id", []string{"connector", "add", "onelogin", "--name", "N", "--domain", "a.onelogin.com", "--client-secret-env", "OL_SECRET"}, nil, "--client-id"},
		{"onelogin okta status", []string{"connector", "add", "onelogin", "--name", "N", "--domain", "a.onelogin.com", "--client-id", "c", "--client-secret-env", "OL_SECRET", "--user-status", "LOCKED_OUT"}, nil, "--user-status"},
		{"onelogin subdomain only", []string{"connector", "add", "onelogin", "--name", "N", "--domain", "acme", "--client-id", "c", "--client-secret-env", "OL_SECRET"}, nil, "acme.onelogin.com"},
		// Another kind's flag names what this kind takes instead.
		{"onelogin with --url", []string{"connector", "add", "onelogin", "--name", "N", "--url", "https://a.onelogin.com"}, nil,
			"--url is an option of okta connectors; onelogin connectors take --domain"},
		{"okta with --domain", okta("--domain", "a.okta.com"), nil, "--domain is an option of onelogin connectors; okta connectors take --url"},
		{"onelogin with an okta token", []string{"connector", "add", "onelogin", "--name", "N", "--domain", "a.onelogin.com", "--client-id", "c", "--token-env", "OKTA_TOKEN"}, nil,
			"--token-env gives the Okta API token; onelogin connectors take --client-secret-env, --client-secret-file, --client-secret-stdin"},
		{"unknown connector type", []string{"connector", "add", "azure"}, nil, "azure"},
		{"edit unknown connector", []string{"connector", "edit", "Nope", "--repeats", "hourly"}, nil, "Nope"},
		{"edit with nothing to change", []string{"connector", "edit", "Okta prod"}, nil, "option"},
		{"edit okta with --client-id", []string{"connector", "edit", "Okta prod", "--client-id", "x"}, nil, "--client-id"},
		{"edit onelogin with --token-env", []string{"connector", "edit", "OneLogin", "--token-env", "OKTA_TOKEN"}, nil, "--token-env"},
		{"edit to a taken name", []string{"connector", "edit", "OneLogin", "--name", "okta prod"}, nil, "--name"},
		{"edit bad value after good ones", []string{"connector", "edit", "Okta prod", "--repeats", "hourly", "--rate-share", "500"}, nil, "--rate-share"},
		{"show unknown connector", []string{"connector", "show", "Nope"}, nil, "Nope"},
		{"remove unknown connector", []string{"connector", "remove", "Nope"}, nil, "Nope"},
		{"remove without a name", []string{"connector", "remove"}, nil, "NAME"},
		{"status unknown connector", []string{"status", "Nope"}, nil, "Nope"},
		{"unknown command", []string{"conector", "list"}, nil, "conector"},
		{"unknown subcommand", []string{"connector", "lst"}, nil, "lst"},
		{"unknown flag", []string{"connector", "list", "--jsn"}, nil, "--jsn"},
		{"bad setting", []string{"connector", "list"}, map[string]string{"NC_LOG_FORMAT": "xml"}, "NC_LOG_FORMAT"},
		{"bad secret key setting", okta(), map[string]string{"NC_SECRET_KEY": "c2hvcnQ="}, "NC_SECRET_KEY"},
		// A proxy's CA saved as DER, or a path mistyped: it would show only
		// as an untrusted certificate at the first run.
		{"a CA file without a certificate", []string{"connector", "list"}, map[string]string{"SSL_CERT_FILE": tokenFile}, "SSL_CERT_FILE " + tokenFile + " holds no certificate in PEM"},
		{"a CA folder that is not there", okta(), map[string]string{"SSL_CERT_DIR": filepath.Join(t.TempDir(), "certs")}, "SSL_CERT_DIR"},
		{"listen off loopback", []string{"status"}, map[string]string{"NC_LISTEN": "0.0.0.0:7780"}, "NC_LISTEN"},
		{"serve with a missing settings file", []string{"serve", "--env-file", "/no/such/nc.env"}, nil, "--env-file"},
		{"serve with a settings file others can read", []string{"serve", "--env-file", openEnv}, nil, "chmod 600"},
		{"serve with a UTF-16 settings file", []string{"serve", "--env-file", utf16Env}, nil, "save it as UTF-8"},
		{"serve with a bad test clock", []string{"serve"}, map[string]string{testClockVar: "soon"}, testClockVar},
		{"serve with an argument", []string{"serve", "now"}, nil, "no arguments"},
		{"unknown service action", []string{"service", "reload"}, nil, "reload"},
		{"demo with too few users", []string{"demo", "--users", "1"}, nil, "--users"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saved := maps.Clone(h.env)
			defer func() { h.env = saved }()
			maps.Copy(h.env, tc.env)
			before := h.snapshot()
			r := h.run(tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.names) {
				t.Errorf("stderr %q does not name %s", r.stderr, tc.names)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			for _, secret := range []string{h.env["OKTA_TOKEN"], h.env["OL_SECRET"], "Url-Password-77"} {
				if strings.Contains(r.stderr, secret) {
					t.Error("a secret appears in the error")
				}
			}
			if after := h.snapshot(); !maps.Equal(before, after) {
				t.Error("the data directory changed")
			}
		})
	}
}
