package sinktest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"

	json "github.com/goccy/go-json"      // the fake decodes every byte a benchmark pushes: the faster the better
	"github.com/klauspost/compress/gzip" // compress/gzip's API, two to three times faster

	"neurons-connector/internal/spare"
)

func bad(w http.ResponseWriter, msg string) int {
	reply(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "details": []string{msg}})
	return http.StatusBadRequest
}

var errTooLarge = fmt.Errorf("too large")

// bodies are the buffers batches are read into, kept between requests: a
// fresh one per batch was grown to the batch's size again each time, and
// memory the process has not touched yet costs a page fault for every 4 KB
// (about 10 µs each on this project's virtual machines), which the fake
// paid on the cores a benchmark's connector runs on.
var bodies = spare.List[*bytes.Buffer]{Max: 4, New: func() *bytes.Buffer { return new(bytes.Buffer) }}

// inflaters are the gzip readers of batch bodies, reset for each body.
var inflaters = spare.List[*gzip.Reader]{Max: 4, New: func() *gzip.Reader { return new(gzip.Reader) }}

// readBody reads a request's body, inflated when it says gzip, and returns
// it with a release that hands its memory back for the next request: call
// it once nothing refers to the body any more.
func readBody(r *http.Request, maxBody int) (body []byte, gz bool, release func(), err error) {
	var in io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr := inflaters.Get()
		if err := zr.Reset(r.Body); err != nil {
			inflaters.Put(zr)
			return nil, true, func() {}, fmt.Errorf("Content-Encoding gzip but the body is not gzip")
		}
		defer inflaters.Put(zr)
		in, gz = zr, true
	default:
		return nil, false, func() {}, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	buf := bodies.Get()
	buf.Reset()
	release = func() { bodies.Put(buf) }
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength*8, int64(maxBody)+1))) // JSON batches inflate five- to eight-fold
	}
	_, err = buf.ReadFrom(io.LimitReader(in, int64(maxBody)+1))
	body = buf.Bytes()
	if err != nil {
		return nil, gz, release, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return nil, gz, release, errTooLarge
	}
	return body, gz, release, nil
}

func (s *Server) apply(key string, b *batch, gz bool) {
	id := b.Connector.ID
	if s.opts.CountOnly { // a million users: counts only, no state
		s.counts.upserts += len(b.Upserts)
		s.counts.deletes += len(b.Deletes)
		s.accepted = append(s.accepted, Accepted{Key: key, Connector: id, RunID: b.Batch.RunID, Sequence: b.Batch.Sequence,
			Mode: b.Batch.Mode, Final: b.Batch.Final, Upserts: len(b.Upserts), Deletes: len(b.Deletes), Gzipped: gz})
		return
	}
	if s.state[id] == nil {
		s.state[id], s.deleted[id], s.delCount[id] = map[string]*Record{}, map[string]string{}, map[string]int{}
	}
	rr := s.report(id, b.Batch.RunID, b.Batch.Mode)
	for _, u := range b.Upserts {
		rec := s.state[id][u.SourceID]
		if rec == nil {
			rec = &Record{}
			s.state[id][u.SourceID] = rec
			rr.New++
			rr.NewIDs = sample(rr.NewIDs, u.SourceID)
		} else {
			rr.Updated++
			rr.UpdatedIDs = sample(rr.UpdatedIDs, u.SourceID)
		}
		rec.Upserts++
		if !s.opts.CountOnly {
			rec.Attributes, rec.Raw = u.Attributes, bytes.Clone(u.Raw)
		}
		delete(s.deleted[id], u.SourceID)
	}
	for _, d := range b.Deletes {
		delete(s.state[id], d.SourceID)
		s.deleted[id][d.SourceID] = d.Reason
		s.delCount[id][d.SourceID]++
		rr.Deletes[d.Reason]++
		rr.DeletedIDs = sample(rr.DeletedIDs, d.SourceID)
	}
	s.counts.upserts += len(b.Upserts)
	s.counts.deletes += len(b.Deletes)
	s.accepted = append(s.accepted, Accepted{Key: key, Connector: id, RunID: b.Batch.RunID, Sequence: b.Batch.Sequence,
		Mode: b.Batch.Mode, Final: b.Batch.Final, Upserts: len(b.Upserts), Deletes: len(b.Deletes), Gzipped: gz})
}

