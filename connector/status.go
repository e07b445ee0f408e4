package connector

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is one user status a connector can select.
type Status struct {
	Name string // canonical name as stored and shown
	Code int    // the provider's numeric code (OneLogin has them); -1 for none
}

// ParseStatuses reads a comma-separated list of the kind's statuses, in
// any case (those with a numeric code also by their code), and returns the
// canonical names in the spec's order without repeats.
func (sp *Spec) ParseStatuses(list string) ([]string, error) {
	all := sp.Statuses
	chosen := make(map[string]bool)
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		s, ok := lookupStatus(all, item)
		if !ok {
			return nil, fmt.Errorf("unknown %s user status %q; valid: %s", sp.Kind, item, validStatuses(all))
		}
		chosen[s.Name] = true
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("no user status given; choose one or more of: %s", validStatuses(all))
	}
	out := make([]string, 0, len(chosen))
	for _, s := range all {
		if chosen[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out, nil
}

func lookupStatus(all []Status, item string) (Status, bool) {
	code, numErr := strconv.Atoi(item)
	for _, s := range all {
		if strings.EqualFold(s.Name, item) || (numErr == nil && s.Code >= 0 && s.Code == code) {
			return s, true
		}
	}
	return Status{}, false
}

func validStatuses(all []Status) string {
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
		if s.Code >= 0 {
			names[i] += "(" + strconv.Itoa(s.Code) + ")"
		}
	}
	return strings.Join(names, ", ")
}
