package connector

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"neurons-connector/internal/redact"
)

// MaxNameLen is the longest connector or server name, in characters.
const MaxNameLen = 100

// fileUnsafe are characters that cannot appear in a file name on Windows or
// Unix. Connector names become file names (NC_MAPPINGS_DIR/<name>.csv and
// the CSV drop's <name>-users.csv), so they may not hold these.
const fileUnsafe = `/\:*?"<>|`

// MaxNameBytes is the longest connector name in bytes of UTF-8: file
// systems (ext4, XFS, APFS) hold 255 bytes in a file name, and the CSV
// drop's "<name>-users.csv" adds ten. A hundred characters of most
// scripts fit; a hundred emoji or CJK characters do not.
const MaxNameBytes = 255 - len("-users.csv")

// windowsDevices are the names Windows keeps for devices: a file named one
// of them, with any extension ("NUL.csv", "CON.x.csv"), is the device, so a
// connector so named could have no mapping override (<name>.csv).
var windowsDevices = []string{"CON", "PRN", "AUX", "NUL",
	"COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³",
	"LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³"}

// CheckName validates a connector name.
func CheckName(name string) error {
	if err := checkLabel(name); err != nil {
		return err
	}
	if i := strings.IndexAny(name, fileUnsafe); i >= 0 {
		return fmt.Errorf("may not contain %q (names become file names); choose another", name[i])
	}
	if len(name) > MaxNameBytes {
		return fmt.Errorf("is %d bytes long in UTF-8, and names become file names, which hold 255 bytes: shorten it to %d bytes or fewer", len(name), MaxNameBytes)
	}
	// Windows reads "CON.csv" as "CON": the part before the first dot,
	// without the spaces that end it.
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.TrimRight(stem, " ")
	for _, dev := range windowsDevices {
		if strings.EqualFold(stem, dev) {
			return fmt.Errorf("%q is a name Windows keeps for a device (CON, PRN, AUX, NUL, COM0-9, LPT0-9), which cannot be a file name there (names become file names); choose another, such as %q", name, "Connector "+name)
		}
	}
	return nil
}

// CheckServer validates a connector server name.
func CheckServer(server string) error { return checkLabel(server) }

func checkLabel(s string) error {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8")
	case n == 0:
		return fmt.Errorf("is empty; give 1 to %d printable characters", MaxNameLen)
	case n > MaxNameLen:
		return fmt.Errorf("is %d characters long; the limit is %d", n, MaxNameLen)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("begins or ends with white space; remove it")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("contains the non-printable character %U; use printable characters only", r)
		}
	}
	return nil
}

// FoldName is the form under which names are compared: "Okta Prod" and
// "okta prod" are the same connector to an admin typing a command.
func FoldName(name string) string { return strings.ToLower(name) }

// ParseBaseURL normalises a provider's URL or domain to scheme://host[:port].
// A bare host name means https. Plain http is accepted only for loopback hosts
// (tests, the demo); credentials, paths, queries and fragments are refused.
func ParseBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("is empty; give a host name such as acme.okta.com or a URL such as https://acme.okta.com")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid URL or host name", redact.URL(raw))
	}
	// A fully qualified name's final dot (ACME.OKTA.COM.) names the same
	// host; kept, it would make the Okta OAuth app's assertion audience
	// and DPoP proofs name another URL than the org's.
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("scheme %q is not supported; use https://", u.Scheme)
	case host == "":
		return "", fmt.Errorf("%q has no host name", redact.URL(raw))
	case u.User != nil:
		return "", fmt.Errorf("must not contain credentials; give them with the secret options")
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("must be the base URL without a path (%q); use %s://%s", u.Path, u.Scheme, u.Host)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("must not contain a query or fragment; use %s://%s", u.Scheme, u.Host)
	case !validHost(host):
		return "", fmt.Errorf("%q is not a valid host name", host)
	case u.Scheme == "http" && !IsLoopback(host):
		return "", fmt.Errorf("plain http is allowed only for loopback hosts; use https://%s", u.Host)
	}
	p := u.Port()
	if p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	}
	// The scheme's own port is left out, as the provider writes its own
	// URL: an Okta client assertion's audience must be the org's token
	// endpoint as Okta names it, https://acme.okta.com/oauth2/v1/token, and
	// two connectors on one tenant must compare equal.
	if p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
		p = ""
	}
	if p != "" {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	return u.Scheme + "://" + host, nil
}

// Subdomain returns the one label of a base URL's host that has no dot
// (https://acme), which is an account's subdomain more likely than a host:
// a provider's Set suggests its full host name. Loopback hosts and IP
// addresses are not subdomains.
func Subdomain(base string) (string, bool) {
	u, err := url.Parse(base)
	if err != nil {
		return "", false
	}
	host := u.Hostname()
	if host == "" || strings.Contains(host, ".") || IsLoopback(host) || net.ParseIP(host) != nil {
		return "", false
	}
	return host, true
}

// IsLoopback reports whether host (without port) names this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// ParseRateShare reads a percentage from 1 to 100.
func ParseRateShare(n int) (int, error) {
	if n < 1 || n > 100 {
		return 0, fmt.Errorf("%d is out of range; give a percentage from 1 to 100", n)
	}
	return n, nil
}

// Bounds of --full-every: a full run more often than hourly defeats
// incremental sync, and a month without one leaves source deletions unseen
// for too long.
const (
	MinFullEvery = time.Hour
	MaxFullEvery = 31 * 24 * time.Hour
)

// ParseFullEvery reads a Go duration ("24h", "36h", "90m") or whole days ("7d").
func ParseFullEvery(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration; use a form such as 24h, 36h or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration; use a form such as 24h, 36h or 7d", s)
		}
	}
	if d < MinFullEvery || d > MaxFullEvery {
		return 0, fmt.Errorf("%s is out of range; give from 1h to 31d", s)
	}
	return d, nil
}
