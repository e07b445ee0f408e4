// Package api is the vocabulary of the command layer's backends: the typed
// requests a command makes (add a connector with its secret as bytes, run,
// remove, export a table) and the views it prints. The local backend answers
// them from the database; the daemon answers the same values over its local
// socket. Nothing here names a file or an environment variable: a client
// reads those itself and sends what it read.
package api

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
)

// Backend is everything the command layer asks of the connectors' store,
// defined once: local.Backend answers it from the database, control.Client
// sends it to the daemon, whose control server answers it with a
// local.Backend bound to the database it holds. The command layer picks
// the implementation (cli/session.go). Every request is typed: a secret
// travels as the bytes the command read, a table comes back as content the
// command writes itself.
type Backend interface {
	Add(ctx context.Context, req AddRequest) (Connector, error)
	Edit(ctx context.Context, req EditRequest) (Connector, error)
	Remove(ctx context.Context, req RemoveRequest) (Removed, error)
	List(ctx context.Context) ([]Connector, error)
	Show(ctx context.Context, name string) (Connector, error)
	Test(ctx context.Context, name string) (string, error)
	Run(ctx context.Context, req RunRequest, events func(Event)) (RunResult, error)
	Status(ctx context.Context, name string) ([]Status, error)
	Export(ctx context.Context, target string) (Table, error)
	Preview(ctx context.Context, req PreviewRequest) (Preview, error)
	Explain(ctx context.Context, req ExplainRequest) (Explanation, error)
	// Backup writes a consistent copy of the database to w (database
	// backup), while the service goes on; it returns the bytes written.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	Close() error
}

// Changes are the connector options an add or an edit sets, as the admin
// typed them; a nil field leaves its option as it is. The backend validates
// every value (connector.Changes.Apply), so a client cannot store what the
// command line would refuse.
type Changes = connector.Changes

// AddRequest adds a connector of Kind with Changes over the defaults.
type AddRequest struct {
	Kind    connector.Kind `json:"kind"`
	Changes Changes        `json:"changes"`
	// Secret is the secret of the way the connector signs in (an API
	// token, a client secret, a private key), read by the client from
	// where the admin said; never empty on add.
	Secret []byte `json:"secret"`
	// SecretFlag is the stem of the flags that gave Secret ("token",
	// "private-key"), so that a token is never sealed as a private key.
	SecretFlag string `json:"secretFlag,omitempty"`
}

// EditRequest changes the named connector; a nil Secret keeps the sealed
// one. A switch to another way of signing in needs that way's secret.
type EditRequest struct {
	Name    string  `json:"name"`
	Changes Changes `json:"changes"`
	Secret  []byte  `json:"secret,omitempty"`
	// SecretKind and SecretFlag name the kind and the flags that gave
	// Secret, so that an Okta token is not sealed into a OneLogin
	// connector, nor a token as an OAuth app's key.
	SecretKind connector.Kind `json:"secretKind,omitempty"`
	SecretFlag string         `json:"secretFlag,omitempty"`
}

// PreviewRequest applies an edited mapping table (CSV, read by the client
// from File) to Users users of the named connector, read live from its
// provider, beside the table in force. It changes nothing.
type PreviewRequest struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	CSV   []byte `json:"csv"`
	Users int    `json:"users"`
}

// Preview is what an edited table would change: the targets that differ,
// user by user; users it would not change are only counted.
type Preview struct {
	Connector string        `json:"connector"`
	File      string        `json:"file"`    // the edited table
	InForce   string        `json:"inForce"` // the table in force
	Read      int           `json:"usersRead"`
	Statuses  []string      `json:"statuses"` // the statuses the users were taken from
	Changed   []PreviewUser `json:"changed"`
}

// PreviewUser is one user an edited table would change.
type PreviewUser struct {
	SourceID string         `json:"sourceId"`
	Label    string         `json:"label,omitempty"` // its login or e-mail, as the table in force maps it
	Status   string         `json:"status"`
	Changes  []TargetChange `json:"changes"`
}