// RunReport is what one run delivered to the fake, as applied: upserts of
// users the fake did not hold (New) or did (Updated), deletes by reason,
// and the first few source IDs of each, for a reader to look at.
type RunReport struct {
	Connector, RunID, Mode         string
	New, Updated                   int
	Deletes                        map[string]int
	NewIDs, UpdatedIDs, DeletedIDs []string
}

// sampleSize is how many IDs a RunReport keeps of each kind.
const sampleSize = 3

func sample(ids []string, id string) []string {
	if len(ids) < sampleSize {
		return append(ids, id)
	}
	return ids
}

// report returns the run's report, creating it in arrival order.
func (s *Server) report(connID, runID, mode string) *RunReport {
	for _, r := range s.reports {
		if r.Connector == connID && r.RunID == runID {
			return r
		}
	}
	r := &RunReport{Connector: connID, RunID: runID, Mode: mode, Deletes: map[string]int{}}
	s.reports = append(s.reports, r)
	return r
}

// Reports returns the connector's run reports in the order the runs
// reached the fake.
func (s *Server) Reports(connectorID string) []RunReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RunReport
	for _, r := range s.reports {
		if r.Connector == connectorID {
			c := *r
			c.Deletes = maps.Clone(r.Deletes)
			out = append(out, c)
		}
	}
	return out
}

// DeleteCounts returns how many deletes of each user the fake applied (a
// new key's; repeated keys are not applied again).
func (s *Server) DeleteCounts(connectorID string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.delCount[connectorID])
}

// DeletedReason returns the reason of the last delete of a user.
func (s *Server) DeletedReason(connectorID, sourceID string) string {
	return s.DeleteReason(connectorID, sourceID)
}

// upsert keeps its attributes raw until check decodes them (unless the
// fake only counts).
type upsert struct {
	SourceID   string          `json:"sourceId"`
	Raw        json.RawMessage `json:"attributes"`
	Attributes map[string]any  `json:"-"`
}

// batch is the request body, decoded strictly.
type batch struct {
	lite          bool
	SchemaVersion int `json:"schemaVersion"`
	Connector     struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Server string `json:"server"`
	} `json:"connector"`
	DataType string `json:"dataType"`
	Batch    struct {
		RunID    string `json:"runId"`
		Sequence int    `json:"sequence"`
		Mode     string `json:"mode"`
		Final    bool   `json:"final"`
	} `json:"batch"`
	Upserts []upsert `json:"upserts"`
	Deletes []struct {
		SourceID string `json:"sourceId"`
		Reason   string `json:"reason"`
	} `json:"deletes"`
}

// check validates a batch against the contract.
func (b *batch) check() []string {
	var p []string
	add := func(f string, args ...any) { p = append(p, fmt.Sprintf(f, args...)) }
	if b.SchemaVersion != 1 {
		add("schemaVersion must be 1")
	}
	c := b.Connector
	if c.ID == "" || c.Name == "" || (c.Type != "okta" && c.Type != "onelogin") || c.Server == "" {
		add("connector needs id, name, type okta|onelogin and server")
	}
	if b.DataType != "User" {
		add("dataType must be User")
	}
	if b.Batch.RunID == "" || b.Batch.Sequence < 1 || (b.Batch.Mode != "full" && b.Batch.Mode != "incremental") {
		add("batch needs runId, sequence >= 1 and mode full|incremental")
	}
	if n := len(b.Upserts) + len(b.Deletes); n > 1000 {
		add("%d records; at most 1000 per batch", n)
	}
	for i := range b.Upserts {
		u := &b.Upserts[i]
		if u.SourceID == "" {
			add("upserts[%d]: sourceId is empty", i)
		}
		if b.lite {
			continue
		}
		if len(u.Raw) == 0 || u.Raw[0] != '{' {
			add("upserts[%d]: attributes missing", i)
			continue
		}
		if err := json.Unmarshal(u.Raw, &u.Attributes); err != nil {
			add("upserts[%d]: attributes: %v", i, err)
		}
		for k, v := range u.Attributes {
			switch x := v.(type) {
			case string:
				if x == "" {
					add("upserts[%d].%s: empty string; absent values are omitted", i, k)
				}
			case []any:
			default:
				add("upserts[%d].%s: %T; values are strings or lists", i, k, v)
			}
		}
	}
	for i, d := range b.Deletes {
		switch d.Reason {
		case "status-not-selected", "deleted-at-source", "connector-removed":
		default:
			add("deletes[%d]: unknown reason %q", i, d.Reason)
		}
		if d.SourceID == "" {
			add("deletes[%d]: sourceId is empty", i)
		}
	}
	return p
}
