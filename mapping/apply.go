package mapping

import (
	"slices"
	"strings"

	"neurons-connector/connector"
	"neurons-connector/internal/jsonstr"
)

// Field is one target attribute of a mapped record: a string, or a list
// for list attributes.
type Field struct {
	Name string
	Str  string
	List []string // non-nil for list attributes
	// key is Name already encoded as a JSON object key (`"Name":`) when the
	// table made the field: encoding the names was two fifths of encoding
	// a record, and they are the same few dozen in every record.
	key string
}

// IsList reports whether the field holds a list.
func (f Field) IsList() bool { return f.List != nil }

// Record is a mapped user: its fields sorted by name, absent values left
// out (never sent as empty strings).
type Record []Field

// Get returns the field named name.
func (r Record) Get(name string) (Field, bool) {
	i, ok := slices.BinarySearchFunc(r, name, func(f Field, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return Field{}, false
	}
	return r[i], true
}

// MarshalJSON writes the record as the ingestion contract's attributes
// object: strings, and arrays of strings for lists. It is hand-written
// (the engine encodes every user of every run, and encoding/json's
// reflection was a third of a run's CPU) and its output is canonical, which
// the engine's change detection hashes.
func (r Record) MarshalJSON() ([]byte, error) {
	n := 2
	for _, f := range r {
		n += len(f.Name) + len(f.Str) + 8
		for _, v := range f.List {
			n += len(v) + 3
		}
	}
	return r.AppendJSON(make([]byte, 0, n+n/16)), nil
}

// jsonKey encodes an attribute name as a JSON object key.
func jsonKey(name string) string { return string(jsonstr.Append(nil, name)) + ":" }

// AppendJSON appends the record's JSON to b.
func (r Record) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range r {
		if i > 0 {
			b = append(b, ',')
		}
		if f.key != "" {
			b = append(b, f.key...)
		} else {
			b = jsonstr.Append(b, f.Name)
			b = append(b, ':')
		}
		if f.IsList() {
			b = append(b, '[')
			for j, v := range f.List {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsonstr.Append(b, v)
			}
			b = append(b, ']')
		} else {
			b = jsonstr.Append(b, f.Str)
		}
	}
	return append(b, '}')
}

// Contact is what other users' mappings may read of a user: the manager
// transform's fields.
type Contact struct{ Name, Email, Phone string }

// Directory finds a user of the same tenant by its source ID. The engine
// backs it with its snapshot, so mapping a user never calls the provider.
type Directory interface {
	Contact(sourceID string) (Contact, bool)
}

// ContactOf extracts the contact fields from a mapped record, for the
// engine to keep in its snapshot.
func ContactOf(r Record) Contact {
	get := func(n string) string { f, _ := r.Get(n); return f.Str }
	return Contact{Name: get("User.FullName"), Email: get("User.Email"), Phone: get("User.Phone")}
}

type rule struct {
	target string
	key    string // target as a JSON key
	kind   Kind
	paths  []path
	tr     transform
	row    Row // as written, and its line in the table's file, for explain
	line   int
}

// path is a source path split into its first field, an index into
// Table.roots (looked up once per user however many rows read it), and
// the rest.
type path struct {
	root int
	rest []string
}

type wildRule struct {
	prefix string   // "Application.Okta.Profile."
	path   []string // "profile"
	row    Row
	line   int
}

// Apply maps one raw user (decoded JSON: maps, slices, strings, float64 or
// json.Number, bools, nil) into a record sorted by attribute name. It is
// pure apart from a cache of the wildcard keys seen so far; dir may be nil.
func (t *Table) Apply(user map[string]any, dir Directory) Record {
	return t.AppendTo(nil, user, dir)
}

// AppendTo is Apply appending to dst[:0]: the engine reuses one record's
// memory for every user of a page, since it keeps only the encoded form.
func (t *Table) AppendTo(dst Record, user map[string]any, dir Directory) Record {
	var obj map[string]any
	if t.wild != nil {
		obj, _ = resolve(user, t.wild.path).(map[string]any)
	}
	var buf [64]any // more first fields than any provider's record has
	roots := buf[:0]
	for _, name := range t.roots {
		roots = append(roots, user[name])
	}
	rec, complete := t.run(dst[:0], t.plan.Load(), roots, obj, dir)
	if !complete { // the user has wildcard keys no earlier user had
		rec, _ = t.run(dst[:0], t.extendPlan(obj), roots, obj, dir)
	}
	return rec
}

// run fills a record by walking the plan: its slots are already in name
// order, so the record needs no sorting. complete is false when obj holds
// keys the plan does not know.
func (t *Table) run(rec Record, p *plan, roots []any, obj map[string]any, dir Directory) (Record, bool) {
	if n := len(t.fixed) + len(obj); cap(rec) < n {
		rec = make(Record, 0, n)
	}
	found := 0
	for i := range p.slots {
		s := &p.slots[i]
		if s.rule >= 0 {
			rec = t.fixed[s.rule].eval(rec, roots, dir, t)
			continue
		}
		v, ok := obj[s.key]
		if !ok {
			continue
		}
		found++
		if s.shadowed {
			continue
		}
		if str, ok := v.(string); ok { // most profile values: no conversion
			if str != "" {
				rec = append(rec, Field{Name: s.name, Str: str, key: s.jsonKey})
			}
			continue
		}
		if f, ok := fieldOf(v, ""); ok {
			f.Name, f.key = s.name, s.jsonKey
			rec = append(rec, f)
		}
	}
	return rec, found == len(obj)
}