// TargetChange is one target's value under the table in force (Before) and
// the edited one (After): a JSON string or array, null when absent.
type TargetChange struct {
	Target string          `json:"target"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// ExplainRequest asks how one user of the named connector maps: User is
// its source ID, login or e-mail.
type ExplainRequest struct {
	Name string `json:"name"`
	User string `json:"user"`
}

// Explanation is one user read from the provider now, mapped row by row,
// beside what the connector keeps and queues of it.
type Explanation struct {
	Connector string          `json:"connector"`
	SourceID  string          `json:"sourceId"`
	Status    string          `json:"status"`
	Record    json.RawMessage `json:"record"` // the provider's record, as read (with what the connector adds: Okta's appLinks, devices)
	Table     string          `json:"table"`  // the table in force
	Targets   []Explained     `json:"targets"`
	// Selected says whether the user's status is one the connector
	// delivers; Delete, when not, is the delete a run would send.
	Selected bool   `json:"selected"`
	Delete   string `json:"delete,omitempty"`
	// Delivered: "never" (not in the snapshot), "unchanged" (the mapped
	// record's hash is the snapshot's) or "changed".
	Delivered string `json:"delivered"`
	// Outbox are the changes for this user waiting for the sink.
	Outbox []Queued `json:"outbox"`
	// LastQueued is the run that last queued an upsert of the user, if the
	// connector knows (entries from before this version do not).
	LastQueued *QueuedBy `json:"lastQueued,omitempty"`
}

// QueuedBy names the run that queued a user's record: its start, and its
// ID while the run history still holds it.
type QueuedBy struct {
	Run string    `json:"run,omitempty"`
	At  time.Time `json:"at"`
}

// Explained is one target: its value and the row that made it
// (FILE:LINE), or why it is left out.
type Explained struct {
	Target    string          `json:"target"`
	Value     json.RawMessage `json:"value,omitempty"`
	Row       string          `json:"row"`
	Source    string          `json:"source"`
	Transform string          `json:"transform,omitempty"`
	Why       string          `json:"why,omitempty"`
}

// Queued is a change for one user in an outbox batch.
type Queued struct {
	Batch  uint64 `json:"batch"`  // the outbox's sequence number
	Change string `json:"change"` // "upsert" or "delete"
	Reason string `json:"reason,omitempty"`
}

// RemoveRequest removes the named connector; Purge first delivers a delete
// for every user it delivered, Force drops changes still waiting.
type RemoveRequest struct {
	Name  string `json:"name"`
	Purge bool   `json:"purge,omitempty"`
	Force bool   `json:"force,omitempty"`
}

// Removed is what a remove did.
type Removed struct {
	Connector Connector `json:"connector"`
	Purged    int       `json:"purged"` // deletes delivered first (Purge)
	// Warning says what of the connector's files could not be removed
	// once the connector was (the CSV drop's state).
	Warning string `json:"warning,omitempty"`
}

// RunRequest runs the named connector now.
type RunRequest struct {
	Name           string `json:"name"`
	Full           bool   `json:"full,omitempty"`
	DryRun         bool   `json:"dryRun,omitempty"`
	ConfirmDeletes bool   `json:"confirmDeletes,omitempty"`
	Resend         bool   `json:"resend,omitempty"`
}

// Event is something a run says while it goes: a note before it starts,
// its progress, or (dry runs) one change it would push.
type Event struct {
	Note     string           `json:"note,omitempty"`
	Progress *engine.Progress `json:"progress,omitempty"`
	Change   *Change          `json:"change,omitempty"`
}

// Change is one change a dry run would push: an upsert with its
// attributes, or a delete with its reason (Held: the guard would hold it).
type Change struct {
	Upsert     string          `json:"upsert,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
	Delete     string          `json:"delete,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Held       bool            `json:"held,omitempty"`
}

// RunResult is how a run ended, for the command to report.
type RunResult struct {
	Run    *Run   `json:"run,omitempty"` // nil when the run never started
	DryRun bool   `json:"dryRun,omitempty"`
	Error  string `json:"error,omitempty"` // why the run failed
	// Held is set when the deletion guard held the run's deletes.
	Held *Held `json:"held,omitempty"`
	// DrainError says why changes still wait for the sink; Waiting counts them,
	// and WaitingBatches the batches that hold them. Batches can wait with
	// no change in them: a run's closing batch, which tells the sink that
	// the run is complete (the CSV drop is written when it arrives).
	DrainError     string `json:"drainError,omitempty"`
	Waiting        int    `json:"waiting"`
	WaitingBatches int    `json:"waitingBatches,omitempty"`
	// Refused says that the sink refused a batch for good (400): the
	// changes wait until the value is put right and a resend replaces it.
	Refused bool `json:"refused,omitempty"`
	// NotAccepted counts records the sink acknowledged fewer of than it
	// was sent ({"accepted": N}) while this run's changes were delivered.
	NotAccepted int `json:"notAccepted,omitempty"`
}

// Held is what the deletion guard held and the way out.
type Held struct {
	Count int    `json:"count"`
	Why   string `json:"why"`
	Hint  string `json:"hint"`
}

// Table is a mapping table exported as CSV.
type Table struct {
	Kind connector.Kind `json:"kind"`
	File string         `json:"file"` // where it came from: built-in or an override
	Rows int            `json:"rows"`
	CSV  []byte         `json:"csv"`
}

// Connector is a connector as list and show print it: its configuration,
// and its secret only as "set" or "not set".
type Connector struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Server   string `json:"server"`
	URL      string `json:"url"`
	ClientID string `json:"clientId,omitempty"`
	// Options are the kind's own options (Okta's --url; OneLogin's
	// --domain and --client-id) with the labels show gives them.
	Options []Setting `json:"options,omitempty"`
	// Secrets say of each secret, by name, "set" or "not set"; never more.
	Secrets      map[string]string `json:"secrets"`
	UserStatuses []string          `json:"userStatuses"`
	Repeats      string            `json:"repeats"`
	StartTime    string            `json:"startTime"`
	TimeZone     string            `json:"timeZone"`
	Schedule     string            `json:"schedule"`
	Active       bool              `json:"active"`
	RateShare    int               `json:"rateShare"`
	FullEvery    string            `json:"fullEvery"`
	MaxDeletes   string            `json:"maxDeletes"`
	Created      time.Time         `json:"created"`
	Updated      time.Time         `json:"updated"`
	// Warning, on an edit's answer, says what of the change could not be
	// carried out beyond the database (the CSV drop's file not renamed).
	Warning string `json:"warning,omitempty"`
}

// Setting is one option of a connector's kind, as show prints it.
type Setting struct {
	Flag  string `json:"flag"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// Run is one run as status prints it.
type Run struct {
	ID             string    `json:"id"`
	Mode           string    `json:"mode"`
	ModeReason     string    `json:"modeReason,omitempty"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Result         string    `json:"result"`
	Error          string    `json:"error,omitempty"`
	Warnings       []string  `json:"warnings,omitempty"`
	Fetched        int       `json:"fetched"`
	Upserted       int       `json:"upserted"`
	Deleted        int       `json:"deleted"`
	Reread         int       `json:"reread,omitempty"` // reports read again because their managers changed
	Held           int       `json:"held,omitempty"`
	Confirmed      bool      `json:"confirmed,omitempty"`
	Resend         bool      `json:"resend,omitempty"` // every selected user sent again (run --resend)
	APICalls       int       `json:"apiCalls"`
	RateLimitWaits int       `json:"rateLimitWaits"`
	RateLimitWait  string    `json:"rateLimitWait"`
}

// Refused is a batch the sink refused (400) and the way past it.
type Refused struct {
	Batch   string    `json:"batch"`   // its Idempotency-Key
	Records int       `json:"records"` // upserts + deletes in it
	Error   string    `json:"error"`   // the sink's answer
	Since   time.Time `json:"since"`
	Fix     string    `json:"fix"` // what to do, with the command
}

// NotAccepted counts records the sink's acknowledgements left out
// ({"accepted": N} below a batch's records) and the way to make it good.
type NotAccepted struct {
	Records   int       `json:"records"`
	Batches   int       `json:"batches"`
	LastBatch string    `json:"lastBatch"`
	Last      time.Time `json:"last"`
	Fix       string    `json:"fix"`
}

// Hold is why a connector's deletes are held.
type Hold struct {
	Why     string    `json:"why"`
	Since   time.Time `json:"since"`
	Run     string    `json:"run"`
	Confirm string    `json:"confirm"` // the command that lets them through
}

// Status is one connector's status: its configuration, and what the
// database (and the daemon, when one runs) knows of its runs.
type Status struct {
	Connector
	// OnThisServer is whether this host's NC_SERVER_NAME runs the connector.
	OnThisServer bool `json:"onThisServer"`
	LastRun      *Run `json:"lastRun"`
	Outbox       int  `json:"outboxBatches"`
	KnownUsers   int  `json:"knownUsers"`
	// HeldDeletes is how many deletes the deletion guard holds (0: none);
	// Hold says why and since when.
	HeldDeletes int        `json:"heldDeletes"`
	Hold        *Hold      `json:"hold,omitempty"`
	CursorSaved *time.Time `json:"cursorSaved,omitempty"`
	CursorAge   string     `json:"cursorAge,omitempty"`
	// Sink is where the known users were delivered (the CSV drop, or
	// Neurons at its URLs); absent before a run recorded it.
	Sink string `json:"sink,omitempty"`
	// NextSink is where the next run delivers when that is not Sink: it
	// then resends every selected user (absent when the sink is the same).
	NextSink string `json:"nextSink,omitempty"`
	// Resend says why the next run resends every selected user, when the
	// connector's state asks it to (a resend not completed, database
	// salvage or restore); absent otherwise.
	Resend string `json:"resendPending,omitempty"`
	// Refused is the batch the sink refused for good, which every later
	// batch waits behind; absent when none is.
	Refused *Refused `json:"refused,omitempty"`
	// NotAccepted is what the sink acknowledged fewer records of than it
	// was sent, since the last resend; absent when nothing was.
	NotAccepted *NotAccepted `json:"notAccepted,omitempty"`
	// NextRun is the next scheduled run; absent for a connector that does
	// not run on schedule here (inactive, or another server's).
	NextRun *time.Time `json:"nextRun,omitempty"`
	// Daemon is the running daemon's view (running now, retries, the
	// pusher); absent when status read the database itself.
	Daemon *engine.State `json:"daemon,omitempty"`
}
