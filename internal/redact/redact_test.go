package redact

import (
	"strings"
	"testing"
)

func TestURLLosesItsSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"https://acme.okta.com":                         "https://acme.okta.com",
		"https://user:secretpw@acme.okta.com/x":         "https://***@acme.okta.com/x",
		"https://us er:secretpw@x":                      "https://***@x",
		"https://a:b%zz@host/p?q=1":                     "https://***@host/p?***",
		"https://login.example.com/t?client_secret=s3c": "https://login.example.com/t?client_secret=***",
		"user:secretpw@acme.okta.com":                   "***@acme.okta.com",
		"acme.okta.com/path@x":                          "acme.okta.com/path@x",
	} {
		got := URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "secretpw") || strings.Contains(got, "s3c") {
			t.Errorf("URL(%q) kept a secret: %q", in, got)
		}
	}
}
