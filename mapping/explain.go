package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// Step is what one row of a table made of one user: the target with its
// value, or left out and why. explain lists them for an admin.
type Step struct {
	Target    string
	Line      int    // the row's line in the table's File
	Source    string // the row as written
	Transform string
	Field     *Field // nil when the target is left out
	Why       string // why it is left out
}

// Explain maps one user as Apply does and says, target by target in name
// order, which row made each value, and why each other row's target is
// left out: a source missing from the record, null or empty, or a
// transform that gave nothing. Wildcard targets come from the keys the
// user has.
func (t *Table) Explain(user map[string]any, dir Directory) []Step {
	roots := make([]any, len(t.roots))
	for i, name := range t.roots {
		roots[i] = user[name]
	}
	var steps []Step
	fixed := map[string]bool{}
	for i := range t.fixed {
		r := &t.fixed[i]
		fixed[r.target] = true
		s := Step{Target: r.target, Line: r.line, Source: r.row.Source, Transform: r.row.Transform}
		if rec := r.eval(nil, roots, dir, t); len(rec) > 0 {
			f := rec[0]
			s.Field = &f
		} else {
			s.Why = r.whyEmpty(user, roots, dir)
		}
		steps = append(steps, s)
	}
	if w := t.wild; w != nil {
		obj, _ := resolve(user, w.path).(map[string]any)
		src := strings.Join(w.path, ".")
		for key, v := range obj {
			target := w.prefix + key
			if fixed[target] {
				continue // the fixed row wins, and says so above
			}
			s := Step{Target: target, Line: w.line, Source: w.row.Source}
			if f, ok := fieldOf(v, ""); ok {
				f.Name = target
				s.Field = &f
			} else {
				s.Why = emptiness(src+"."+key, v, true)
			}
			steps = append(steps, s)
		}
	}
	slices.SortFunc(steps, func(a, b Step) int { return strings.Compare(a.Target, b.Target) })
	return steps
}

// whyEmpty says why the rule made nothing of user: the first source that
// is missing, null or empty, or else its transform.
func (r *rule) whyEmpty(user map[string]any, roots []any, dir Directory) string {
	sources := strings.Split(r.row.Source, "|")
	var whys []string
	for _, s := range sources {
		s = strings.TrimSpace(s)
		v, found := lookup(user, strings.Split(s, "."))
		if why := emptiness(s, v, found); why != "" {
			whys = append(whys, why)
		}
	}
	if len(whys) == len(sources) {
		return strings.Join(whys, "; ")
	}
	switch r.tr.name {
	case "manager":
		id, _ := scalar(r.paths[0].value(roots))
		if dir != nil {
			if _, ok := dir.Contact(id); ok {
				return fmt.Sprintf("the manager %s has no %s", id, r.tr.arg)
			}
		}
		return fmt.Sprintf("the manager %s is not a user the connector knows (deleted, or not read yet)", id)
	default:
		return fmt.Sprintf("the %s transform gave nothing for the value of %s", r.row.Transform, r.row.Source)
	}
}

// emptiness says why a source's value v gives nothing ("" when it is a
// value).
func emptiness(source string, v any, found bool) string {
	switch x := v.(type) {
	case nil:
		if !found {
			return source + " is not in the record"
		}
		return source + " is null"
	case string:
		if x == "" {
			return source + " is empty"
		}
	case []any:
		if len(x) == 0 {
			return source + " is an empty list"
		}
	case map[string]any:
		if len(x) == 0 {
			return source + " is an empty object"
		}
	}
	return ""
}

// lookup is resolve that tells a missing key from a null value (only along
// objects: through arrays it reports what resolve finds).
func lookup(v any, path []string) (any, bool) {
	for i, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			r := resolve(x, path[i:])
			return r, r != nil
		default:
			return nil, false
		}
	}
	return v, true
}
