package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
)

// store is the agent's checkpoint, <work_dir>/agent.db: its ID, every
// status update not yet acknowledged, and its executors with the tasks
// they run, so that a restarted agent re-registers under the same ID with
// the same tasks, lets its executors re-subscribe, and delivers what it
// still owes. Every write goes through a committer, which commits the
// writes queued meanwhile in one bbolt transaction. Where the host's boot
// can be told, commits are not synced (openCheckpoint): once one returns
// its pages are in the kernel's cache, which outlives the agent but not
// the host, and after a reboot the agent does not read agent.db.
type store struct {
	db *bolt.DB
	c  *committer
}

var (
	metaBucket      = []byte("meta")
	updatesBucket   = []byte("updates")
	executorsBucket = []byte("executors") // executorRecord by framework/executor
	tasksBucket     = []byte("tasks")     // recordedTask by framework/executor/index
	seenBucket      = []byte("seen")      // framework/task/uuid of executors' updates
	agentIDKey      = []byte("agent_id")
)

// storedUpdate is a status update as checkpointed.
type storedUpdate struct {
	Framework string         `json:"framework"`
	Status    api.TaskStatus `json:"status"`
}

// AppendJSON appends the update's JSON to b, byte for byte what
// json.Marshal makes of it, when its status writes its own
// (api.TaskStatus.AppendJSON), and reports whether it did: an agent
// checkpoints two updates per task, and reflection over TaskStatus was
// most of that.
func (u *storedUpdate) AppendJSON(b []byte) ([]byte, bool) {
	fw, err := json.Marshal(u.Framework)
	if err != nil {
		return b, false
	}
	start := len(b)
	b = append(append(append(b, `{"framework":`...), fw...), `,"status":`...)
	b, ok := u.Status.AppendJSON(b)
	if !ok {
		return b[:start], false
	}
	return append(b, '}'), true
}

// openStore opens (creating) the checkpoint file.
// Writes that fail are logged to log.
func openStore(path string, log *slog.Logger) (*store, error) {
	// The freelist is a map and not written at each commit, as the
	// master's registry does (RATIONALE.md, "Why is bbolt's freelist not
	// written?"): an agent that has run many tasks would otherwise write
	// and merge a large freelist at every checkpoint.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{metaBucket, updatesBucket, executorsBucket, tasksBucket, seenBucket} {
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
	failed := func(err error) { log.Error("write to agent.db failed", "err", err) }
	return &store{db: db, c: newCommitter(db, failed)}, nil
}

// close commits the writes queued and closes the file.
func (s *store) close() error {
	s.c.close()
	return s.db.Close()
}

// legacyAgentID returns the agent ID that builds before agent.json kept
// in agent.db, or "".
func (s *store) legacyAgentID() (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(metaBucket).Get(agentIDKey))
		return nil
	})
	return id, err
}

// openCheckpoint opens the agent's checkpoint in dir, agent.json and
// agent.db, on the host's boot boot ("" when unknown). When agent.json
// says agent.db was last written during an earlier boot, agent.db is set
// aside unread (agent.db.before-reboot) and the agent starts with an
// empty one under its old ID, as Mesos's agent does after a reboot: its
// executors died with the host, and the crash may have torn the file.
// agent.db's commits stop being synced only once agent.json names this
// boot, so a crash before then leaves agent.db whole.
func openCheckpoint(dir, boot string, log *slog.Logger) (*store, identity, error) {
	id, found, err := readIdentity(dir)
	if err != nil {
		return nil, identity{}, err
	}
	path := filepath.Join(dir, "agent.db")
	// agent.db written during an unknown boot was synced, and an unknown
	// boot now cannot be told from that one: either way it is trusted.
	rebooted := found && id.BootID != "" && boot != "" && id.BootID != boot
	if rebooted {
		err := os.Rename(path, filepath.Join(dir, rebootedStoreFile))
		switch {
		case err == nil:
			log.Warn("the host rebooted since agent.db was last written: its executors are gone, so the agent starts afresh under its ID",
				"agent", id.AgentID, "old", filepath.Join(dir, rebootedStoreFile))
		case !errors.Is(err, fs.ErrNotExist):
			return nil, identity{}, fmt.Errorf("set agent.db aside after a reboot: %w", err)
		}
	}
	st, err := openStore(path, log)
	if err != nil {
		return nil, identity{}, err
	}
	if !found {
		if id.AgentID, err = st.legacyAgentID(); err != nil {
			st.close()
			return nil, identity{}, fmt.Errorf("read agent ID: %w", err)
		}
	}
	if !found || boot != "" && id.BootID != boot {
		id.BootID = boot
		if err := writeIdentity(dir, id); err != nil {
			st.close()
			return nil, identity{}, err
		}
	}
	// Set before any write is queued, so before the committer reads it.
	st.db.NoSync = boot != ""
	return st, id, nil
}

