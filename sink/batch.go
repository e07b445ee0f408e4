// Package sink owns the contract with Neurons (spec/neurons-ingestion.md,
// schema version 1): the batch format, the client that pushes batches to the
// ingestion endpoint, and the CSV drop. sink/sinktest is the receiving side,
// for tests and the demo. The contract lives here and nowhere else.
package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip" // compress/gzip's API, two to three times faster
	"github.com/klauspost/compress/s2"

	"neurons-connector/internal/jsonstr"
	"neurons-connector/internal/spare"
)

// SchemaVersion is the contract version this package speaks.
const SchemaVersion = 1

// Limits of one batch (neurons-ingestion.md §2).
const (
	MaxRecords = 1000
	MaxBody    = 5 << 20
)

// Delete reasons.
const (
	ReasonStatusNotSelected = "status-not-selected"
	ReasonDeletedAtSource   = "deleted-at-source"
	ReasonConnectorRemoved  = "connector-removed"
)

// Connector names the connector a batch comes from.
type Connector struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Server string `json:"server"`
}

// Upsert carries a user's full mapped record.
type Upsert struct {
	SourceID   string          `json:"sourceId"`
	Attributes json.RawMessage `json:"attributes"`
}

// Delete removes a user.
type Delete struct {
	SourceID string `json:"sourceId"`
	Reason   string `json:"reason"`
}

// BatchInfo places a batch in its run.
type BatchInfo struct {
	RunID    string `json:"runId"`
	Sequence int    `json:"sequence"`
	Mode     string `json:"mode"`
	Final    bool   `json:"final"`
}

// Batch is one push: the request body of the contract, plus its
// Idempotency-Key, which names this batch instance for good.
type Batch struct {
	Key           string    `json:"-"`
	SchemaVersion int       `json:"schemaVersion"`
	Connector     Connector `json:"connector"`
	DataType      string    `json:"dataType"`
	Info          BatchInfo `json:"batch"`
	Upserts       []Upsert  `json:"upserts"`
	Deletes       []Delete  `json:"deletes"`
}

// Records is the number of upserts and deletes.
func (b *Batch) Records() int { return len(b.Upserts) + len(b.Deletes) }

// Body is the batch's JSON request body. The envelope is encoded with
// encoding/json; the attributes, already JSON from the mapping's canonical
// encoder, are copied in as they are (encoding/json would re-validate and
// re-compact every byte of them, most of a push's CPU).
func (b *Batch) Body() ([]byte, error) {
	var ups Upserts
	for _, u := range b.Upserts {
		ups.Add(u.SourceID, u.Attributes)
	}
	return b.AppendBody(nil, &ups)
}

// AppendBody appends to dst the batch's body with ups as its upserts (the
// batch's own Upserts are left out).
func (b *Batch) AppendBody(dst []byte, ups *Upserts) ([]byte, error) {
	head, err := json.Marshal(struct {
		SchemaVersion int       `json:"schemaVersion"`
		Connector     Connector `json:"connector"`
		DataType      string    `json:"dataType"`
		Info          BatchInfo `json:"batch"`
	}{SchemaVersion, b.Connector, "User", b.Info})
	if err != nil {
		return nil, err
	}
	dels := b.Deletes
	if dels == nil {
		dels = []Delete{}
	}
	d, err := json.Marshal(dels)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, len(head)+len(ups.json)+len(d)+32)
	dst = append(dst, head[:len(head)-1]...)
	dst = append(dst, `,"upserts":[`...)
	dst = append(dst, ups.json...)
	dst = append(dst, `],"deletes":`...)
	dst = append(dst, d...)
	return append(dst, '}'), nil
}

// Upserts are a batch's upserts encoded as they are gathered: each record
// is written once, into memory the engine reuses batch after batch, rather
// than kept as a copy and copied again into the body.
type Upserts struct {
	json []byte // the records, comma-separated, without the brackets
	n    int
}

// Add appends one upsert.
func (u *Upserts) Add(sourceID string, attrs []byte) {
	if u.n > 0 {
		u.json = append(u.json, ',')
	}
	u.json = append(u.json, `{"sourceId":`...)
	u.json = jsonstr.Append(u.json, sourceID)
	u.json = append(u.json, `,"attributes":`...)
	u.json = append(u.json, attrs...)
	u.json = append(u.json, '}')
	u.n++
}

// Len is the number of upserts.
func (u *Upserts) Len() int { return u.n }

// Reset empties u, keeping its memory.
func (u *Upserts) Reset() { u.json, u.n = u.json[:0], 0 }

// Split halves a batch that the sink found too large. The halves keep the
// sequence number and take keys derived from the batch's key, so a retry
// after a crash splits the same way and sends the same keys.
func (b *Batch) Split() (*Batch, *Batch, error) {
	n := b.Records()
	if n < 2 {
		return nil, nil, errors.New("a batch of one record is too large for the sink")
	}
	first, second := *b, *b
	first.Key, second.Key = b.Key+".1", b.Key+".2"
	half := n / 2
	if half <= len(b.Upserts) {
		first.Upserts, first.Deletes = b.Upserts[:half], nil
		second.Upserts = b.Upserts[half:]
	} else {
		d := half - len(b.Upserts)
		first.Deletes = b.Deletes[:d]
		second.Upserts, second.Deletes = nil, b.Deletes[d:]
	}
	// Only the second half may be the run's last batch.
	first.Info.Final = false
	return &first, &second, nil
}

