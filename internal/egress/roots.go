package egress

import (
	"cmp"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// A proxy that inspects TLS signs with its own CA, which an admin names in
// SSL_CERT_FILE (a file of PEM certificates) or SSL_CERT_DIR (folders of
// them), in the service's settings file. Go reads both on Unix only: on
// Windows it asks the system's certificate store and reads neither, so
// there the CAs they name are added to the system's here.

// EnvRoots reads the certificates SSL_CERT_FILE and SSL_CERT_DIR name
// (through getenv; the folders separated by the system's list separator,
// as Go reads them on Unix): nil when neither is set. An error names the
// variable whose file cannot be read or holds no certificate, or whose
// folders yield none, since an admin who set it meant a CA to be trusted.
func EnvRoots(getenv func(string) string) ([]*x509.Certificate, error) { return envRoots(getenv, true) }

// CheckEnvRoots is EnvRoots's error alone, read no further than each
// variable's first certificate: every command checks the variables as it
// starts, and SSL_CERT_DIR may be a system folder of hundreds.
func CheckEnvRoots(getenv func(string) string) error {
	_, err := envRoots(getenv, false)
	return err
}

// envRoots reads all the certificates, or (all false) each variable's
// first.
func envRoots(getenv func(string) string, all bool) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	if f := strings.TrimSpace(getenv("SSL_CERT_FILE")); f != "" {
		found, err := pemFile(f, all)
		if err != nil {
			return nil, fmt.Errorf("SSL_CERT_FILE %s: %w", f, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("SSL_CERT_FILE %s holds no certificate in PEM (-----BEGIN CERTIFICATE-----); point it at the CA's certificate in that form", f)
		}
		certs = append(certs, found...)
	}
	// Folders as Go reads them on Unix: one that is not there is passed
	// over (a list set for several systems), but a list that yields no
	// certificate at all is a mistake.
	dirs, fromDirs := strings.TrimSpace(getenv("SSL_CERT_DIR")), 0
	var firstErr error
	for _, dir := range filepath.SplitList(dirs) {
		if dir = strings.TrimSpace(dir); dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, e := range entries {
			if !all && fromDirs > 0 {
				break
			}
			if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
				found, _ := pemFile(filepath.Join(dir, e.Name()), all) // other files may sit there, as in /etc/ssl/certs
				certs, fromDirs = append(certs, found...), fromDirs+len(found)
			}
		}
	}
	if dirs != "" && fromDirs == 0 {
		if firstErr != nil {
			return nil, fmt.Errorf("SSL_CERT_DIR %s: %w; point it at a folder of PEM certificates", dirs, firstErr)
		}
		return nil, fmt.Errorf("SSL_CERT_DIR %s holds no certificate in PEM (-----BEGIN CERTIFICATE-----); put the CA's certificate there in that form", dirs)
	}
	return certs, nil
}

// pemFile reads the certificates of a PEM file (all false: the first);
// other blocks are passed over.
func pemFile(path string, all bool) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: a file the admin names for this
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return certs, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			if certs = append(certs, c); !all {
				return certs, nil
			}
		}
	}
}

// systemRoots is nil where Go reads SSL_CERT_FILE and SSL_CERT_DIR itself;
// on Windows (and macOS), the system's store with the CAs they name added
// (verified by the system first, then against those CAs), or nil when they
// name none.
// A variable that names nothing readable leaves the store as it is here:
// commands refuse it at their start (cli), with the fix.
var systemRoots = sync.OnceValue(func() *x509.CertPool {
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" { // macOS asks its keychain, as Windows its store
		return nil
	}
	certs, err := EnvRoots(os.Getenv)
	if err != nil || len(certs) == 0 {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
})
