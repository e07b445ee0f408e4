package connector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxDeletes is the deletion guard of a new connector: a run may
// delete at most a tenth of the users the connector has delivered.
var DefaultMaxDeletes = DeleteLimit{Percent: true, N: 10, set: true}

// DeleteLimit caps how many users one run may delete (--max-deletes): N
// users, N percent of the users the connector has delivered, or no cap.
// The zero value means the default, so configurations stored before the
// option existed get it.
type DeleteLimit struct {
	N       int  // users, or percent with Percent
	Percent bool // N is a percentage of the delivered users
	None    bool // no cap
	set     bool // parsed or decoded; the zero value is the default
}

// ParseDeleteLimit reads "N", "P%" or "none".
func ParseDeleteLimit(s string) (DeleteLimit, error) {
	s = strings.TrimSpace(s)
	const help = "give a number of users (500), a percentage of the users the connector has delivered (10%), or none"
	switch {
	case strings.EqualFold(s, "none"):
		return DeleteLimit{None: true, set: true}, nil
	case strings.HasSuffix(s, "%"):
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, "%")))
		if err != nil || n < 0 || n > 100 {
			return DeleteLimit{}, fmt.Errorf("%q is not a whole percentage from 0%% to 100%%; %s", s, help)
		}
		return DeleteLimit{N: n, Percent: true, set: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return DeleteLimit{}, fmt.Errorf("%q is not a number of users; %s", s, help)
	}
	return DeleteLimit{N: n, set: true}, nil
}

// orDefault is l, or the default when l was never set.
func (l DeleteLimit) orDefault() DeleteLimit {
	if !l.set && !l.None && l.N == 0 && !l.Percent {
		return DefaultMaxDeletes
	}
	return l
}

// Allowed is how many deletes one run may make when the connector has
// delivered delivered users; -1 means any number.
func (l DeleteLimit) Allowed(delivered int) int {
	l = l.orDefault()
	switch {
	case l.None:
		return -1
	case l.Percent:
		return delivered * l.N / 100
	}
	return l.N
}

// String is the form --max-deletes takes: "10%", "500" or "none".
func (l DeleteLimit) String() string {
	l = l.orDefault()
	switch {
	case l.None:
		return "none"
	case l.Percent:
		return strconv.Itoa(l.N) + "%"
	}
	return strconv.Itoa(l.N)
}

// MarshalJSON writes the --max-deletes form.
func (l DeleteLimit) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// UnmarshalJSON reads the --max-deletes form.
func (l *DeleteLimit) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*l = DeleteLimit{}
		return nil
	}
	v, err := ParseDeleteLimit(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}
