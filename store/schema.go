package store

// Every bucket and key name lives in this file, so the layout drawn in the
// package comment can be checked against one place.

// SchemaVersion is the layout this build writes. Open migrates older files
// step by step (see migrations) and refuses newer ones.
const SchemaVersion = 6

var (
	bucketMeta       = []byte("meta")
	bucketConnectors = []byte("connectors")
	bucketNames      = []byte("names")
	bucketSecrets    = []byte("secrets")
	bucketCursors    = []byte("cursors")
	bucketSnapshots  = []byte("snapshots")
	bucketOutbox     = []byte("outbox")
	bucketRuns       = []byte("runs")
	bucketState      = []byte("state")
	bucketSinkState  = []byte("sinkstate")
	bucketHeld       = []byte("held")

	keySchemaVersion = []byte("schema_version")
	keyKeyCheck      = []byte("key_check")
	keyRecordHash    = []byte("record_hash_key")
)

// topBuckets are the buckets of the current schema, created by the last
// migration and expected by every accessor.
var topBuckets = [][]byte{
	bucketMeta, bucketConnectors, bucketNames, bucketSecrets,
	bucketCursors, bucketSnapshots, bucketOutbox, bucketRuns, bucketState, bucketSinkState, bucketHeld,
}

// perConnector are the buckets that hold one nested bucket (or value) per
// connector ID; removing a connector clears its entry in each.
var perConnector = [][]byte{bucketSecrets, bucketCursors, bucketSnapshots, bucketOutbox, bucketRuns, bucketState, bucketSinkState, bucketHeld}

// keyCheckPlain is sealed into meta/key_check with the first secret, so a
// wrong key is recognised before any real secret is touched.
var (
	keyCheckPlain = []byte("neurons-connector key check")
	keyCheckAAD   = []byte("meta/key_check")
)
