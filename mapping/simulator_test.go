package mapping_test

import (
	"context"
	"os"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/secret"
)

// TestDefaultOktaRowsFindTheSimulatorsFields maps users exactly as the Okta
// client delivers them from the simulator (apps and devices included) and
// checks that every target of the default table gets a value for some user:
// a row whose source the simulator never fills is a typo or a gap in the
// simulator.
func TestDefaultOktaRowsFindTheSimulatorsFields(t *testing.T) {
	sim := oktatest.New(oktatest.Options{Users: 300, Token: "t", NoLimits: true})
	srv := sim.Start()
	defer srv.Close()
	c, err := okta.New(okta.Options{BaseURL: srv.URL, Token: secret.New([]byte("t"))})
	if err != nil {
		t.Fatal(err)
	}
	src, err := mapping.NewSource(specs, os.DirFS("../mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	table, err := src.Load(okta.Kind, "")
	if err != nil {
		t.Fatal(err)
	}
	filled := map[string]bool{}
	contacts := map[string]mapping.Contact{}
	var users []engine.User
	_, err = c.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: oktatest.Statuses},
		func(page []engine.User) error {
			for _, u := range page {
				rec := table.Apply(u.Raw, nil)
				contacts[u.ID] = mapping.ContactOf(rec)
				users = append(users, u)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		for _, f := range table.Apply(u.Raw, dirMap(contacts)) {
			filled[f.Name] = true
		}
	}
	for _, r := range table.Rows() {
		if r.Target == "Application.Okta.Profile.*" {
			continue
		}
		if !filled[r.Target] {
			t.Errorf("no simulated user gets %s (source %s)", r.Target, r.Source)
		}
	}
}

type dirMap map[string]mapping.Contact

func (d dirMap) Contact(id string) (mapping.Contact, bool) { c, ok := d[id]; return c, ok }