// putUpdate queues the checkpoint of an update under a new sequence
// number, which keeps updates in the order they were made. With seen set
// (an executor's update, keeping the executor's UUID) it first checks
// that no update with the same UUID was checkpointed before for the task
// (see seenUpdate) and remembers this one's, in the same transaction.
// Once the update is on disk, or could not be written, after runs with
// its number, whether it was fresh (false: a duplicate, not written) and
// the error, in queueing order (see write).
func (s *store) putUpdate(framework string, st api.TaskStatus, seen bool, after func(seq uint64, fresh bool, err error)) *write {
	val, err := api.Marshal(&storedUpdate{Framework: framework, Status: st})
	if err != nil {
		return s.c.enqueue(func(*bolt.Tx) error { return err }, func(err error) { after(0, false, err) })
	}
	var seq uint64
	var fresh bool
	return s.c.enqueue(func(tx *bolt.Tx) error {
		seq, fresh = 0, false
		if seen {
			k := seenKey(framework, st.TaskID.Value, st.UUID)
			sb := tx.Bucket(seenBucket)
			if sb.Get(k) != nil {
				return nil
			}
			if err := sb.Put(k, nil); err != nil {
				return err
			}
		}
		b := tx.Bucket(updatesBucket)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		seq, fresh = n, true
		return b.Put(seqKey(seq), val)
	}, func(err error) { after(seq, fresh, err) })
}

