package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"neurons-connector/engine"
	"neurons-connector/providers/httpclient"
)

// Identity names the org the token reads: "okta org <id>", from GET
// /api/v1/org, or, when the token may not read the org settings (403: no
// admin role, or a custom role without them), from the public
// /.well-known/okta-organization, which every org serves without
// credentials. The engine compares it with the last run's to catch a
// connector pointed at another org.
func (c *Client) Identity(ctx context.Context) (string, error) {
	var org struct {
		ID string `json:"id"`
	}
	decode := func(r io.Reader) error { return httpclient.DecodeInto(r, &org) }
	_, err := c.get(ctx, "/api/v1/org", decode)
	var ae *httpclient.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden && ae.Page == "" {
		_, err = c.get(ctx, "/.well-known/okta-organization", decode)
	}
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && ae.Page == "" {
		err = c.explain(err) // the first call of a run: a revoked token shows here
	}
	if err != nil {
		return "", fmt.Errorf("okta: read the org's id: %w", err)
	}
	if org.ID == "" {
		return "", nil // an org that does not say: the check is skipped
	}
	return "okta org " + org.ID, nil
}

var _ engine.Identifier = (*Client)(nil)
