package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// store is the agent's checkpoint, <work_dir>/agent.db: its ID, every
// status update not yet acknowledged, and its executors with the tasks
// they run, so that a restarted agent re-registers under the same ID with
// the same tasks, lets its executors re-subscribe, and delivers what it
// still owes. Every
// write is a bbolt transaction, synced before it returns.
type store struct {
	db *bolt.DB
}

var (
	metaBucket      = []byte("meta")
	updatesBucket   = []byte("updates")
	executorsBucket = []byte("executors") // executorRecord by framework/executor
	seenBucket      = []byte("seen")      // framework/task/uuid of executors' updates
	agentIDKey      = []byte("agent_id")
)

// storedUpdate is a status update as checkpointed.
type storedUpdate struct {
	Framework string         `json:"framework"`
	Status    api.TaskStatus `json:"status"`
}

// openStore opens (creating) the checkpoint file.
func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{metaBucket, updatesBucket, executorsBucket, seenBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// agentID returns the checkpointed agent ID, or "".
func (s *store) agentID() (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(metaBucket).Get(agentIDKey))
		return nil
	})
	return id, err
}

// setAgentID checkpoints the ID the master gave the agent.
func (s *store) setAgentID(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(agentIDKey, []byte(id)) })
}

// putUpdate checkpoints an update under a new sequence number, which keeps
// updates in the order they were made, and returns that number. With seen
// set, it also remembers the update's UUID (see seenUpdate) in the same
// transaction.
func (s *store) putUpdate(framework string, st api.TaskStatus, seen bool) (uint64, error) {
	val, err := json.Marshal(storedUpdate{Framework: framework, Status: st})
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		if seen {
			if err := tx.Bucket(seenBucket).Put(seenKey(framework, st.TaskID.Value, st.UUID), nil); err != nil {
				return err
			}
		}
		b := tx.Bucket(updatesBucket)
		seq, err = b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), val)
	})
	return seq, err
}

// deleteUpdate forgets an acknowledged update.
func (s *store) deleteUpdate(seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(updatesBucket).Delete(seqKey(seq)) })
}

// updates returns every checkpointed update in the order it was made,
// with its sequence number. A record that does not decode is an error:
// the file is damaged and silently dropping an update would lose it.
func (s *store) updates() ([]uint64, []storedUpdate, error) {
	var seqs []uint64
	var out []storedUpdate
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(updatesBucket).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return errors.New("malformed update key")
			}
			var u storedUpdate
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("decode update %x: %w", k, err)
			}
			seqs = append(seqs, binary.BigEndian.Uint64(k))
			out = append(out, u)
			return nil
		})
	})
	return seqs, out, err
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// seenKey is the key under which the UUID of an executor's update is
// remembered: framework, task and UUID, NUL-separated (IDs cannot hold a
// NUL).
func seenKey(framework, task string, id []byte) []byte {
	k := append([]byte(framework), 0)
	k = append(k, task...)
	k = append(k, 0)
	return append(k, id...)
}

// seenUpdate reports whether an executor's update with this UUID was
// checkpointed before, even if the framework has acknowledged it since:
// an executor may send an update again when the agent's acknowledgement
// was lost.
func (s *store) seenUpdate(framework, task string, id []byte) (bool, error) {
	var seen bool
	err := s.db.View(func(tx *bolt.Tx) error {
		seen = tx.Bucket(seenBucket).Get(seenKey(framework, task, id)) != nil
		return nil
	})
	return seen, err
}

// forgetSeen forgets the UUIDs remembered for tasks of a framework, once
// the executor that could send them again is gone.
func (s *store) forgetSeen(framework string, tasks []string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(seenBucket).Cursor()
		for _, task := range tasks {
			prefix := append(append(append([]byte(framework), 0), task...), 0)
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// executorRecord is an executor as checkpointed: enough for a restarted
// agent to know which executors to expect and which tasks they run.
type executorRecord struct {
	Framework     string            `json:"framework"`
	FrameworkInfo api.FrameworkInfo `json:"framework_info"`
	ExecutorInfo  api.ExecutorInfo  `json:"executor_info"`
	Container     string            `json:"container"`
	Dir           string            `json:"dir"`
	Token         string            `json:"token"`
	PID           int               `json:"pid"`
	// StartTime is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat), so that a reused PID is not taken for it.
	StartTime   uint64 `json:"start_time"`
	SandboxUsed bool   `json:"sandbox_used"`
	// Shared marks the framework's shared executor (see Agent.launch).
	Shared bool           `json:"shared,omitempty"`
	Tasks  []recordedTask `json:"tasks"`
}

// recordedTask is a task of an executor that has not ended.
type recordedTask struct {
	Info  api.TaskInfo  `json:"info"`
	Dir   string        `json:"dir"`
	State api.TaskState `json:"state"`
	Sent  bool          `json:"sent"` // its LAUNCH went on the executor's stream
}

func executorKey(framework, executor string) []byte {
	return append(append([]byte(framework), 0), executor...)
}

// putExecutor checkpoints an executor's record.
func (s *store) putExecutor(r *executorRecord) error {
	val, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(executorsBucket).Put(executorKey(r.Framework, r.ExecutorInfo.ExecutorID.Value), val)
	})
}

// deleteExecutor forgets an executor that has exited.
func (s *store) deleteExecutor(framework, executor string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(executorsBucket).Delete(executorKey(framework, executor))
	})
}

// executors returns every checkpointed executor.
func (s *store) executors() ([]executorRecord, error) {
	var out []executorRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(executorsBucket).ForEach(func(k, v []byte) error {
			var r executorRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode executor %q: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
