package connector

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is one user status a connector can select.
type Status struct {
	Name string // canonical name as stored and shown
	Code int    // OneLogin's numeric code; -1 for Okta
}

var oktaStatuses = []Status{
	{"STAGED", -1}, {"PROVISIONED", -1}, {"ACTIVE", -1}, {"RECOVERY", -1},
	{"PASSWORD_EXPIRED", -1}, {"LOCKED_OUT", -1}, {"SUSPENDED", -1}, {"DEPROVISIONED", -1},
}

// OneLogin documents no code 6; the gap is deliberate.
var oneLoginStatuses = []Status{
	{"unactivated", 0}, {"active", 1}, {"suspended", 2}, {"locked", 3},
	{"password-expired", 4}, {"awaiting-password-reset", 5}, {"password-pending", 7},
	{"security-questions-required", 8},
}

// Statuses lists the statuses a connector of kind can select.
func Statuses(kind Kind) []Status {
	if kind == OneLogin {
		return oneLoginStatuses
	}
	return oktaStatuses
}

// DefaultStatus is the status selected when the admin names none.
func DefaultStatus(kind Kind) string {
	if kind == OneLogin {
		return "active"
	}
	return "ACTIVE"
}

// ParseStatuses reads a comma-separated list of statuses for kind, in any
// case (OneLogin statuses also by their numeric code), and returns the
// canonical names in the catalogue's order without repeats.
func ParseStatuses(kind Kind, list string) ([]string, error) {
	all := Statuses(kind)
	chosen := make(map[string]bool)
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		s, ok := lookupStatus(all, item)
		if !ok {
			return nil, fmt.Errorf("unknown %s user status %q; valid: %s", kind, item, validStatuses(all))
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
