// Package connector owns what a connector is: its configuration as an admin
// sets it (product.md §1), the rules each common option obeys, and Spec, the
// form in which a provider package declares its own options, secret,
// statuses and user record. It does no I/O and names no provider; the store
// persists a Config and the command line builds one.
package connector

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Kind is the identity provider a connector reads from.
type Kind string

// Defaults of product.md §1.
const (
	DefaultServer    = "Cloud"
	DefaultStartTime = "02:00"
	DefaultRateShare = 50
	DefaultFullEvery = 24 * time.Hour
)

// Config is one connector's configuration. Secrets are not part of it: the
// store keeps them sealed beside it.
type Config struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     Kind   `json:"type"`
	Server   string `json:"server"`
	URL      string `json:"url"`                // normalised base URL, scheme://host[:port]
	ClientID string `json:"clientId,omitempty"` // OneLogin's API client, or an Okta OAuth app; not a secret
	// Auth names the way the connector signs in (Spec.Auth); "" is the
	// kind's default, which keeps configurations of older versions as
	// they were.
	Auth     string   `json:"auth,omitempty"`
	KeyID    string   `json:"keyId,omitempty"` // the kid of an Okta OAuth app's key, when it has several
	Statuses []string `json:"userStatuses"`    // canonical names, see Statuses
	Schedule Schedule `json:"schedule"`
	Active   bool     `json:"active"`
	// RateShare is the percentage of the provider's rate limit this connector
	// may use.
	RateShare int      `json:"rateShare"`
	FullEvery Duration `json:"fullEvery"`
	// MaxDeletes is the deletion guard: a run that would delete more holds
	// its deletes until an admin confirms them.
	MaxDeletes DeleteLimit `json:"maxDeletes"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
}

// New returns a Config of spec's kind with every default of product.md §1
// and a fresh ID. now anchors the schedule (weekly and monthly runs keep the
// weekday and day of month of the day the schedule was set).
func New(spec *Spec, now time.Time) Config {
	return Config{
		ID:         NewID("c_", now),
		Kind:       spec.Kind,
		Server:     DefaultServer,
		Statuses:   []string{spec.DefaultStatus},
		Schedule:   Schedule{Repeats: Daily, StartTime: DefaultStartTime, Anchor: now.Format(time.DateOnly)},
		Active:     true,
		RateShare:  DefaultRateShare,
		FullEvery:  Duration(DefaultFullEvery),
		MaxDeletes: DefaultMaxDeletes,
		Created:    now.UTC(),
		Updated:    now.UTC(),
	}
}

// NewID returns prefix followed by a ULID: unique, and sortable by creation
// time, which keeps listings and logs in a natural order.
func NewID(prefix string, now time.Time) string {
	return prefix + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}

// Duration is a time.Duration that reads and writes as "24h" in JSON.
type Duration time.Duration

// String formats d without zero minute and second units: "24h", "90m".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