// eval appends the rule's attribute to rec when the user has a value for it.
func (r *rule) eval(rec Record, roots []any, dir Directory, t *Table) Record {
	var str string
	switch r.tr.name {
	case "", "copy":
		f, ok := fieldOf(r.paths[0].value(roots), r.kind)
		if !ok {
			return rec
		}
		f.Name, f.key = r.target, r.key
		return append(rec, f)
	case "join":
		var buf [8]string
		str = strings.Join(r.strings(roots, buf[:0]), r.tr.arg)
	case "first":
		for _, p := range r.paths {
			if s, ok := scalar(p.value(roots)); ok {
				str = s
				break
			}
		}
	case "list":
		var buf [16]string
		found := dedupe(r.strings(roots, buf[:0]))
		if len(found) == 0 {
			return rec
		}
		return append(rec, Field{Name: r.target, List: append(make([]string, 0, len(found)), found...), key: r.key})
	case "manager":
		id, ok := scalar(r.paths[0].value(roots))
		if !ok || dir == nil {
			return rec
		}
		c, _ := dir.Contact(id)
		str = c.Field(r.tr.arg)
	default:
		if s, ok := scalar(r.paths[0].value(roots)); ok {
			str = apply1(r.tr.name, s, t.facts)
		}
	}
	if str == "" {
		return rec
	}
	return append(rec, Field{Name: r.target, Str: str, key: r.key})
}

// strings appends the non-empty values of every source to out, arrays
// flattened, without building intermediate slices.
func (r *rule) strings(roots []any, out []string) []string {
	for _, p := range r.paths {
		out = collect(roots[p.root], p.rest, out)
	}
	return out
}

func (p path) value(roots []any) any { return resolve(roots[p.root], p.rest) }

// collect is resolve for many values: it walks path through maps and into
// every element of the arrays it meets, appending each scalar it reaches.
func collect(v any, path []string, out []string) []string {
	for i, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			for _, e := range x {
				out = collect(e, path[i:], out)
			}
			return out
		default:
			return out
		}
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if s, ok := scalar(e); ok {
				out = append(out, s)
			}
		}
	} else if s, ok := scalar(v); ok {
		out = append(out, s)
	}
	return out
}

// apply1 runs a single-value transform on a non-empty string.
func apply1(name, s string, f *connector.Record) string {
	switch name {
	case "lower":
		return strings.ToLower(s)
	case "upper":
		return strings.ToUpper(s)
	case "trim":
		return strings.TrimSpace(s)
	case "timestamp":
		return normTimestamp(s)
	case "bool":
		return normBool(s)
	case "status":
		return statusName(f, s)
	case "state":
		return stateName(f, s)
	}
	return ""
}

// resolve walks a path through maps. An array met on the way applies the rest
// of the path to each element, so devices.profile.platform yields every
// device's platform.
func resolve(v any, path []string) any {
	for i, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			out := make([]any, 0, len(x))
			for _, e := range x {
				switch r := resolve(e, path[i:]).(type) {
				case nil:
				case []any:
					out = append(out, r...)
				default:
					out = append(out, r)
				}
			}
			return out
		default:
			return nil
		}
	}
	return v
}

// plan is the order in which Apply emits attributes: the fixed rows and
// every wildcard key seen so far, merged by attribute name. Tenants share a
// few dozen profile keys, so after the first users the plan stops changing and
// Apply neither sorts nor builds attribute names.
type plan struct {
	slots []slot
	keys  int // wildcard keys in slots
}

type slot struct {
	rule     int    // index into Table.fixed, or -1 for a wildcard key
	key      string // the wildcard key
	name     string // the attribute name
	jsonKey  string // name as a JSON key
	shadowed bool   // a fixed row has the same name and wins
}

// maxPlanKeys bounds the plan for tenants with unbounded key sets; beyond it
// a user's extra keys get a plan of their own, built for that user only.
const maxPlanKeys = 4096

func (t *Table) initPlan() {
	p := &plan{}
	for i, r := range t.fixed {
		p.slots = append(p.slots, slot{rule: i, name: r.target, jsonKey: r.key})
	}
	t.plan.Store(p)
}

// extendPlan adds obj's unknown keys to the plan.
func (t *Table) extendPlan(obj map[string]any) *plan {
	t.planMu.Lock()
	defer t.planMu.Unlock()
	old := t.plan.Load()
	known := make(map[string]bool, old.keys)
	for _, s := range old.slots {
		if s.rule < 0 {
			known[s.key] = true
		}
	}
	p := &plan{slots: append([]slot(nil), old.slots...), keys: old.keys}
	fixed := make(map[string]bool, len(t.fixed))
	for _, r := range t.fixed {
		fixed[r.target] = true
	}
	for k := range obj {
		if !known[k] {
			name := t.wild.prefix + k
			p.slots = append(p.slots, slot{rule: -1, key: k, name: name, jsonKey: jsonKey(name), shadowed: fixed[name]})
			p.keys++
		}
	}
	slices.SortFunc(p.slots, func(a, b slot) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return a.rule - b.rule // a fixed row before its shadowed key
	})
	if p.keys <= maxPlanKeys {
		t.plan.Store(p)
	}
	return p
}
