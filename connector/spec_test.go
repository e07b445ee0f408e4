package connector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Two made-up kinds that exercise what real providers declare: one with a
// URL and upper-case statuses, one with a domain, a client ID and statuses
// that have numeric codes. The real specs are tested in their packages.
var (
	urlKind = &Spec{
		Kind: "alpha", Title: "Alpha",
		Options: []Option{{Flag: "url", Label: "URL", Example: "https://alpha.example.com",
			Set: func(c *Config, v string) (err error) { c.URL, err = ParseBaseURL(v); return err },
			Get: func(c Config) string { return c.URL }}},
		Auth:          []Auth{{Secret: Secret{Flag: "token", What: "Alpha token", Label: "Token", Key: "token", Store: "token"}}},
		Statuses:      []Status{{"ACTIVE", -1}, {"LOCKED_OUT", -1}, {"SUSPENDED", -1}},
		DefaultStatus: "ACTIVE",
	}
	codeKind = &Spec{
		Kind: "beta", Title: "Beta",
		Options: []Option{
			{Flag: "domain", Label: "Domain", Example: "acme.beta.example",
				Set: func(c *Config, v string) (err error) { c.URL, err = ParseBaseURL(v); return err }},
			{Flag: "client-id", Label: "Client ID", Example: "0123abcd",
				Set: func(c *Config, v string) error {
					if v == "" {
						return errors.New("is empty")
					}
					c.ClientID = v
					return nil
				}},
		},
		Auth:          []Auth{{Secret: Secret{Flag: "client-secret", What: "Beta client secret", Key: "clientSecret", Store: "client_secret"}}},
		Statuses:      []Status{{"unactivated", 0}, {"active", 1}, {"password-pending", 7}},
		DefaultStatus: "active",
	}
	testSpecs = Specs{urlKind, codeKind}
)

func TestParseStatuses(t *testing.T) {
	cases := []struct {
		spec    *Spec
		in      string
		want    []string
		wantErr string
	}{
		{urlKind, "suspended,active", []string{"ACTIVE", "SUSPENDED"}, ""},
		{urlKind, " Locked_Out , ACTIVE,active ", []string{"ACTIVE", "LOCKED_OUT"}, ""},
		{urlKind, "ACTIV", nil, `unknown alpha user status "ACTIV"; valid: ACTIVE, LOCKED_OUT, SUSPENDED`},
		{urlKind, " , ", nil, "no user status given"},
		{urlKind, "1", nil, "unknown alpha user status"},
		{codeKind, "ACTIVE", []string{"active"}, ""},
		{codeKind, "7,0", []string{"unactivated", "password-pending"}, ""},
		{codeKind, "6", nil, "password-pending(7)"},
	}
	for _, tc := range cases {
		t.Run(string(tc.spec.Kind)+"/"+tc.in, func(t *testing.T) {
			got, err := tc.spec.ParseStatuses(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSpecsFindKinds(t *testing.T) {
	if s, err := testSpecs.Parse(" BETA "); err != nil || s != codeKind {
		t.Errorf("Parse(BETA) = %v, %v", s, err)
	}
	if _, err := testSpecs.Parse("gamma"); err == nil || err.Error() != `unknown connector type "gamma"; valid: alpha, beta` {
		t.Errorf("Parse(gamma) = %v", err)
	}
	if got := codeKind.Auth[0].Secret.Flags(); got != [3]string{"client-secret-env", "client-secret-file", "client-secret-stdin"} {
		t.Errorf("secret flags %v", got)
	}
	if c := New(codeKind, time.Now()); c.Kind != "beta" || !reflect.DeepEqual(c.Statuses, []string{"active"}) {
		t.Errorf("New: %+v", c)
	}
}
