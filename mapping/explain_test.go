package mapping_test

import (
	"strings"
	"testing"

	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
)

// Explain gives every target of a user with the row (its line) that made
// it, or why it is left out, and makes exactly the record Apply makes.
func TestExplainSaysWhichRowAndWhyNot(t *testing.T) {
	csv := "target,source,transform,notes\n" +
		"User.FirstName,profile.firstName,,\n" + // line 2
		"User.JobTitle,profile.title,,\n" + // 3: null
		"User.Department,profile.department,,\n" + // 4: empty
		"User.City,profile.city,,\n" + // 5: missing
		"User.Phone,profile.primaryPhone|profile.mobilePhone,first,\n" + // 6: both missing
		"User.Status,status,status,\n" + // 7
		"User.Created,created,timestamp,\n" + // 8: not a time
		"Application.Okta.Profile.*,profile.*,,\n" // 9
	table, err := mapping.Parse(builtinSource(t).Catalog, okta.Spec, "t.csv", []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	user := map[string]any{"id": "00u1", "status": "LOCKED_OUT", "created": "yesterday",
		"profile": map[string]any{"firstName": "Ada", "title": nil, "department": "", "login": "ada@example.com"}}
	got := map[string]mapping.Step{}
	var order []string
	for _, s := range table.Explain(user, nil) {
		got[s.Target] = s
		order = append(order, s.Target)
	}
	want := map[string]struct {
		line       int
		value, why string
	}{
		"User.FirstName":                      {2, "Ada", ""},
		"User.JobTitle":                       {3, "", "profile.title is null"},
		"User.Department":                     {4, "", "profile.department is empty"},
		"User.City":                           {5, "", "profile.city is not in the record"},
		"User.Phone":                          {6, "", "profile.primaryPhone is not in the record; profile.mobilePhone is not in the record"},
		"User.Status":                         {7, "Locked out", ""},
		"User.Created":                        {8, "", "the timestamp transform gave nothing for the value of created"},
		"Application.Okta.Profile.login":      {9, "ada@example.com", ""},
		"Application.Okta.Profile.firstName":  {9, "Ada", ""},
		"Application.Okta.Profile.title":      {9, "", "profile.title is null"},
		"Application.Okta.Profile.department": {9, "", "profile.department is empty"},
	}
	if len(got) != len(want) {
		t.Errorf("targets %v", order)
	}
	for target, w := range want {
		s, ok := got[target]
		value := ""
		if ok && s.Field != nil {
			value = s.Field.Str
		}
		if !ok || s.Line != w.line || value != w.value || s.Why != w.why {
			t.Errorf("%s: line %d, value %q, why %q; want line %d, %q, %q", target, s.Line, value, s.Why, w.line, w.value, w.why)
		}
	}
	if !strings.HasPrefix(strings.Join(order, ","), "Application.Okta.Profile.department,Application.Okta.Profile.firstName") {
		t.Errorf("steps not in target order: %v", order)
	}
	// The values are the record's, no more, no less.
	rec := table.Apply(user, nil)
	n := 0
	for _, s := range got {
		if s.Field == nil {
			continue
		}
		n++
		if f, ok := rec.Get(s.Target); !ok || f.Str != s.Field.Str {
			t.Errorf("%s: explained %q, applied %q", s.Target, s.Field.Str, f.Str)
		}
	}
	if n != len(rec) {
		t.Errorf("explain gave %d values, the record has %d", n, len(rec))
	}
}
