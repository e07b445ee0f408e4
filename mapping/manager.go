package mapping

import (
	"slices"
	"strings"
)

// ManagerRef is one manager(FIELD) attribute of a user: which target, which
// field of the manager, and the manager's source ID.
type ManagerRef struct {
	Target, Field, ID string
}

// ManagerRefs lists the user's manager attributes. The engine uses it when
// a manager was not known yet at mapping time (a report listed before its
// manager) to fill the attributes in once the pass has seen everyone.
func (t *Table) ManagerRefs(user map[string]any) []ManagerRef {
	var out []ManagerRef
	for i := range t.fixed {
		r := &t.fixed[i]
		if r.tr.name != "manager" {
			continue
		}
		p := r.paths[0]
		if id, ok := scalar(resolve(user[t.roots[p.root]], p.rest)); ok {
			out = append(out, ManagerRef{Target: r.target, Field: r.tr.arg, ID: id})
		}
	}
	return out
}

// ManagerIDs are the IDs of the users whose fields the user's record
// carries (its manager(FIELD) rows), comma-separated, each once, in the
// table's order: what the engine keeps to find a manager's reports. One
// manager, the common case, costs no allocation.
func (t *Table) ManagerIDs(user map[string]any) string {
	out := ""
	for i := range t.fixed {
		r := &t.fixed[i]
		if r.tr.name != "manager" {
			continue
		}
		p := r.paths[0]
		id, ok := scalar(resolve(user[t.roots[p.root]], p.rest))
		if !ok || id == "" || id == out || slices.Contains(strings.Split(out, ","), id) {
			continue
		}
		if out != "" {
			out += ","
		}
		out += id
	}
	return out
}

// ManagerFields lists the contact fields the table's manager(FIELD) rows
// read, sorted: the engine keeps only these of every user.
func (t *Table) ManagerFields() []string {
	var out []string
	for i := range t.fixed {
		if r := &t.fixed[i]; r.tr.name == "manager" && !slices.Contains(out, r.tr.arg) {
			out = append(out, r.tr.arg)
		}
	}
	slices.Sort(out)
	return out
}

// Keep returns the contact with only the named fields.
func (c Contact) Keep(fields []string) Contact {
	var out Contact
	for _, f := range fields {
		switch f {
		case "name":
			out.Name = c.Name
		case "email":
			out.Email = c.Email
		case "phone":
			out.Phone = c.Phone
		}
	}
	return out
}

// Field returns the contact's value for a manager FIELD.
func (c Contact) Field(name string) string {
	switch name {
	case "name":
		return c.Name
	case "email":
		return c.Email
	}
	return c.Phone
}

// With returns the record with the string attribute name set (or removed
// when value is empty), keeping the order by name.
func (r Record) With(name, value string) Record {
	i, found := slices.BinarySearchFunc(r, name, func(f Field, n string) int { return strings.Compare(f.Name, n) })
	switch {
	case found && value == "":
		return slices.Delete(r, i, i+1)
	case found:
		r[i] = Field{Name: name, Str: value}
		return r
	case value == "":
		return r
	}
	return slices.Insert(r, i, Field{Name: name, Str: value})
}