// deleteUpdate queues forgetting an acknowledged update. With no after,
// lazily (committer.enqueueLazy): it need not be on disk soon, since an
// update whose deletion is lost in a crash is sent again and
// acknowledged again, delivery being at least once. With one, at once:
// after runs once the deletion is on disk (see
// updateManager.acknowledge).
func (s *store) deleteUpdate(seq uint64, after func(error)) *write {
	del := func(tx *bolt.Tx) error { return tx.Bucket(updatesBucket).Delete(seqKey(seq)) }
	if after == nil {
		return s.c.enqueueLazy(del)
	}
	return s.c.enqueue(del, after)
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

// forgetSeen forgets the UUIDs remembered for tasks of a framework, once
// the executor that could send them again is gone.
func (s *store) forgetSeen(framework string, tasks []string) error {
	return s.forgetSeenLater(framework, tasks).wait()
}

// forgetSeenLater queues forgetSeen's deletion without waiting for it,
// lazily: UUIDs remembered a little longer do no harm.
func (s *store) forgetSeenLater(framework string, tasks []string) *write {
	return s.c.enqueueLazy(func(tx *bolt.Tx) error {
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
	Shared bool `json:"shared,omitempty"`
	// Cgroup is the path of the executor's cgroup
	// (sandbox.ExecutorCgroup.Path); "" when it runs in none.
	Cgroup string `json:"cgroup,omitempty"`
	// Tasks are the executor's tasks that have not ended, in the order
	// they were launched. They are kept apart, one key each (tasksBucket),
	// and filled in by store.executors; a record written by an earlier
	// agent may hold them itself.
	Tasks []recordedTask `json:"tasks,omitempty"`
}

// recordedTask is a task of an executor that has not ended.
type recordedTask struct {
	Index int           `json:"index"` // among its executor's tasks, from 0
	Info  api.TaskInfo  `json:"info"`
	Dir   string        `json:"dir"`
	State api.TaskState `json:"state"`
	Sent  bool          `json:"sent"` // its LAUNCH went on the executor's stream
	// Group numbers the task group it was launched in (execTask.group),
	// so that a group whose launch never went out is launched again as
	// one after a restart.
	Group int `json:"group,omitempty"`
	// Health is where its health check stood (execTask.health), once it
	// has begun; CheckStatus is its general check's last status
	// (execTask.checkStatus), once it has one.
	Health      *health.Standing     `json:"health,omitempty"`
	CheckStatus *api.CheckStatusInfo `json:"check_status,omitempty"`
	// infoJSON is Info as JSON (execTask.infoJSON), when known.
	infoJSON []byte
}

// AppendJSON appends the record's JSON to b, byte for byte what
// json.Marshal makes of it, when its TaskInfo's JSON is known, and
// reports whether it did. Why: a task's record is written again at each
// of its state changes, and encoding its TaskInfo each time was about 5 %
// of a busy agent's CPU; the TaskInfo of a task never changes, so it is
// encoded once.
func (t *recordedTask) AppendJSON(b []byte) ([]byte, bool) {
	dir, err1 := json.Marshal(t.Dir)
	state, err2 := json.Marshal(t.State)
	var healthJSON, checkJSON []byte
	var err3, err4 error
	if t.Health != nil { // rare: only tasks with checks have these
		healthJSON, err3 = json.Marshal(t.Health)
	}
	if t.CheckStatus != nil {
		checkJSON, err4 = json.Marshal(t.CheckStatus)
	}
	if t.infoJSON == nil || err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return b, false
	}
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(t.Index), 10)
	b = append(append(b, `,"info":`...), t.infoJSON...)
	b = append(append(b, `,"dir":`...), dir...)
	b = append(append(b, `,"state":`...), state...)
	b = strconv.AppendBool(append(b, `,"sent":`...), t.Sent)
	if t.Group != 0 {
		b = strconv.AppendInt(append(b, `,"group":`...), int64(t.Group), 10)
	}
	if healthJSON != nil {
		b = append(append(b, `,"health":`...), healthJSON...)
	}
	if checkJSON != nil {
		b = append(append(b, `,"check_status":`...), checkJSON...)
	}
	return append(b, '}'), true
}

func executorKey(framework, executor string) []byte {
	return append(append([]byte(framework), 0), executor...)
}

// taskKey is the key of an executor's task: the executor's key, a NUL and
// the task's index among the executor's tasks (big-endian), so that a
// prefix scan reads them in the order they were launched.
func taskRecordKey(framework, executor string, index int) []byte {
	k := append(executorKey(framework, executor), 0)
	return binary.BigEndian.AppendUint64(k, uint64(index))
}

// taskChange is a task of an executor to write (rec set) or forget (rec
// nil) in a checkpoint.
type taskChange struct {
	index int
	rec   *recordedTask
}

// checkpoint queues writing an executor's record (when rec is set) and
// the changes to its tasks, in one transaction — a lazy one if lazy is
// set (committer.enqueueLazy); the caller waits for the returned write
// when what it does next needs them on disk.
func (s *store) checkpoint(framework, executor string, rec *executorRecord, tasks []taskChange, lazy bool) *write {
	var recVal []byte
	var err error
	if rec != nil {
		if recVal, err = json.Marshal(rec); err != nil {
			return s.c.enqueue(func(*bolt.Tx) error { return err }, nil)
		}
	}
	vals := make([][]byte, len(tasks))
	for i, t := range tasks {
		if t.rec != nil {
			if vals[i], err = api.Marshal(t.rec); err != nil {
				return s.c.enqueue(func(*bolt.Tx) error { return err }, nil)
			}
		}
	}
	enqueue := s.c.enqueue
	if lazy {
		enqueue = func(fn func(*bolt.Tx) error, _ func(error)) *write { return s.c.enqueueLazy(fn) }
	}
	return enqueue(func(tx *bolt.Tx) error {
		if recVal != nil {
			if err := tx.Bucket(executorsBucket).Put(executorKey(framework, executor), recVal); err != nil {
				return err
			}
		}
		b := tx.Bucket(tasksBucket)
		for i, t := range tasks {
			k := taskRecordKey(framework, executor, t.index)
			var err error
			if vals[i] != nil {
				err = b.Put(k, vals[i])
			} else {
				err = b.Delete(k)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// deleteExecutor forgets an executor that has exited, with its tasks.
func (s *store) deleteExecutor(framework, executor string) error {
	return s.c.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(executorsBucket).Delete(executorKey(framework, executor)); err != nil {
			return err
		}
		prefix := append(executorKey(framework, executor), 0)
		c := tx.Bucket(tasksBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// executors returns every checkpointed executor, with its tasks in the
// order they were launched.
func (s *store) executors() ([]executorRecord, error) {
	var out []executorRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(tasksBucket)
		return tx.Bucket(executorsBucket).ForEach(func(k, v []byte) error {
			var r executorRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode executor %q: %w", k, err)
			}
			// A record written by an earlier agent holds its tasks.
			for i := range r.Tasks {
				r.Tasks[i].Index = i
			}
			prefix := append(bytes.Clone(k), 0)
			c := tasks.Cursor()
			for tk, tv := c.Seek(prefix); tk != nil && bytes.HasPrefix(tk, prefix); tk, tv = c.Next() {
				var t recordedTask
				if err := json.Unmarshal(tv, &t); err != nil {
					return fmt.Errorf("decode task %q: %w", tk, err)
				}
				r.Tasks = append(r.Tasks, t)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
