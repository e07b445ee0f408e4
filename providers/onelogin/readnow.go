package onelogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
	_, _, err := c.list(ctx, url.Values{}, func(items []map[string]any, _ http.Header) error {
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

var _ engine.UserReader = (*Client)(nil)

// ReadUser reads one user by its numeric ID, else by e-mail, else by
// username (GET /api/2/users/{id}, or the listing filtered by email or
// username). fields are unused: OneLogin listings ask for every field.
func (c *Client) ReadUser(ctx context.Context, key string, _ []string) (engine.User, bool, error) {
	if _, err := strconv.ParseInt(key, 10, 64); err == nil {
		return c.FindUser(ctx, key)
	}
	if strings.ContainsAny(key, "*?[") {
		return engine.User{}, false, nil // the listing's filters take patterns: a key is matched exactly
	}
	for _, by := range []string{"email", "username"} {
		var found []engine.User
		_, _, err := c.list(ctx, url.Values{by: {key}}, func(items []map[string]any, _ http.Header) error {
			for _, raw := range items {
				f, err := checkUser(raw)
				if err != nil {
					return fmt.Errorf("onelogin: malformed user list: %w (%w)", err, fault.ErrTransient)
				}
				if v, _ := raw[by].(string); strings.EqualFold(v, key) {
					found = append(found, engine.User{ID: f.id, Status: statusName(f.status), Raw: raw})
				}
			}
			return errEnough // one page says it
		})
		if err != nil && !errors.Is(err, errEnough) {
			return engine.User{}, false, err
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], true, nil
		}
		return engine.User{}, false, fault.Mark(fmt.Errorf("onelogin: more than one user has the %s %s; give the user's ID", by, key), fault.ErrBadInput)
	}
	return engine.User{}, false, nil
}
