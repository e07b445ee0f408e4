package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"neurons-connector/providers/httpclient"
)

// Check makes the cheapest authenticated calls that prove the connector
// works (GET /api/v1/org, then one user) and says what it found. Its error
// is a sentence an admin can act on. known are a few users the connector
// delivered: when the listing comes back empty, one of them is read by id,
// which tells a token that may not list users (Okta answers such a token
// with an empty list, not an error) from an org that is really empty.
func (c *Client) Check(ctx context.Context, known []string) (string, error) {
	var org struct {
		CompanyName string `json:"companyName"`
		Subdomain   string `json:"subdomain"`
	}
	_, err := c.get(ctx, "/api/v1/org", func(r io.Reader) error { return httpclient.DecodeInto(r, &org) })
	if err != nil {
		return "", c.explain(err)
	}
	var users []map[string]any
	_, err = c.get(ctx, "/api/v1/users?limit=1", func(r io.Reader) (err error) {
		users, err = httpclient.DecodeObjectsFrom(r, 1)
		return err
	})
	if err != nil {
		return "", c.explain(err)
	}
	msg := fmt.Sprintf("Okta org %q (%s) accepted the API token", org.CompanyName, org.Subdomain)
	if len(users) > 0 {
		return msg + " and can read users", nil
	}
	if len(known) == 0 {
		return msg + ", but listed no users: either the org has none, or the token's owner lacks an admin role " +
			"(Okta then answers an empty list); use a token of a Read-Only Administrator", nil
	}
	_, err = c.get(ctx, "/api/v1/users/"+url.PathEscape(known[0]), func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	var ae *httpclient.APIError
	switch {
	case err == nil:
		return "", fmt.Errorf("okta lists no users, yet user %s, whom this connector delivered, exists: the token's owner "+
			"cannot list users (Okta answers an empty list instead of an error); create the token as a Read-Only "+
			"Administrator and set it with: neurons-connector connector edit %q --token-stdin", known[0], c.name())
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return msg + fmt.Sprintf(", but listed no users, and user %s, whom this connector delivered, is gone: the org is "+
			"empty now, or --url names another org than before; runs hold their deletes until you confirm "+
			"(neurons-connector run %q --confirm-deletes)", known[0], c.name()), nil
	}
	return "", c.explain(err)
}

func (c *Client) name() string {
	if c.opts.Name == "" {
		return "NAME"
	}
	return c.opts.Name
}

// explain rewrites a failed check as what the admin should do.
func (c *Client) explain(err error) error {
	name := c.name()
	var ae *httpclient.APIError
	var ne *httpclient.NetError
	switch {
	case errors.As(err, &ne):
		return err // already says what and how
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return fmt.Errorf("okta rejected the API token (%s %s): it is wrong, expired or revoked; "+
			"create one in the Admin Console under Security > API > Tokens and set it with: "+
			"neurons-connector connector edit %q --token-stdin", ae.Code, ae.Message, name)
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return fmt.Errorf("okta refused the call (%s %s): the token's owner lacks an admin role that can read the org and users; "+
			"create the token as a Read-Only Administrator", ae.Code, ae.Message)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Errorf("the URL answers but is not an Okta org API (%s): check the connector's URL", ae.Error())
	}
	return err
}
