package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"neurons-connector/api"
	"neurons-connector/connector"
)

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

// secretLabel is how show labels a secret: as the kind's spec says, else
// by its key.
func secretLabel(specs connector.Specs, kind, key string) string {
	if sp, ok := specs.Find(connector.Kind(kind)); ok {
		for _, a := range sp.Auth {
			if a.Secret.Key == key && a.Secret.Label != "" {
				return a.Secret.Label
			}
		}
	}
	return key
}

// connectorDetails is a connector as show prints it.
func connectorDetails(specs connector.Specs, v api.Connector) [][2]string {
	zone := v.TimeZone
	if zone == "" {
		zone = "server's local time"
	}
	rows := [][2]string{
		{"Name", v.Name}, {"ID", v.ID}, {"Type", v.Type}, {"Server", v.Server},
	}
	for _, o := range v.Options {
		rows = append(rows, [2]string{o.Label, o.Value})
	}
	for _, k := range slices.Sorted(maps.Keys(v.Secrets)) {
		rows = append(rows, [2]string{secretLabel(specs, v.Type, k), v.Secrets[k]})
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
