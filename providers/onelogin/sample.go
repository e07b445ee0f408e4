package onelogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"neurons-connector/engine"
	"neurons-connector/fault"
)

var _ engine.Sampler = (*Client)(nil)

// samplePages bounds how many pages Sample reads looking for users of
// every status asked (OneLogin cannot filter a listing by status).
const samplePages = 5

var errEnough = errors.New("enough users")

// Sample reads up to req.N users of req.Statuses now, as a full pass
// returns them, taking them in turn from each status so that a rare status
// is not crowded out: the listing's first pages (at most samplePages), since
// OneLogin lists users of every status together. For mapping preview.
func (c *Client) Sample(ctx context.Context, req engine.SampleRequest) ([]engine.User, error) {
	if len(req.Statuses) == 0 || req.N <= 0 {
		return nil, nil
	}
	byStatus := map[string][]engine.User{}
	selected := map[string]bool{}
	for _, s := range req.Statuses {
		selected[s] = true
	}
	pages, found := 0, 0
	_, err := c.list(ctx, url.Values{}, func(items []map[string]any, _ http.Header) error {
		pages++
		for _, raw := range items {
			f, err := checkUser(raw)
			if err != nil {
				return fmt.Errorf("onelogin: malformed user list: %w (%w)", err, fault.ErrTransient)
			}
			name := statusName(f.status)
			if !selected[name] || len(byStatus[name]) >= req.N {
				continue
			}
			byStatus[name] = append(byStatus[name], engine.User{ID: f.id, Status: name, Raw: raw})
			found++
		}
		if found >= req.N*len(req.Statuses) || pages >= samplePages {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	// In turn from each status, in the order asked.
	var out []engine.User
	for i := 0; len(out) < req.N; i++ {
		took := false
		for _, s := range req.Statuses {
			if i < len(byStatus[s]) && len(out) < req.N {
				out = append(out, byStatus[s][i])
				took = true
			}
		}
		if !took {
			break
		}
	}
	return out, nil
}
