package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"neurons-connector/providers/httpclient"
)

// Check makes the cheapest authenticated calls that prove the connector
// works (GET /api/v1/org, then one user) and says what it found. Its error
// is a sentence an admin can act on. known are a few users the connector
// delivered: when the listing comes back empty, one of them is read by id,
// which tells credentials that may not list users (Okta answers an admin
// without a role, token or app, with an empty list, not an error) from an
// org that is really empty. An OAuth app first gets its token, which
// explains a wrong key or client ID, and each optional scope it is not
// granted is reported on a line of its own, with what runs leave out.
func (c *Client) Check(ctx context.Context, known []string) (string, error) {
	cr := c.credential()
	var lacking []string
	if app, ok := c.auth.(*oauthApp); ok {
		if err := app.ensure(ctx); err != nil {
			return "", err // tokenError says what to do
		}
		lacking = app.lacking()
	}
	var org struct {
		CompanyName string `json:"companyName"`
		Subdomain   string `json:"subdomain"`
	}
	msg := "Okta accepted " + cr.who
	if !slices.Contains(lacking, "okta.orgs.read") {
		_, err := c.get(ctx, "/api/v1/org", func(r io.Reader) error { return httpclient.DecodeInto(r, &org) })
		if err != nil {
			return "", c.explain(err)
		}
		msg = fmt.Sprintf("Okta org %q (%s) accepted %s", org.CompanyName, org.Subdomain, cr.who)
	}
	var users []map[string]any
	_, err := c.get(ctx, "/api/v1/users?limit=1", func(r io.Reader) (err error) {
		users, err = httpclient.DecodeObjectsFrom(r, 1)
		return err
	})
	if err != nil {
		return "", c.explain(err)
	}
	if len(users) > 0 {
		var parts string
		if !slices.Contains(lacking, "okta.devices.read") {
			parts += c.checkPart(ctx, "/api/v1/devices?limit=1", "devices API", "a Classic Engine org has none, or %s may not read "+
				"devices), so runs read each user's phones and tablets from its Okta Verify factors instead: a call per user at the first "+
				"full run, and no computers or OS versions")
		}
		if !slices.Contains(lacking, "okta.logs.read") {
			parts += c.checkPart(ctx, "/api/v1/logs?limit=1", "System Log", "%s may not read it), so incremental runs cannot "+
				"see app assignments, devices and deletions there, and those wait for the next full run")
		}
		return msg + " and can read users" + parts + scopeLines(cr, lacking), nil
	}
	if len(known) == 0 {
		return msg + ", but listed no users: either the org has none, or " + cr.who + " lacks an admin role " +
			"(Okta then answers an empty list); " + cr.fixRole + scopeLines(cr, lacking), nil
	}
	_, err = c.get(ctx, "/api/v1/users/"+url.PathEscape(known[0]), func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	var ae *httpclient.APIError
	switch {
	case err == nil:
		return "", fmt.Errorf("okta lists no users, yet user %s, whom this connector delivered, exists: %s cannot list "+
			"users (Okta answers an empty list instead of an error) for want of an admin role; %s", known[0], cr.who, cr.fixRole)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return msg + fmt.Sprintf(", but listed no users, and user %s, whom this connector delivered, is gone: the org is "+
			"empty now, or --url names another org than before; runs hold their deletes until you confirm "+
			"(neurons-connector run %q --confirm-deletes)", known[0], c.name()) + scopeLines(cr, lacking), nil
	}
	return "", c.explain(err)
}

// checkPart asks for one item of a part runs can do without: the devices
// API (Classic Engine orgs have none, okta-api.md §5.3; a custom admin
// role may not read devices) or the System Log (a role may not read it).
// Runs then go on without it and warn; connector test says so before the
// first run. why completes "(…" with the credential's name for %s. A
// transient failure says nothing.
func (c *Client) checkPart(ctx context.Context, ref, what, why string) string {
	_, err := c.get(ctx, ref, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	var ae *httpclient.APIError
	if errors.As(err, &ae) && ae.Status/100 == 4 && ae.Status != http.StatusTooManyRequests {
		return fmt.Sprintf("; but its %s answers HTTP %d (", what, ae.Status) + fmt.Sprintf(why, c.credential().who)
	}
	return ""
}

// credential is how messages name what the connector signs in with, and
// how to fix it.
type credential struct {
	who     string // "the API token", "the OAuth app 0oa…"
	fixRole string // how to give it an admin role
	fixAuth string // how to replace it
	scopes  string // where an OAuth app's scopes are granted
}

func (c *Client) credential() credential {
	name := c.name()
	if app, ok := c.auth.(*oauthApp); ok {
		return credential{
			who: "the OAuth app " + app.cfg.ClientID,
			fixRole: "assign the app the Read-Only Administrator role in the Admin Console " +
				"(Applications > Applications > the app > Admin roles > Edit assignments)",
			fixAuth: fmt.Sprintf("check the app in the Admin Console (Applications > Applications), then its client ID and key "+
				"with: neurons-connector connector edit %q --client-id ID --private-key-file FILE", name),
			scopes: scopesPlace,
		}
	}
	return credential{
		who:     "the API token",
		fixRole: "create the token as a Read-Only Administrator and set it with: neurons-connector connector edit " + fmt.Sprintf("%q", name) + " --token-stdin",
		fixAuth: fmt.Sprintf("Okta revokes a token unused for 30 days and the tokens of an admin who is deactivated; "+
			"create one in the Admin Console under Security > API > Tokens and set it with: "+
			"neurons-connector connector edit %q --token-stdin", name),
	}
}

// scopeLines says, a line each, which optional scopes the app is not
// granted and what runs leave out for it.
func scopeLines(cr credential, lacking []string) string {
	var b strings.Builder
	for _, s := range lacking {
		fmt.Fprintf(&b, "\nwarning: %s is not granted %s, so %s; grant it in the Admin Console (%s)", cr.who, s, optionalScopes[s], cr.scopes)
	}
	return b.String()
}

func (c *Client) name() string {
	if c.opts.Name == "" {
		return "NAME"
	}
	return c.opts.Name
}

// explained is an error said in the admin's terms, which keeps the one it
// explains for errors.Is and As (its class: a configuration error).
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

// explain rewrites a failed check as what the admin should do.
func (c *Client) explain(err error) error {
	cr := c.credential()
	var ae *httpclient.APIError
	var ne *httpclient.NetError
	switch {
	case errors.As(err, &ne):
		return err // already says what and how
	case errors.As(err, &ae) && ae.Page != "":
		return err // not Okta at all: the message says what to check
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return explained{fmt.Sprintf("okta rejected %s (HTTP 401 %s %s): it is wrong, expired or revoked; %s", cr.who, ae.Code, ae.Message, cr.fixAuth), err}
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return fmt.Errorf("okta refused the call (%s %s): %s lacks an admin role that can read the org and users; %s",
			ae.Code, ae.Message, cr.who, cr.fixRole)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Errorf("the URL answers but is not an Okta org API (%s): check the connector's URL", ae.Error())
	}
	return err
}
