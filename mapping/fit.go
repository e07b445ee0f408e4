package mapping

import "slices"

// Fit returns the record without its largest attributes, as few as it
// takes for its JSON (AppendJSON) to be at most limit bytes, and the names
// of those it left out. The ingestion contract bounds a batch, so a record
// that cannot fit in one alone would stop its connector's delivery for
// good; an attribute that large is not something Neurons can use anyway.
func (r Record) Fit(limit int) (Record, []string) {
	size := len(r.AppendJSON(nil))
	if size <= limit {
		return r, nil
	}
	// Each field's share of the JSON: its key, its value, a comma.
	cost := make([]int, len(r))
	var scratch []byte
	for i, f := range r {
		scratch = Record{f}.AppendJSON(scratch[:0])
		cost[i] = len(scratch) - 2 + 1
	}
	order := make([]int, len(r))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cost[b] - cost[a] })
	drop := make([]bool, len(r))
	var names []string
	for _, i := range order {
		if size <= limit {
			break
		}
		drop[i], size = true, size-cost[i]
		names = append(names, r[i].Name)
	}
	out := make(Record, 0, len(r)-len(names))
	for i, f := range r {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return out, names
}
