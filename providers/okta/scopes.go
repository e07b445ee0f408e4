package okta

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// The OAuth app's scopes: which a run asks for, and what it does without
// those the app is not granted.

// narrow leaves out of the scopes to ask for those of the APIs the pass
// will not call (skipUnread): a run asks for no more than it uses.
func (o *oauthApp) narrow(pass *incremental) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cfg.Scopes = slices.DeleteFunc(o.cfg.Scopes, func(s string) bool {
		return (s == "okta.apps.read" || s == "okta.groups.read") && pass.isUnavailable("apps") || s == "okta.devices.read" && pass.isUnavailable("devices")
	})
}

// optionalScopes are the scopes of the parts a run can do without, and
// what is left out without each: Okta then answers their APIs 403, which
// the run takes as those APIs missing (sweep.go, syslog.go).
var optionalScopes = map[string]string{
	"okta.apps.read":    "assigned apps are not read (each user keeps the apps last read, if any)",
	"okta.devices.read": "device type and OS are not read (each user keeps the devices last read, if any)",
	"okta.logs.read":    "incremental runs cannot see app assignments, devices and deletions in the System Log",
	"okta.groups.read":  "apps assigned to or taken from a group reach its members with full runs only",
	"okta.orgs.read":    "runs read the org's id from its public /.well-known/okta-organization instead, and connector test cannot name the org",
}

var scopeName = regexp.MustCompile(`okta\.[a-z]+\.[a-z]+`)

// dropOptional takes the scopes an invalid_scope answer refused out of
// those asked, when each of them is optional, and keeps them for the pass
// and the check to tell (lacking); it reports whether to ask again. The scopes are read from the
// answer's description; when it names none, every optional scope is dropped.
func (o *oauthApp) dropOptional(description string) bool {
	refused := scopeName.FindAllString(description, -1)
	if len(refused) == 0 {
		for _, s := range o.cfg.Scopes {
			if optionalScopes[s] != "" {
				refused = append(refused, s)
			}
		}
	}
	kept := slices.DeleteFunc(slices.Clone(o.cfg.Scopes), func(s string) bool { return slices.Contains(refused, s) })
	if len(kept) == len(o.cfg.Scopes) || len(kept) == 0 {
		return false
	}
	for _, s := range refused {
		if optionalScopes[s] == "" {
			return false // a scope the run cannot do without
		}
	}
	for _, s := range refused {
		if slices.Contains(o.cfg.Scopes, s) {
			o.refused = append(o.refused, s)
		}
	}
	o.cfg.Scopes = kept
	return true
}

// scopeAPIs are the parts of a pass each optional scope opens; the org's
// identity (okta.orgs.read) falls back to the public well-known document.
var scopeAPIs = map[string]string{"okta.apps.read": "apps", "okta.devices.read": "devices", "okta.logs.read": "logs", "okta.groups.read": "groups"}

// withoutRefused gets the app's token before the pass reads anything, and
// marks unavailable to the pass each part whose scope the app is not
// granted, with a warning each that says where to grant it: the pass then
// makes no call bound to be refused, and says why once. The token endpoint
// failing for a while is retried as any request is.
func (c *Client) withoutRefused(ctx context.Context, o *oauthApp, pass *incremental) error {
	failures, rateWaited := 0, time.Duration(0)
	for {
		err := o.ensure(ctx)
		if err == nil {
			break
		}
		if !isTokenWait(err) {
			return err
		}
		wait, stop := c.tokenRetry(err, &failures, &rateWaited)
		if stop != nil {
			return stop
		}
		if failures > c.opts.MaxRetries {
			return err
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	for _, s := range o.lacking() {
		if api := scopeAPIs[s]; api != "" {
			pass.markUnavailable(api)
		}
		c.warn(fmt.Sprintf("okta: the app %s is not granted %s: %s; grant it in the Admin Console (%s)",
			o.cfg.ClientID, s, optionalScopes[s], scopesPlace))
	}
	return nil
}

// scopesPlace is where the Admin Console grants an app its scopes.
const scopesPlace = "Applications > Applications > the app > Okta API Scopes"
