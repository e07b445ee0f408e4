package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"neurons-connector/providers/httpclient"
)

// What an incremental pass reads from the System Log (docs/okta-system-log.md):
// the changes that do not touch a user's lastUpdated.
const (
	// LogOverlap is how far before the last read's server time the next
	// read starts: Okta's log shows events a little after they happen.
	// Events read twice are recognised by uuid.
	LogOverlap = 5 * time.Minute
	// logRetention is how long Okta keeps events; a position older than
	// it (less a margin) can have lost events, so the run is full.
	logRetention = 90*24*time.Hour - time.Hour
	logPageSize  = 1000
)

// maxLogPages bounds a read: a million events between two runs cost more
// than the full run that catches them all. (A variable for tests.)
var maxLogPages = 1000

// logEventTypes are the events that change what a user's record holds
// besides its profile. Group membership changes the apps a group gives.
var logEventTypes = []string{
	"application.user_membership.add", "application.user_membership.remove",
	"group.user_membership.add", "group.user_membership.remove",
	"group.application_assignment.add", "group.application_assignment.remove",
	"device.user.add", "device.user.remove",
	// An Okta Verify enrolment changed: where the devices API is refused,
	// a user's phones come from its factors (readFactors).
	"user.mfa.factor.activate", "user.mfa.factor.deactivate", "user.mfa.factor.reset_all",
	"user.lifecycle.delete.completed",
}

type logTarget struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

type logEvent struct {
	UUID      string      `json:"uuid"`
	Published time.Time   `json:"published"`
	EventType string      `json:"eventType"`
	Target    []logTarget `json:"target"`
}

// logRead is what one read of the log found.
type logRead struct {
	apps, devices, deleted map[string]bool      // user IDs (or logins, when no User target)
	groups                 []string             // groups whose apps changed
	members                map[string]foundUser // those groups' members, listed (groupMembers)
	events                 int                  // new events read
	at                     time.Time            // the server's time of the first answer
	seen                   []seenEvent          // events published at or after at less LogOverlap
}

// seenEvent is an event applied already, kept while the next read's
// overlap may return it.
type seenEvent struct {
	UUID      string    `json:"u"`
	Published time.Time `json:"p"`
}

// errNoLog is a log this token may not read; errLogTooLong one with more
// events to read than a full run would cost.
var (
	errNoLog      = errors.New("the System Log is not readable")
	errLogTooLong = errors.New("okta's System Log is too long to read")
)

// readLog reads the events of logEventTypes published since the position
// (less LogOverlap), skipping those already applied.
func (c *Client) readLog(ctx context.Context, cur cursor) (*logRead, error) {
	from := cur.Log
	if from.IsZero() {
		from = cur.Watermark // a cursor of a version that read no log
	}
	since := from.Add(-LogOverlap)
	done := make(map[string]bool, len(cur.LogSeen))
	for _, e := range cur.LogSeen {
		done[e.UUID] = true
	}
	filters := make([]string, len(logEventTypes))
	for i, t := range logEventTypes {
		filters[i] = fmt.Sprintf("eventType eq %q", t)
	}
	q := url.Values{"since": {since.UTC().Format(TimeFormat)}, "filter": {strings.Join(filters, " or ")},
		"limit": {fmt.Sprint(logPageSize)}, "sortOrder": {"ASCENDING"}}
	ref := "/api/v1/logs?" + q.Encode()
	out := &logRead{apps: map[string]bool{}, devices: map[string]bool{}, deleted: map[string]bool{}, members: map[string]foundUser{}}
	recent := append([]seenEvent(nil), cur.LogSeen...)
	for pages := 0; ; pages++ {
		if pages == maxLogPages {
			// Reading on would cost more than the full run that catches it
			// all: this pass goes on as without the log.
			return nil, fmt.Errorf("%w: more than %d such events since %s", errLogTooLong, maxLogPages*logPageSize, since.Format(time.RFC3339))
		}
		var page []logEvent
		h, err := c.get(ctx, ref, func(r io.Reader) (err error) {
			page, err = httpclient.DecodeItemsFrom[logEvent](r, logPageSize)
			return err
		})
		if unavailable(err) {
			return nil, fmt.Errorf("%w: %w", errNoLog, err)
		}
		if err != nil {
			return nil, err
		}
		if out.at.IsZero() {
			out.at = serverTime(h)
		}
		for _, e := range page {
			if e.UUID == "" || done[e.UUID] {
				continue
			}
			done[e.UUID] = true
			out.events++
			out.note(e)
			recent = append(recent, seenEvent{e.UUID, e.Published})
		}
		// A polling query always links to the next poll, and may link to
		// the same one: a short page or an unchanged link is the end.
		next := nextLink(h)
		if len(page) < logPageSize || next == "" || next == ref {
			break
		}
		ref = next
	}
	if out.at.IsZero() {
		return nil, errors.New("okta: the System Log answered without a Date header")
	}
	keep := out.at.Add(-LogOverlap) // where the next read starts
	for _, e := range recent {
		if !e.Published.Before(keep) {
			out.seen = append(out.seen, e)
		}
	}
	return out, nil
}

// note records what an event changes.
func (r *logRead) note(e logEvent) {
	var user, login, group string
	for _, t := range e.Target {
		switch t.Type {
		case "User":
			user = t.ID
		case "AppUser":
			login = t.AlternateID
		case "UserGroup":
			group = t.ID
		}
	}
	if user == "" {
		user = login // GET /users/{login} finds the user
	}
	switch {
	case strings.HasPrefix(e.EventType, "group.application_assignment."):
		if group != "" {
			r.groups = append(r.groups, group)
		}
	case user == "":
	case strings.HasPrefix(e.EventType, "application.user_membership."), strings.HasPrefix(e.EventType, "group.user_membership."):
		r.apps[user] = true
	case strings.HasPrefix(e.EventType, "device."), strings.HasPrefix(e.EventType, "user.mfa.factor."):
		r.devices[user] = true
	case e.EventType == "user.lifecycle.delete.completed":
		r.deleted[user] = true
	}
}
