package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"neurons-connector/connector"
)

// maxCell bounds the target, source and transform cells: real ones are a
// few dozen characters, and a runaway cell (a pasted document) should get a
// clear message rather than slow every check or flood the messages that
// quote it.
const maxCell = 200

// Columns of a mapping table, in order.
var Columns = []string{"target", "source", "transform", "notes"}

// Row is one line of a mapping table as written.
type Row struct {
	Target    string `csv:"target"`
	Source    string `csv:"source"`
	Transform string `csv:"transform"`
	Notes     string `csv:"notes"`
}

// Table is a loaded, checked mapping table for one provider kind.
type Table struct {
	Kind connector.Kind
	// File is where the table came from, for messages ("okta.csv (built in)").
	File string
	rows []Row // as written, for export
	hash string

	roots []string          // distinct first fields of the fixed rows' sources
	fixed []rule            // sorted by target
	wild  *wildRule         // e.g. profile.* → Application.Okta.Profile.*; at most one
	facts *connector.Record // the provider's user record

	planMu sync.Mutex
	plan   atomic.Pointer[plan]

	warnings []Problem // rows that load but read what the connector never fills (unfilled)
}

// Warnings are the table's rows that load but will stay empty, each as
// FILE:LINE: message.
func (t *Table) Warnings() []string {
	out := make([]string, len(t.warnings))
	for i, w := range t.warnings {
		out[i] = w.String()
	}
	return out
}

// Fields returns the top-level fields of a user the table reads (those
// of its rows' sources, its wildcard's included), for providers that can
// leave the others undecoded.
func (t *Table) Fields() []string {
	out := append([]string(nil), t.roots...)
	if t.wild != nil && !contains(out, t.wild.path[0]) {
		out = append(out, t.wild.path[0])
	}
	return out
}

