package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"neurons-connector/providers/httpclient"
)

// Check makes the cheapest authenticated calls that prove the connector
// works (GET /api/v1/org, then one user) and says what it found. Its error
// is a sentence an admin can act on.
func (c *Client) Check(ctx context.Context) (string, error) {
	var org struct {
		CompanyName string `json:"companyName"`
		Subdomain   string `json:"subdomain"`
	}
	_, err := c.get(ctx, "/api/v1/org", func(b []byte) error { return json.Unmarshal(b, &org) })
	if err != nil {
		return "", c.explain(err)
	}
	var users []map[string]any
	_, err = c.get(ctx, "/api/v1/users?limit=1", func(b []byte) (err error) {
		users, err = decodeArray(b)
		return err
	})
	if err != nil {
		return "", c.explain(err)
	}
	msg := fmt.Sprintf("Okta org %q (%s) accepted the API token", org.CompanyName, org.Subdomain)
	if len(users) == 0 {
		return msg + ", but listed no users: either the org has none, or the token's owner lacks an admin role " +
			"(Okta then answers an empty list); use a token of a Read-Only Administrator", nil
	}
	return msg + " and can read users", nil
}

// explain rewrites a failed check as what the admin should do.
func (c *Client) explain(err error) error {
	name := c.opts.Name
	if name == "" {
		name = "NAME"
	}
	var ae *APIError
	var ne *httpclient.NetError
	switch {
	case errors.As(err, &ne):
		return err // already says what and how
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return fmt.Errorf("okta rejected the API token (%s %s): it is wrong, expired or revoked; "+
			"create one in the Admin Console under Security > API > Tokens and set it with: "+
			"neurons-connector connector edit %q --token-stdin", ae.Code, ae.Summary, name)
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return fmt.Errorf("okta refused the call (%s %s): the token's owner lacks an admin role that can read the org and users; "+
			"create the token as a Read-Only Administrator", ae.Code, ae.Summary)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Errorf("the URL answers but is not an Okta org API (%s): check the connector's URL", ae.Error())
	}
	return err
}
