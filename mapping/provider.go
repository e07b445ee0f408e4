package mapping

import (
	"strconv"
	"strings"

	"neurons-connector/connector"
)

// providerFacts is what the loader and the transforms need to know of one
// provider's user record.
type providerFacts struct {
	// app is the source-specific target prefix: Application.Okta.
	app string
	// article names the provider in messages: "an Okta".
	article string
	// fields are the top-level keys of the provider's user record (the API's
	// user object plus what the connector adds: Okta's appLinks and devices).
	// A source path must start with one of them.
	fields []string
	// open are the fields whose members are free-form (custom attributes),
	// the only ones a wildcard may expand.
	open []string
	// status and state name the provider's codes for people.
	status map[string]string
	state  map[string]string
}

var facts = map[connector.Kind]providerFacts{
	connector.Okta: {
		app:     "Application.Okta.",
		article: "an Okta",
		fields: []string{"id", "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated",
			"passwordChanged", "realmId", "type", "profile", "credentials", "transitioningToStatus",
			"_links", "_embedded", "appLinks", "devices"},
		open: []string{"profile"},
		// The labels of the Okta admin console.
		status: map[string]string{
			"STAGED": "Staged", "PROVISIONED": "Pending user action", "ACTIVE": "Active",
			"RECOVERY": "Password reset", "PASSWORD_EXPIRED": "Password expired", "LOCKED_OUT": "Locked out",
			"SUSPENDED": "Suspended", "DEPROVISIONED": "Deactivated",
		},
	},
	connector.OneLogin: {
		app:     "Application.OneLogin.",
		article: "a OneLogin",
		fields: []string{"id", "username", "email", "firstname", "lastname", "title", "department", "company",
			"comment", "phone", "status", "state", "group_id", "role_ids", "directory_id", "trusted_idp_id",
			"manager_user_id", "manager_ad_id", "member_of", "samaccountname", "userprincipalname",
			"distinguished_name", "external_id", "preferred_locale_code", "invalid_login_attempts",
			"created_at", "activated_at", "updated_at", "last_login", "invitation_sent_at",
			"password_changed_at", "locked_until", "custom_attributes"},
		open: []string{"custom_attributes"},
		status: map[string]string{
			"0": "Unactivated", "1": "Active", "2": "Suspended", "3": "Locked", "4": "Password expired",
			"5": "Awaiting password reset", "7": "Password pending", "8": "Security questions required",
		},
		state: map[string]string{"0": "Unapproved", "1": "Approved", "2": "Rejected", "3": "Unlicensed"},
	},
}

// statusName names a status code or name; unknown values become "Unknown"
// rather than failing the run (providers add statuses without notice).
func (f providerFacts) statusName(v string) string {
	if n, ok := f.status[strings.ToUpper(v)]; ok {
		return n
	}
	// OneLogin statuses also arrive as their names in some exports.
	for _, n := range f.status {
		if strings.EqualFold(n, v) || strings.EqualFold(strings.ReplaceAll(n, " ", "-"), v) {
			return n
		}
	}
	return "Unknown"
}

func (f providerFacts) stateName(v string) string {
	if _, err := strconv.Atoi(v); err == nil {
		if n, ok := f.state[v]; ok {
			return n
		}
	}
	return "Unknown"
}
