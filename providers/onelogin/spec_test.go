package onelogin

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
)

func TestSpecStatuses(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
		want        []string
	}{
		{in: "ACTIVE,locked", want: []string{"active", "locked"}},
		{in: "7,0", want: []string{"unactivated", "password-pending"}},
		{in: "6", wantErr: "password-pending(7)"}, // OneLogin documents no 6
		{in: "LOCKED_OUT", wantErr: `unknown onelogin user status "LOCKED_OUT"`},
	} {
		got, err := Spec.ParseStatuses(tc.in)
		if (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr))) ||
			(tc.wantErr == "" && (err != nil || !reflect.DeepEqual(got, tc.want))) {
			t.Errorf("%q: %v, %v", tc.in, got, err)
		}
	}
}

func TestSpecOptions(t *testing.T) {
	ch := connector.Changes{Name: new("OL")}
	if got := ch.Required(Spec); got != "--domain is required; e.g. --domain acme.onelogin.com" {
		t.Errorf("Required: %q", got)
	}
	ch.Options = map[string]string{"domain": "Acme.OneLogin.com", "client-id": " 0123abcd "}
	c := connector.New(Spec, time.Now())
	if err := ch.Apply(Spec, &c, time.Now(), time.UTC); err != nil || c.URL != "https://acme.onelogin.com" || c.ClientID != "0123abcd" {
		t.Fatalf("%+v, %v", c, err)
	}
	ch.Options = map[string]string{"client-id": "a b"}
	if err := ch.Apply(Spec, &c, time.Now(), time.UTC); err == nil || !strings.HasPrefix(err.Error(), "--client-id: must be") {
		t.Errorf("a client ID with a space: %v", err)
	}
}
