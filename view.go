package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"neurons-connector/connector"
	"neurons-connector/store"
)

// connectorView is a connector as list, show and status print it: the
// configuration, and each secret only as "set" or "not set".
type connectorView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	Server       string    `json:"server"`
	URL          string    `json:"url"`
	ClientID     string    `json:"clientId,omitempty"`
	Token        string    `json:"token,omitempty"`
	ClientSecret string    `json:"clientSecret,omitempty"`
	UserStatuses []string  `json:"userStatuses"`
	Repeats      string    `json:"repeats"`
	StartTime    string    `json:"startTime"`
	TimeZone     string    `json:"timeZone"`
	Schedule     string    `json:"schedule"`
	Active       bool      `json:"active"`
	RateShare    int       `json:"rateShare"`
	FullEvery    string    `json:"fullEvery"`
	MaxDeletes   string    `json:"maxDeletes"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

func newConnectorView(tx *store.Tx, c connector.Config) connectorView {
	v := connectorView{
		ID: c.ID, Name: c.Name, Type: string(c.Kind), Server: c.Server, URL: c.URL, ClientID: c.ClientID,
		UserStatuses: c.Statuses, Repeats: string(c.Schedule.Repeats), StartTime: c.Schedule.StartTime,
		TimeZone: c.Schedule.TimeZone, Schedule: c.Schedule.String(), Active: c.Active,
		RateShare: c.RateShare, FullEvery: c.FullEvery.String(), MaxDeletes: c.MaxDeletes.String(),
		Created: c.Created, Updated: c.Updated,
	}
	state := "not set"
	if tx.HasSecret(c.ID, secretName(c.Kind)) {
		state = "set"
	}
	if c.Kind == connector.OneLogin {
		v.ClientSecret = state
	} else {
		v.Token = state
	}
	return v
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeDetails prints label/value pairs aligned.
func writeDetails(w io.Writer, rows [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func (v connectorView) details() [][2]string {
	zone := v.TimeZone
	if zone == "" {
		zone = "server's local time"
	}
	rows := [][2]string{
		{"Name", v.Name}, {"ID", v.ID}, {"Type", v.Type}, {"Server", v.Server},
	}
	if v.Type == string(connector.OneLogin) {
		rows = append(rows, [2]string{"Domain", v.URL}, [2]string{"Client ID", v.ClientID},
			[2]string{"Client secret", v.ClientSecret})
	} else {
		rows = append(rows, [2]string{"URL", v.URL}, [2]string{"API token", v.Token})
	}
	return append(rows,
		[2]string{"User statuses", strings.Join(v.UserStatuses, ", ")},
		[2]string{"Schedule", v.Schedule},
		[2]string{"Time zone", zone},
		[2]string{"Active", yesNo(v.Active)},
		[2]string{"Rate share", fmt.Sprintf("%d%% of the provider's rate limit", v.RateShare)},
		[2]string{"Full run every", v.FullEvery},
		[2]string{"Max deletes", maxDeletesText(v.MaxDeletes)},
		[2]string{"Created", v.Created.Format(time.RFC3339)},
		[2]string{"Updated", v.Updated.Format(time.RFC3339)},
	)
}

// maxDeletesText says what --max-deletes allows, in words.
func maxDeletesText(l string) string {
	switch {
	case l == "none":
		return "none (runs delete without a cap)"
	case strings.HasSuffix(l, "%"):
		return l + " of the users the connector has delivered, per run"
	}
	return l + " users per run"
}
