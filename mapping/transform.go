package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// spec describes one transform of the documented set (README, "Mapping
// tables").
type spec struct {
	arg    string // name of its one argument, "" if it takes none
	multi  bool   // takes several sources separated by '|'
	out    Kind   // the kind it produces; "" for a plain string
	states bool   // it reads the user's state, which only some providers have
}

var transforms = map[string]spec{
	"":          {},
	"copy":      {},
	"join":      {arg: "SEP", multi: true},
	"first":     {multi: true},
	"lower":     {},
	"upper":     {},
	"trim":      {},
	"timestamp": {out: KindTimestamp},
	"bool":      {out: KindBoolean},
	"status":    {},
	"state":     {states: true},
	"list":      {multi: true, out: KindList},
	"manager":   {arg: "FIELD"},
}

// managerFields are the fields manager(FIELD) can read.
var managerFields = []string{"name", "email", "phone"}

type transform struct {
	name string
	arg  string
	spec spec
}

// parseTransform reads "name" or "name(arg)". The argument is taken
// verbatim: join( ) joins with one space.
func parseTransform(s string) (transform, string) {
	name, arg, hasArg := strings.Cut(s, "(")
	name = strings.ToLower(strings.TrimSpace(name))
	sp, ok := transforms[name]
	if !ok {
		return transform{}, fmt.Sprintf("unknown transform %s; use one of: %s", short(s), transformList())
	}
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return transform{}, fmt.Sprintf("transform %s: the argument must end with ')'", short(s))
		}
		arg = strings.TrimSuffix(arg, ")")
	}
	switch {
	case sp.arg == "" && hasArg:
		return transform{}, fmt.Sprintf("transform %s takes no argument; write %s", name, name)
	case sp.arg != "" && (!hasArg || arg == ""):
		return transform{}, fmt.Sprintf("transform %s takes one argument: %s(%s)", name, name, sp.arg)
	case name == "manager" && !contains(managerFields, arg):
		return transform{}, fmt.Sprintf("manager(%s): the field must be one of %s", arg, strings.Join(managerFields, ", "))
	}
	return transform{name: name, arg: arg, spec: sp}, ""
}

// check tests the transform against its row: the number of sources and the
// target's kind.
func (tr transform) check(sources int, target Kind) string {
	shown := tr.name
	if shown == "" {
		shown = "copy (empty transform)"
	}
	if sources > 1 && !tr.spec.multi {
		return fmt.Sprintf("transform %s takes one source; got %d (several sources suit join, first and list)", shown, sources)
	}
	want := ""
	switch target {
	case KindTimestamp:
		want = "timestamp"
	case KindBoolean:
		want = "bool"
	case KindList:
		if tr.name != "list" && tr.name != "" && tr.name != "copy" {
			want = "list"
		}
	case KindInteger:
		if tr.name != "" && tr.name != "copy" {
			want = "copy (leave the transform empty)"
		}
	}
	if want != "" && want != tr.name {
		return fmt.Sprintf("the target is a %s attribute; use the transform %s instead of %s", target, want, shown)
	}
	return ""
}

func transformList() string {
	var names []string
	for n, sp := range transforms {
		switch {
		case n == "":
		case sp.arg != "":
			names = append(names, n+"("+sp.arg+")")
		default:
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
