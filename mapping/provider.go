package mapping

import (
	"strconv"
	"strings"

	"neurons-connector/connector"
)

// statusName names a status code or name by the provider's labels; unknown
// values become "Unknown" rather than failing the run (providers add
// statuses without notice).
func statusName(r *connector.Record, v string) string {
	if n, ok := r.StatusLabels[strings.ToUpper(v)]; ok {
		return n
	}
	// Statuses with codes also arrive as their names in some exports.
	for _, n := range r.StatusLabels {
		if strings.EqualFold(n, v) || strings.EqualFold(strings.ReplaceAll(n, " ", "-"), v) {
			return n
		}
	}
	return "Unknown"
}

// stateName names a state code by the provider's labels.
func stateName(r *connector.Record, v string) string {
	if _, err := strconv.Atoi(v); err == nil {
		if n, ok := r.StateLabels[v]; ok {
			return n
		}
	}
	return "Unknown"
}
