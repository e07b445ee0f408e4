package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// maxRuns is how many runs per connector the history keeps.
const maxRuns = 100

// Run is one run's record in the history.
type Run struct {
	ID   string `json:"id"`
	Mode string `json:"mode"` // "full" or "incremental"
	// ModeReason says why the run had its mode: "first run", "mapping changed"...
	ModeReason string    `json:"modeReason,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Result     string    `json:"result"` // "ok", "held", "failed", "cancelled"
	Error      string    `json:"error,omitempty"`
	Warnings   []string  `json:"warnings,omitempty"`

	Fetched  int `json:"fetched"`
	Upserted int `json:"upserted"`
	Deleted  int `json:"deleted"`
	// Reread counts the reports of changed managers the run read again
	// (engine/reread.go), not among Fetched.
	Reread int `json:"reread,omitempty"`
	// Held is how many deletes the deletion guard held back (result
	// "held"); Confirmed marks a run whose deletes an admin let through
	// (run --confirm-deletes).
	Held      int  `json:"held,omitempty"`
	Confirmed bool `json:"confirmed,omitempty"`
	// Resend marks a run that sent every selected user whatever the
	// snapshot said (run --resend, or the run after one that did not
	// complete).
	Resend bool `json:"resend,omitempty"`

	APICalls       int           `json:"apiCalls"`
	RateLimitWaits int           `json:"rateLimitWaits"`
	RateLimitWait  time.Duration `json:"rateLimitWaitNanos"`
	// APIResponses counts the provider's answers by HTTP status (0: no
	// answer), for the daemon's metrics.
	APIResponses map[int]int `json:"apiResponses,omitempty"`
}

// AddRun appends r to the connector's history, dropping the oldest records
// beyond maxRuns.
func (t *Tx) AddRun(id string, r Run) error {
	b, err := t.nested(bucketRuns, id, true)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), data); err != nil {
		return fmt.Errorf("write run: %w", err)
	}
	// Collect first: deleting under a moving cursor skips keys in bbolt.
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && seq-binary.BigEndian.Uint64(k) >= maxRuns; k, _ = c.Next() {
		old = append(old, clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Runs returns up to n of the connector's runs, newest first.
func (t *Tx) Runs(id string, n int) ([]Run, error) {
	b, _ := t.nested(bucketRuns, id, false)
	if b == nil {
		return nil, nil
	}
	var out []Run
	c := b.Cursor()
	for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
		var r Run
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode run of connector %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}
