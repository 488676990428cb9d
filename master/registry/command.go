package registry

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The buckets of registry.db. Each holds JSON records under string keys.
// A module deleted (DeleteModule) leaves BucketModules and gets a
// tombstone in BucketDeletedModules; why: RATIONALE.md, "Why does deleting
// a module leave a tombstone in the registry?".
const (
	BucketFrameworks     = "frameworks"      // framework ID -> Framework
	BucketAgents         = "agents"          // agent ID -> Agent
	BucketTasks          = "tasks"           // framework ID + "/" + task ID -> Task
	BucketModules        = "modules"         // sha256 -> module metadata
	BucketDeletedModules = "deleted_modules" // sha256 -> DeletedModule
	BucketWeights        = "weights"         // role -> weight
	BucketQuotas         = "quotas"          // role -> quota config
	BucketMaintenance    = "maintenance"     // "schedule" -> the maintenance schedule
	bucketOnce           = "once"            // Once ID -> raft index that applied it
	bucketOnceAge        = "once_age"        // appended-at time + Once ID -> nil, oldest first
	bucketMeta           = "meta"            // "applied" -> last applied raft index
)

// dataBuckets are the buckets a command may write.
var dataBuckets = map[string]bool{
	BucketFrameworks: true, BucketAgents: true, BucketTasks: true, BucketModules: true,
	BucketDeletedModules: true, BucketWeights: true, BucketQuotas: true, BucketMaintenance: true,
}

// Op is what one Change does to its key.
type Op string

// The operations of a Change.
const (
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Change puts or deletes one record.
type Change struct {
	Op     Op              `json:"op"`
	Bucket string          `json:"bucket"`
	Key    string          `json:"key"`
	Value  json.RawMessage `json:"value,omitempty"`
}

// Command is one raft log entry: changes applied together in one bbolt
// transaction, all or none.
type Command struct {
	// Once, when set, makes the command apply at most once: the FSM
	// remembers it for OnceTTL and answers ErrDuplicate to a second
	// command with the same Once meanwhile. Launches set it so that a
	// retry never launches twice.
	Once    string   `json:"once,omitempty"`
	Changes []Change `json:"changes"`
}

// ErrDuplicate is the FSM's answer to a command whose Once ID it applied
// before; the earlier application stands, so a retrying caller treats it as
// success.
var ErrDuplicate = errors.New("registry: command already applied")

// maxCommandBytes bounds one encoded command; raft entries should stay
// small, and a bigger one is a programming error upstream.
const maxCommandBytes = 8 << 20

// DecodeCommand parses and validates a raft log entry. Entries come from
// the leader over the network, so nothing in them is trusted.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if len(b) > maxCommandBytes {
		return c, fmt.Errorf("decode command: %d bytes is over the %d limit", len(b), maxCommandBytes)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode command: %w", err)
	}
	return c, c.Validate()
}

// Validate reports the first change that cannot be applied.
func (c Command) Validate() error {
	if len(c.Changes) == 0 && c.Once == "" {
		return errors.New("command has no changes")
	}
	for i, ch := range c.Changes {
		switch {
		case !dataBuckets[ch.Bucket]:
			return fmt.Errorf("change %d: unknown bucket %q", i, ch.Bucket)
		case ch.Key == "":
			return fmt.Errorf("change %d: empty key", i)
		case len(ch.Key) > bolt.MaxKeySize:
			return fmt.Errorf("change %d: key of %d bytes is over bbolt's %d", i, len(ch.Key), bolt.MaxKeySize)
		case ch.Op == OpPut && !json.Valid(ch.Value):
			return fmt.Errorf("change %d: put of %s/%s carries no valid JSON value", i, ch.Bucket, ch.Key)
		case ch.Op != OpPut && ch.Op != OpDelete:
			return fmt.Errorf("change %d: unknown op %q", i, ch.Op)
		}
	}
	return nil
}

// Encode returns the command as a log entry.
func (c Command) Encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	return b, nil
}

// Put returns a change that stores v, as JSON, under bucket/key. It panics
// if v cannot be marshalled: records are plain structs, so that is a
// programming error.
func Put(bucket, key string, v any) Change {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("registry: marshal %s/%s: %v", bucket, key, err))
	}
	return Change{Op: OpPut, Bucket: bucket, Key: key, Value: b}
}

// Delete returns a change that removes bucket/key.
func Delete(bucket, key string) Change { return Change{Op: OpDelete, Bucket: bucket, Key: key} }
