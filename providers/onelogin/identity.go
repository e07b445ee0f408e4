package onelogin

import (
	"context"

	"neurons-connector/engine"
)

// Identity names the account the credential reads, "onelogin account
// <id>", from the account_id of the token answer (onelogin-api.md §1.1): no
// extra call, since every run needs the token anyway. The engine compares it
// with the last run's to catch a connector pointed at another account. An
// answer without account_id gives "" (the check is skipped).
func (c *Client) Identity(ctx context.Context) (string, error) {
	if _, err := c.accessToken(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.account == "" {
		return "", nil
	}
	return "onelogin account " + c.account, nil
}

var _ engine.Identifier = (*Client)(nil)
