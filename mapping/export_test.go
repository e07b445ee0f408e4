package mapping

import "neurons-connector/connector"

// What the external tests (package mapping_test, which may import the
// provider packages and their specs) need of the internals.

var (
	NormTimestamp = normTimestamp
	NormBool      = normBool
	Resolve       = resolve
)

func StatusName(r *connector.Record, v string) string { return statusName(r, v) }

// SourcePath is one path a table reads: the row's target and the path.
type SourcePath struct {
	Target string
	Path   []string
}

// SourcePaths lists every source path of t's fixed rows, and the path of
// its wildcard row (nil if none).
func SourcePaths(t *Table) (paths []SourcePath, wild []string) {
	for _, r := range t.fixed {
		for _, p := range r.paths {
			paths = append(paths, SourcePath{r.target, append([]string{t.roots[p.root]}, p.rest...)})
		}
	}
	if t.wild != nil {
		wild = t.wild.path
	}
	return paths, wild
}