// Payload is a batch body as the outbox keeps it: bodies over 8 KiB are
// gzipped once, when queued, so the outbox holds a fraction of the bytes and
// a retried push does not compress again. The first byte says which.
type Payload []byte

const (
	plainJSON = 'j'
	gzipJSON  = 'z'
	s2JSON    = 's'
)

// Pack makes the payload of a body.
func Pack(body []byte) (Payload, error) {
	if len(body) <= gzipAbove {
		return plain(body), nil
	}
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	buf.WriteByte(gzipJSON)
	// Level 1: on a real batch body (200 simulated Okta users) 15.6 % of
	// the size at 178 MB/s; the stateless mode was 12 % faster for a 7 %
	// larger body, Huffman only 33 % faster for four times the size. The
	// writer is reused: a new one allocates its tables (some 600 KB) anew.
	zw := gzipWriters.Get()
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return Payload(buf.Bytes()), nil
}

// gzipWriters are spare level-1 writers, one per batch being packed.
var gzipWriters = spare.List[*gzip.Writer]{Max: 4, New: func() *gzip.Writer {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return zw
}}

// plain makes an uncompressed payload of a body.
func plain(body []byte) Payload {
	return append(Payload{plainJSON}, body...)
}

// PackLocal makes the payload of a body that a sink reads in this process
// (the CSV drop): S2, which compresses JSON to about a quarter at a tenth
// of gzip's CPU both ways, where gzip's wire format buys nothing. It keeps
// the outbox small should the sink fall behind.
func PackLocal(body []byte) Payload {
	scratch := s2Scratch.Get()
	defer s2Scratch.Put(scratch)
	if n := s2.MaxEncodedLen(len(body)); cap(*scratch) < n {
		*scratch = make([]byte, n)
	}
	enc := s2.Encode((*scratch)[:cap(*scratch)], body)
	return append(Payload{s2JSON}, enc...) // as long as it needs to be: the outbox keeps it
}

// s2Scratch holds the buffers S2 encodes into (it needs room for the worst
// case, several times what JSON compresses to).
var s2Scratch = spare.List[*[]byte]{New: func() *[]byte { return new([]byte) }, Max: 4}

// Gzipped returns the gzip stream, if the payload is compressed.
func (p Payload) Gzipped() ([]byte, bool) {
	if len(p) > 0 && p[0] == gzipJSON {
		return p[1:], true
	}
	return nil, false
}

// JSON returns the uncompressed body.
func (p Payload) JSON() ([]byte, error) {
	switch {
	case len(p) == 0:
		return nil, errors.New("empty payload")
	case p[0] == plainJSON:
		return p[1:], nil
	case p[0] == s2JSON:
		body, err := s2.Decode(nil, p[1:])
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return body, nil
	case p[0] == gzipJSON:
		zr, err := gzip.NewReader(bytes.NewReader(p[1:]))
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("payload of unknown format %q", p[0])
}

// AppendJSON appends the uncompressed body to dst.
func (p Payload) AppendJSON(dst []byte) ([]byte, error) {
	if len(p) > 0 && p[0] == s2JSON {
		n, err := s2.DecodedLen(p[1:])
		if err != nil {
			return dst, fmt.Errorf("payload: %w", err)
		}
		dst = slices.Grow(dst, n)
		body, err := s2.Decode(dst[len(dst):len(dst)+n], p[1:])
		if err != nil {
			return dst, fmt.Errorf("payload: %w", err)
		}
		return dst[:len(dst)+len(body)], nil
	}
	body, err := p.JSON()
	return append(dst, body...), err
}

// Parse reads a batch body back.
func Parse(key string, body []byte) (*Batch, error) {
	b := &Batch{Key: key}
	if err := json.Unmarshal(body, b); err != nil {
		return nil, fmt.Errorf("batch %s: %w", key, err)
	}
	return b, nil
}

// Error is a failed push, classified once here for the pusher with the
// classes of package fault, by the contract's response table
// (neurons-ingestion.md §3): 400 rejected (never sent again unchanged);
// 429, 5xx, network and timeouts transient (again after RetryAfter or a
// backoff); 401 after a fresh token, 403 and bad client credentials
// config (an admin must act); 413 too large (split in halves).
type Error struct {
	Class      error    // one of fault's classes
	Status     int      // HTTP status, 0 for network errors
	Message    string   // the sink's message
	Details    []string // the sink's details (400)
	RetryAfter time.Duration
	err        error
}

func (e *Error) Error() string {
	msg := "sink: " + e.Message
	if e.Status != 0 {
		msg = fmt.Sprintf("sink: HTTP %d: %s", e.Status, e.Message)
	}
	for _, d := range e.Details {
		msg += "; " + d
	}
	return msg
}

// Unwrap exposes the cause and the class.
func (e *Error) Unwrap() []error { return []error{e.err, e.Class} }
