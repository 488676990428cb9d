package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// FSM is the raft state machine: it applies commands to registry.db. The
// file is the state, durable on its own, so a restarting master does not
// restore a snapshot (raft's NoSnapshotRestoreOnStart) and skips log
// entries at or below the index recorded with the data.
//
// raft calls Apply, Snapshot and Restore on its FSM goroutine; View may be
// called from any goroutine.
type FSM struct {
	path string

	mu sync.RWMutex // guards db: Restore swaps it
	db *bolt.DB
	// applied mirrors the index stored in the file, so that entries
	// replayed after a restart are skipped without a transaction. Only
	// raft's FSM goroutine (Apply, ApplyBatch, Restore) writes it.
	applied atomic.Uint64
	// modules is signalled (capacity 1, never blocking) after an entry
	// that records or deletes module metadata is applied, so that a
	// master fetches or removes the blob at once rather than at its next
	// scan.
	modules chan struct{}
	// tracked records what applied entries change while a reader asks
	// (TrackChanges).
	tracked *tracker
}

var _ raft.BatchingFSM = (*FSM)(nil)

// OpenFSM opens (creating if needed) the registry file at path.
func OpenFSM(path string) (*FSM, error) {
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	f := &FSM{path: path, db: db, modules: make(chan struct{}, 1), tracked: newTracker()}
	f.applied.Store(f.Applied())
	return f, nil
}

// boltOptions are the options of the registry's bbolt files (registry.db
// and raft's log). Their freelist is a map and is not written at each
// commit, as etcd does: with a million tasks, writing the freelist (an
// array) at every commit, and merging it, allocated 140 GB in a C1M run
// (e2e/bench item e, heap profile), 70 % of all the master allocated;
// without it the run took 365 s instead of 489. An unsynced freelist is
// rebuilt by scanning the file when it is opened (RATIONALE.md, "Why is
// bbolt's freelist not written?").
func boltOptions() *bolt.Options {
	return &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
}

func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, boltOptions())
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{BucketFrameworks, BucketAgents, BucketTasks, BucketModules,
			BucketDeletedModules, BucketWeights, BucketQuotas, BucketMaintenance, bucketOnce, bucketOnceAge, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return ageUnagedOnce(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create registry buckets in %s: %w", path, err)
	}
	return db, nil
}

// Close closes the file. Nothing may be applied after.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.db.Close()
}

// Applied returns the index of the last log entry applied to the file.
func (f *FSM) Applied() uint64 {
	var idx uint64
	_ = f.View(func(tx *bolt.Tx) error {
		idx = appliedIndex(tx)
		return nil
	})
	return idx
}

func appliedIndex(tx *bolt.Tx) uint64 {
	v := tx.Bucket([]byte(bucketMeta)).Get([]byte("applied"))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// View runs fn in a read transaction of the file.
func (f *FSM) View(fn func(tx *bolt.Tx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.View(fn)
}

// Apply applies one log entry. It returns nil, ErrDuplicate, or an error
// for an entry that could not be decoded; raft hands the value to the
// caller of Raft.Apply.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies log entries in one bbolt transaction, so that a burst
// of entries, or a follower catching up, costs one fsync rather than one
// each. Entries at or below the index in the file are skipped: raft
// replays them after a restart. An error writing the file panics: the
// replica could no longer follow the log, and raft has no way to report
// it.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	results := make([]any, len(logs))
	var todo []int
	for i, l := range logs {
		if l.Type == raft.LogCommand && l.Index > f.applied.Load() {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return results
	}
	last := logs[todo[len(todo)-1]].Index
	f.mu.RLock()
	defer f.mu.RUnlock()
	modules := false
	var applied []Command // those that took effect, for the tracker
	err := f.db.Update(func(tx *bolt.Tx) error {
		for _, i := range todo {
			cmd, err := applyEntry(tx, logs[i])
			if err != nil {
				results[i] = err
				continue
			}
			applied = append(applied, cmd)
			modules = modules || touchesModules(cmd)
		}
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], last)
		return tx.Bucket([]byte(bucketMeta)).Put([]byte("applied"), idx[:])
	})
	if err != nil {
		panic(fmt.Sprintf("registry: apply log entries up to %d to %s: %v", last, f.path, err))
	}
	f.applied.Store(last)
	f.tracked.add(applied, last)
	if modules {
		f.signalModules()
	}
	return results
}

// ModulesChanged is signalled after module metadata is recorded or
// deleted, or a snapshot restored. It has room for one signal: a reader that was busy
// sees one signal for any number of changes.
func (f *FSM) ModulesChanged() <-chan struct{} { return f.modules }

func (f *FSM) signalModules() {
	select {
	case f.modules <- struct{}{}:
	default:
	}
}

// applyEntry applies one entry in tx and returns its command, or the
// error raft hands the caller of Raft.Apply when it did not take effect.
// Validation bounds keys to what bbolt accepts, so the puts and deletes
// of a decoded command cannot fail short of an I/O error, which fails the
// whole transaction.
func applyEntry(tx *bolt.Tx, l *raft.Log) (Command, error) {
	cmd, err := DecodeCommand(l.Data)
	if err != nil {
		return cmd, err
	}
	if err := applyCommand(tx, cmd, l.Index, l.AppendedAt); err != nil {
		return cmd, err
	}
	return cmd, nil
}