// Sources returns every source path the table reads, as written
// ("devices.profile.platform"; a wildcard's as "profile.*"), for providers
// that can leave out what no row reads below a top-level field.
func (t *Table) Sources() []string {
	var out []string
	for _, r := range t.rows {
		for _, p := range strings.Split(r.Source, "|") {
			if p = strings.TrimSpace(p); p != "" && !contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Rows returns the table's rows in file order.
func (t *Table) Rows() []Row { return append([]Row(nil), t.rows...) }

// Hash identifies the table's content (rows, not bytes: re-saving a table
// with a BOM or CRLF does not change it). The engine compares it with the
// hash of the previous run to know that a full run is due.
func (t *Table) Hash() string { return t.hash }

var (
	pathPattern = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// Load reads and checks the table name in fsys for a provider of spec's kind.
func Load(cat *Catalog, spec *connector.Spec, fsys fs.FS, name string) (*Table, error) {
	data, err := ReadTable(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read mapping table: %w", err)
	}
	return Parse(cat, spec, name, data)
}

// Parse checks a table's bytes. On failure the error is Problems, one per
// problem, each with its line.
func Parse(cat *Catalog, spec *connector.Spec, file string, data []byte) (*Table, error) {
	kind := spec.Kind
	t := &Table{Kind: kind, File: file, facts: &spec.Record}
	firstLine := map[string]int{}
	rows := 0
	problems := readCSV(file, data, Columns, func(line int, v any) []string {
		r := *(v.(*Row))
		if r == (Row{}) {
			return nil // a spreadsheet's empty row: ",,,"
		}
		if rows++; rows > MaxRows {
			return nil // reported first, below
		}
		msgs := t.addRow(cat, r, line)
		key := strings.TrimSpace(r.Target)
		if prev, dup := firstLine[key]; dup && key != "" {
			msgs = append(msgs, fmt.Sprintf("duplicate target %s (first on line %d); keep one row per target", key, prev))
		} else {
			firstLine[key] = line
		}
		return msgs
	}, &Row{})
	if rows > MaxRows {
		problems = append(Problems{{File: file, Msg: tooManyRows}}, problems...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if len(t.rows) == 0 {
		return nil, Problems{{File: file, Msg: "the table has no rows; add at least one target"}}
	}
	sort.Slice(t.fixed, func(i, j int) bool { return t.fixed[i].target < t.fixed[j].target })
	t.initPlan()
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\n", kind)
	for _, r := range t.rows {
		fmt.Fprintf(sum, "%q,%q,%q\n", r.Target, r.Source, r.Transform) // notes do not change records
	}
	t.hash = hex.EncodeToString(sum.Sum(nil))
	return t, nil
}

// addRow checks one row and compiles it; it returns the row's problems.
func (t *Table) addRow(cat *Catalog, r Row, line int) []string {
	r.Target, r.Source, r.Transform = strings.TrimSpace(r.Target), strings.TrimSpace(r.Source), strings.TrimSpace(r.Transform)
	var msgs []string
	for _, cell := range []string{r.Target, r.Source, r.Transform} {
		if len(cell) > maxCell {
			return []string{fmt.Sprintf("the value %s is too long; target, source and transform hold at most %d characters", short(cell), maxCell)}
		}
	}
	if r.Target == "" {
		msgs = append(msgs, "the target is empty; name a target from targets.csv or "+t.facts.App+"<Name>")
	}
	if r.Source == "" {
		msgs = append(msgs, "the source is empty; give a path into the user record such as "+t.example())
	}
	if len(msgs) > 0 {
		return msgs
	}
	if strings.Contains(r.Target, "*") || strings.Contains(r.Source, "*") {
		return t.addWildcard(r, line)
	}
	kind, msg := t.targetKind(cat, r.Target)
	if msg != "" {
		msgs = append(msgs, msg)
	}
	sources := strings.Split(r.Source, "|")
	paths := make([]path, len(sources))
	for i, s := range sources {
		s = strings.TrimSpace(s)
		if m := t.checkPath(s); m != "" {
			msgs = append(msgs, m)
		} else if w := t.unfilled(s); w != "" {
			t.warnings = append(t.warnings, Problem{File: t.File, Line: line, Msg: w})
		}
		segs := strings.Split(s, ".")
		paths[i] = path{root: t.root(segs[0]), rest: segs[1:]}
	}
	tr, m := parseTransform(r.Transform)
	if m != "" {
		msgs = append(msgs, m)
	} else if m := tr.check(len(paths), kind); m != "" {
		msgs = append(msgs, m)
	} else if tr.spec.states && t.facts.StateLabels == nil {
		msgs = append(msgs, fmt.Sprintf("transform %s needs users with a state; %s user has none", tr.name, t.facts.Article))
	}
	if len(msgs) > 0 {
		return msgs
	}
	t.rows = append(t.rows, r)
	t.fixed = append(t.fixed, rule{target: r.Target, key: jsonKey(r.Target), kind: kind, paths: paths, tr: tr,
		row: r, line: line})
	return nil
}

// root returns the index of a first field in t.roots, adding it if new.
func (t *Table) root(name string) int {
	for i, r := range t.roots {
		if r == name {
			return i
		}
	}
	t.roots = append(t.roots, name)
	return len(t.roots) - 1
}

// targetKind returns the kind of a catalog target, or "" for the
// source-specific Application.<Provider>.<Name> attributes.
func (t *Table) targetKind(cat *Catalog, target string) (Kind, string) {
	if tg, ok := cat.Lookup(target); ok {
		return tg.Kind, ""
	}
	if rest, ok := strings.CutPrefix(target, t.facts.App); ok {
		if !namePattern.MatchString(rest) {
			return "", fmt.Sprintf("target %s: the name after %s may hold letters, digits, '_', '-' and '.'", target, t.facts.App)
		}
		return "", ""
	}
	if strings.HasPrefix(target, "Application.") {
		return "", fmt.Sprintf("target %s belongs to another provider; %s table uses %s<Name>", target, t.facts.Article, t.facts.App)
	}
	msg := fmt.Sprintf("unknown target %s; use a name from targets.csv or %s<Name>", target, t.facts.App)
	if s := cat.closest(target); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return "", msg
}

// checkPath checks a source path's syntax and its first field.
func (t *Table) checkPath(p string) string {
	if !pathPattern.MatchString(p) {
		return fmt.Sprintf("source %s is not a path; use field names joined by '.', e.g. %s", short(p), t.example())
	}
	top, _, _ := strings.Cut(p, ".")
	if !contains(t.facts.Fields, top) {
		return fmt.Sprintf("source %s: %s is not a field of %s user; fields are %s", p, short(top), t.facts.Article, strings.Join(t.facts.Fields, ", "))
	}
	return ""
}

func (t *Table) example() string { return t.facts.Example }

// unfilled says why a source below a field the connector builds itself
// (connector.Record.Filled) stays empty, or "": a row reading
// devices.profile.imei loads, and would otherwise be silently empty for
// every user.
func (t *Table) unfilled(p string) string {
	top, rest, below := strings.Cut(p, ".")
	subs, filled := t.facts.Filled[top]
	if !filled || !below {
		return ""
	}
	for _, sub := range subs {
		if rest == sub || strings.HasPrefix(sub, rest+".") || strings.HasPrefix(rest, sub+".") {
			return ""
		}
	}
	full := make([]string, len(subs))
	for i, sub := range subs {
		full[i] = top + "." + sub
	}
	return fmt.Sprintf("warning: source %s stays empty: the connector fills %s with %s only; map one of those, or remove the row",
		p, top, strings.Join(full, ", "))
}

// addWildcard checks and compiles a row such as profile.* → Application.Okta.Profile.*.
func (t *Table) addWildcard(r Row, line int) []string {
	prefix, okT := strings.CutSuffix(r.Target, ".*")
	src, okS := strings.CutSuffix(r.Source, ".*")
	switch {
	case !okT || !okS || strings.Contains(prefix, "*") || strings.Contains(src, "*"):
		return []string{fmt.Sprintf("a wildcard row maps SOURCE.* to %s<Group>.*, with '*' only at the end of both", t.facts.App)}
	case !strings.HasPrefix(prefix, t.facts.App) || !namePattern.MatchString(strings.TrimPrefix(prefix, t.facts.App)):
		return []string{fmt.Sprintf("wildcard target %s must be %s<Group>.*", r.Target, t.facts.App)}
	case !contains(t.facts.Open, src):
		return []string{fmt.Sprintf("wildcard source %s: only %s.* can be expanded", r.Source, strings.Join(t.facts.Open, ".*, "))}
	case r.Transform != "":
		return []string{"a wildcard row copies values; leave its transform empty"}
	}
	if t.wild != nil {
		return []string{fmt.Sprintf("a second wildcard row; the table already maps %s.* (one wildcard row per table)", strings.Join(t.wild.path, "."))}
	}
	t.rows = append(t.rows, r)
	t.wild = &wildRule{prefix: prefix + ".", path: strings.Split(src, "."), row: r, line: line}
	return nil
}
