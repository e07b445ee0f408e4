package egress

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CAs SSL_CERT_FILE and SSL_CERT_DIR name are read as Go reads them on
// Unix (what Windows' store is given, since Go there reads neither), and a
// variable that names nothing usable is an error that names it.
func TestEnvRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A bundle as openssl writes one: text around the blocks, a key too.
	bundle := write("proxy-ca.pem", append(append([]byte("subject=CN=Proxy\n"), ca...), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"...))
	notPEM := write("proxy-ca.der", []byte{0x30, 0x82, 0x01, 0x0a})
	certs := filepath.Join(dir, "certs")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{certs, empty} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(certs, "proxy.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, "README"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		file, dirs string
		want       int
		wantErr    string
	}{
		{name: "neither", want: 0},
		{name: "a bundle", file: bundle, want: 1},
		{name: "folders", dirs: certs + string(filepath.ListSeparator) + certs, want: 2},
		{name: "both", file: bundle, dirs: certs, want: 2},
		{name: "a file that is not there", file: filepath.Join(dir, "gone.pem"), wantErr: "SSL_CERT_FILE " + filepath.Join(dir, "gone.pem")},
		{name: "a DER file", file: notPEM, wantErr: "SSL_CERT_FILE " + notPEM + " holds no certificate in PEM"},
		{name: "a folder without certificates", dirs: empty, wantErr: "SSL_CERT_DIR " + empty + " holds no certificate in PEM"},
		{name: "a folder that is not there", dirs: filepath.Join(dir, "none"), wantErr: "SSL_CERT_DIR " + filepath.Join(dir, "none")},
		// As Go on Unix: a folder of the list that is not there is passed over.
		{name: "a list with a folder not there", dirs: filepath.Join(dir, "none") + string(filepath.ListSeparator) + certs, want: 1},
		{name: "a list of folders without certificates", dirs: empty + string(filepath.ListSeparator) + filepath.Join(dir, "none"), wantErr: "SSL_CERT_DIR " + empty},
	} {
		env := map[string]string{"SSL_CERT_FILE": tc.file, "SSL_CERT_DIR": tc.dirs}
		got, err := EnvRoots(func(k string) string { return env[k] })
		// The check every command makes reads less, and says the same.
		if checked := CheckEnvRoots(func(k string) string { return env[k] }); fmt.Sprint(checked) != fmt.Sprint(err) {
			t.Errorf("%s: the check says %v, the read %v", tc.name, checked, err)
		}
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || len(got) != tc.want):
			t.Errorf("%s: %d certificates, %v; want %d", tc.name, len(got), err, tc.want)
		case tc.wantErr == "" && tc.want > 0 && !got[0].Equal(srv.Certificate()):
			t.Errorf("%s: another certificate", tc.name)
		}
	}
}
