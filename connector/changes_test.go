package connector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// Changes apply only what they name, refuse a bad value without touching
// the connector, and name the option in every message.
func TestChangesApply(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	base := New(urlKind, now.Add(-48*time.Hour))
	base.Name, base.URL = "Alpha", "https://alpha.example.com"

	c := base
	ch := Changes{Statuses: ptr("active,suspended"), StartTime: ptr("03:30"), Active: ptr(false), MaxDeletes: ptr("500")}
	if err := ch.Apply(urlKind, &c, now, time.UTC); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Statuses, ",") != "ACTIVE,SUSPENDED" || c.Schedule.StartTime != "03:30" || c.Active || c.MaxDeletes.String() != "500" {
		t.Errorf("applied: %+v", c)
	}
	if c.Name != base.Name || c.URL != base.URL || c.RateShare != base.RateShare {
		t.Errorf("changed what was not named: %+v", c)
	}
	if c.Schedule.Anchor != "2026-12-03" {
		t.Errorf("a schedule change did not re-anchor: %q", c.Schedule.Anchor)
	}
	if got := ch.Given(); !reflect.DeepEqual(got, []string{"user-status", "start-time", "active", "max-deletes"}) {
		t.Errorf("Given: %v", got)
	}

	for _, tc := range []struct {
		ch   Changes
		want string
	}{
		{Changes{Name: ptr("a/b")}, "--name"},
		{Changes{Options: map[string]string{"url": "http://alpha.example.com"}}, "--url: plain http"},
		{Changes{Options: map[string]string{"domain": "acme.beta.example"}}, `--domain is not an option of alpha connectors; "Alpha" takes --url`},
		{Changes{Statuses: ptr("ACTIVE,asleep")}, "--user-status"},
		{Changes{RateShare: ptr("half")}, "--rate-share"},
		{Changes{FullEvery: ptr("1m")}, "--full-every"},
		{Changes{MaxDeletes: ptr("-1")}, "--max-deletes"},
		{Changes{TimeZone: ptr("Mars/Olympus")}, "--time-zone"},
	} {
		c := base
		c.Statuses = append([]string(nil), base.Statuses...)
		err := tc.ch.Apply(urlKind, &c, now, time.UTC)
		var oe *OptionError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an OptionError naming %q", tc.ch.Given(), err, tc.want)
		}
		if !reflect.DeepEqual(c, base) {
			t.Errorf("%v: a refused change altered the connector", tc.ch.Given())
		}
	}
	if got := (Changes{Name: ptr("x"), Options: map[string]string{"domain": "d"}}).Required(codeKind); got != "--client-id is required; e.g. --client-id 0123abcd" {
		t.Errorf("Required(beta) = %q", got)
	}
	if got := (Changes{Name: ptr("x"), Options: map[string]string{"url": "https://a.example.com"}}).Required(urlKind); got != "" {
		t.Errorf("Required(alpha) = %q", got)
	}
	if err := (Changes{}).Apply(codeKind, &c, now, time.UTC); err == nil {
		t.Error("applying a beta spec to an alpha connector went through")
	}
}