// touchesModules reports whether cmd writes or deletes module metadata.
func touchesModules(cmd Command) bool {
	return slices.ContainsFunc(cmd.Changes, func(c Change) bool {
		return c.Bucket == BucketModules || c.Bucket == BucketDeletedModules
	})
}

// applyCommand writes cmd's changes in tx, or records nothing but returns
// ErrDuplicate when its Once ID was applied before. appended is when the
// leader appended the entry (raft.Log.AppendedAt), zero if unknown.
func applyCommand(tx *bolt.Tx, cmd Command, index uint64, appended time.Time) error {
	if !appended.IsZero() {
		if err := forgetOnce(tx, appended.Add(-OnceTTL)); err != nil {
			return err
		}
	}
	if cmd.Once != "" {
		once := tx.Bucket([]byte(bucketOnce))
		if once.Get([]byte(cmd.Once)) != nil {
			return ErrDuplicate
		}
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], index)
		if err := once.Put([]byte(cmd.Once), idx[:]); err != nil {
			return err
		}
		if !appended.IsZero() { // else it could not be forgotten in step: kept
			if err := tx.Bucket([]byte(bucketOnceAge)).Put(onceAgeKey(appended, cmd.Once), nil); err != nil {
				return err
			}
		}
	}
	for _, ch := range cmd.Changes {
		b := tx.Bucket([]byte(ch.Bucket))
		var err error
		if ch.Op == OpPut {
			err = b.Put([]byte(ch.Key), ch.Value)
		} else {
			err = b.Delete([]byte(ch.Key))
		}
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", ch.Op, ch.Bucket, ch.Key, err)
		}
	}
	return nil
}

// OnceTTL is how long the registry remembers a command's Once ID. A
// leader retries a command only while its outcome is unknown, seconds at
// most, so an hour is ample; remembered for ever, the IDs of a cluster's
// launches grew the registry, and every snapshot of it, by about 70 bytes
// a launch without end.
const OnceTTL = time.Hour

// onceAgeKey orders a Once ID by when its entry was appended: the time in
// big-endian Unix nanoseconds (zero, the oldest, for IDs recorded before
// their age was), then the ID.
func onceAgeKey(appended time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	if !appended.IsZero() {
		binary.BigEndian.PutUint64(k, uint64(appended.UnixNano()))
	}
	return append(k, id...)
}

// forgetOnce forgets the Once IDs of entries appended before cutoff. The
// cutoff comes from the entry being applied, so every replica forgets the
// same IDs at the same point of the log.
func forgetOnce(tx *bolt.Tx, cutoff time.Time) error {
	once, age := tx.Bucket([]byte(bucketOnce)), tx.Bucket([]byte(bucketOnceAge))
	limit := onceAgeKey(cutoff, "")
	c := age.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.First() {
		if err := once.Delete(k[8:]); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// ageUnagedOnce gives the Once IDs that a registry written before
// bucketOnceAge existed holds an age of zero, so that the next entry
// applied forgets them.
func ageUnagedOnce(tx *bolt.Tx) error {
	age := tx.Bucket([]byte(bucketOnceAge))
	if k, _ := age.Cursor().First(); k != nil {
		return nil
	}
	return tx.Bucket([]byte(bucketOnce)).ForEach(func(k, _ []byte) error {
		return age.Put(onceAgeKey(time.Time{}, string(k)), nil)
	})
}

// Snapshot returns a point-in-time copy of the file, taken into memory
// at once. Holding a bbolt read transaction open while raft persists the
// snapshot instead would stall Apply: a write that grows the file waits for
// every open read transaction before it can remap.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	var buf bytes.Buffer
	err := f.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(&buf)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot registry: %w", err)
	}
	return &snapshot{data: buf.Bytes()}, nil
}

type snapshot struct{ data []byte }

// Persist writes the copy of the file.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist registry snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}

// Restore replaces the file with a snapshot's: written beside it, synced,
// checked, then renamed over it.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := f.path + ".restore"
	if err := writeSynced(tmp, rc); err != nil {
		return err
	}
	if err := checkFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore registry: snapshot is damaged: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("restore registry: close %s: %w", f.path, err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("restore registry: %w", err)
	}
	db, err := openDB(f.path)
	if err != nil {
		return fmt.Errorf("restore registry: %w", err)
	}
	f.db = db
	var idx uint64
	_ = db.View(func(tx *bolt.Tx) error { idx = appliedIndex(tx); return nil })
	f.applied.Store(idx)
	f.tracked.all(idx)
	f.signalModules()
	return nil
}

func writeSynced(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore registry: %w", err)
	}
	_, err = io.Copy(out, r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("restore registry: write %s: %w", path, err)
	}
	return nil
}

// CheckFile opens a registry file that no process has open, read-only,
// and runs bbolt's consistency check over it, returning the problems found.
func CheckFile(path string) error { return checkFile(path) }

func checkFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	return db.View(checkTx)
}

// Check runs bbolt's consistency check over the open file.
func (f *FSM) Check() error { return f.View(checkTx) }

func checkTx(tx *bolt.Tx) error {
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
