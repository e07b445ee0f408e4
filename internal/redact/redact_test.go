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

func TestSecretsInEveryForm(t *testing.T) {
	const s = `Pa+ss/"w&rd <é>`
	for _, form := range []string{
		s,
		"Pa%2Bss%2F%22w%26rd+%3C%C3%A9%3E",   // a form value
		"Pa%2Bss%2F%22w%26rd%20%3C%C3%A9%3E", // a URL's query
		`Pa+ss/\"w\u0026rd \u003cé\u003e`,    // JSON, as Go escapes it
		`Pa+ss/\"w&rd <é>`,                   // JSON, HTML left alone
		"UGErc3MvIncmcmQgPMOpPg==",           // base64
	} {
		if got := Secrets("said: "+form+" (end)", "", s); got != "said: "+Redacted+" (end)" {
			t.Errorf("%q: %q", form, got)
		}
	}
	if got := Secrets("nothing secret", "", "x9"); got != "nothing secret" {
		t.Errorf("changed text without a secret: %q", got)
	}
}

func TestCredentialsOfAnAuthorizationHeader(t *testing.T) {
	for header, want := range map[string][]string{
		"SSWS 00abc":                     {"00abc"},
		"Bearer eyJ.x.y":                 {"eyJ.x.y"},
		"DPoP tok":                       {"tok"},
		"Basic b2wtY2xpZW50OnMzY3JldA==": {"b2wtY2xpZW50OnMzY3JldA==", "s3cret"},
		"Basic !!notbase64":              {"!!notbase64"},
		"":                               nil,
		"Bearer":                         nil,
	} {
		if got := Credentials(header); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: %q, want %q", header, got, want)
		}
	}
}
