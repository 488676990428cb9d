package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// store is the agent's checkpoint, <work_dir>/agent.db: its ID, and every
// status update not yet acknowledged, so that a restarted agent
// re-registers under the same ID and delivers what it still owes. Every
// write is a bbolt transaction, synced before it returns.
type store struct {
	db *bolt.DB
}

var (
	metaBucket    = []byte("meta")
	updatesBucket = []byte("updates")
	agentIDKey    = []byte("agent_id")
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
		for _, b := range [][]byte{metaBucket, updatesBucket} {
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
// updates in the order they were made, and returns that number.
func (s *store) putUpdate(framework string, st api.TaskStatus) (uint64, error) {
	val, err := json.Marshal(storedUpdate{Framework: framework, Status: st})
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
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
