package registry

import (
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Changes are the records that the entries applied to this replica
// changed since they were last taken (Registry.TakeChanges), so that a
// standby can tell its console what its replica applied without reading
// the whole state at every entry.
type Changes struct {
	// Records holds, by bucket and then key, each changed record as it
	// was last applied: its JSON, or nil once deleted. Only the buckets
	// being tracked are listed.
	Records map[string]map[string]json.RawMessage
	// All is set when the changes could not be listed: more changed
	// since the last take than a tracker keeps, or a snapshot replaced
	// the whole file. Records is then empty; read the whole state (Load)
	// instead.
	All bool
	// Applied is the index of the last entry applied before the take:
	// the changes of every entry up to it are included.
	Applied uint64
}

// The most a tracker keeps between two takes before it gives up listing
// records and reports All: a reader that fell that far behind reads the
// whole state more cheaply than it would go through the list.
const (
	maxTrackedRecords = 1 << 16
	maxTrackedBytes   = 64 << 20
)

// tracker records the changes applied entries make to some buckets while
// they are tracked. The FSM reads on and calls add and all with its mu
// held for reading, and start and stop are called with it held for
// writing, so that tracking begins and ends between two transactions: an
// entry either is in the file before tracking begins or is recorded.
type tracker struct {
	on      bool            // guarded by FSM.mu
	buckets map[string]bool // guarded by FSM.mu

	mu      sync.Mutex // guards the fields below; after FSM.mu
	pending Changes
	records int
	bytes   int
	signal  chan struct{} // capacity 1: changes wait to be taken
}

func newTracker() *tracker { return &tracker{signal: make(chan struct{}, 1)} }

// start tracks buckets from now on, forgetting what was recorded before.
// FSM.mu must be held for writing.
func (t *tracker) start(applied uint64, buckets []string) {
	t.on = true
	t.buckets = map[string]bool{}
	for _, b := range buckets {
		t.buckets[b] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reset(applied)
}

// stop ends tracking and forgets what was recorded. FSM.mu must be held
// for writing.
func (t *tracker) stop() {
	t.on, t.buckets = false, nil
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reset(0)
}

// reset empties the pending changes. t.mu must be held.
func (t *tracker) reset(applied uint64) {
	t.pending = Changes{Records: map[string]map[string]json.RawMessage{}, Applied: applied}
	t.records, t.bytes = 0, 0
}

// add records the changes of commands applied in a transaction that
// ended at index applied. FSM.mu must be held for reading.
func (t *tracker) add(cmds []Command, applied uint64) {
	if !t.on {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending.Applied = applied
	for _, cmd := range cmds {
		for _, ch := range cmd.Changes {
			if !t.buckets[ch.Bucket] || t.pending.All {
				continue
			}
			keys := t.pending.Records[ch.Bucket]
			if keys == nil {
				keys = map[string]json.RawMessage{}
				t.pending.Records[ch.Bucket] = keys
			}
			old, seen := keys[ch.Key]
			if !seen {
				t.records++
			}
			value := ch.Value
			if ch.Op == OpDelete {
				value = nil
			}
			t.bytes += len(value) - len(old)
			keys[ch.Key] = value
			if t.records > maxTrackedRecords || t.bytes > maxTrackedBytes {
				t.everything(applied)
			}
		}
	}
	t.notify()
}

// all reports that the whole file changed (a snapshot was restored), up
// to index applied. FSM.mu must be held for writing.
func (t *tracker) all(applied uint64) {
	if !t.on {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.everything(applied)
	t.notify()
}

// everything drops the records for All. t.mu must be held.
func (t *tracker) everything(applied uint64) {
	t.reset(applied)
	t.pending.All = true
}

// notify signals that changes wait, without blocking.
func (t *tracker) notify() {
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// take returns the pending changes and forgets them.
func (t *tracker) take() Changes {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.pending
	t.reset(c.Applied)
	return c
}

// TrackChanges records, from now on, which records of buckets the
// entries applied to this replica change, for TakeChanges, forgetting
// whatever was recorded before: every entry either is in the file before
// it returns, and so in a Load that follows, or is recorded. Tracking
// costs the entries applied meanwhile a map entry per record, and keeps
// up to 64 MiB of records that nobody takes, so only a reader that takes
// them should ask for it.
func (r *Registry) TrackChanges(buckets ...string) { r.fsm.TrackChanges(buckets...) }

// StopTracking ends TrackChanges and forgets what was recorded.
func (r *Registry) StopTracking() { r.fsm.StopTracking() }

// TakeChanges returns the changes recorded since the last take (or since
// TrackChanges) and forgets them.
func (r *Registry) TakeChanges() Changes { return r.fsm.TakeChanges() }

// Changed is signalled when changes wait to be taken. It has room for one
// signal: a reader that was busy sees one signal for any number of
// entries. Read it from one goroutine.
func (r *Registry) Changed() <-chan struct{} { return r.fsm.Changed() }

// TrackChanges is Registry.TrackChanges.
func (f *FSM) TrackChanges(buckets ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tracked.start(f.applied.Load(), buckets)
}

// StopTracking is Registry.StopTracking.
func (f *FSM) StopTracking() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tracked.stop()
}

// TakeChanges is Registry.TakeChanges.
func (f *FSM) TakeChanges() Changes { return f.tracked.take() }

// Changed is Registry.Changed.
func (f *FSM) Changed() <-chan struct{} { return f.tracked.signal }

// Scan calls fn with every record of buckets, in one read transaction,
// and returns the index of the last entry the file reflects: with
// TrackChanges called first, the changes taken later are those of the
// entries after it, or ones already seen. value is valid only during fn.
// It reads one record at a time, so that a reader keeping a little of
// each never holds the whole state.
func (r *Registry) Scan(fn func(bucket, key string, value []byte) error, buckets ...string) (uint64, error) {
	return r.fsm.Scan(fn, buckets...)
}

// Scan is Registry.Scan.
func (f *FSM) Scan(fn func(bucket, key string, value []byte) error, buckets ...string) (uint64, error) {
	var applied uint64
	err := f.View(func(tx *bolt.Tx) error {
		applied = appliedIndex(tx)
		for _, name := range buckets {
			b := tx.Bucket([]byte(name))
			if b == nil {
				return fmt.Errorf("no bucket %q", name)
			}
			if err := b.ForEach(func(k, v []byte) error { return fn(name, string(k), v) }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("scan registry: %w", err)
	}
	return applied, nil
}
