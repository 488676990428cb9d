package registry

import (
	"errors"
	"sync"

	"github.com/hashicorp/raft"
)

// errStableClosed is what a read of the stable store answers once the
// registry has closed it.
var errStableClosed = errors.New("raft's stable store is closed")

// stableStore is raft's StableStore (the current term and vote) over
// raft.db, closed by the registry after raft has shut down. Why: raft
// handles a leader's heartbeat on the transport's goroutine, which
// Raft.Shutdown does not wait for, and it panics when the term it learns
// cannot be saved — "failed to save current term: database not open"
// when the heartbeat lands just after the file was closed
// (hashicorp/raft#717, seen in this package's tests). Once closed, a
// write is dropped: the node is shut down and relearns the term when it
// starts again.
type stableStore struct {
	mu     sync.RWMutex
	store  raft.StableStore
	closed bool
}

func (s *stableStore) Set(key, val []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.store.Set(key, val)
}

func (s *stableStore) Get(key []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStableClosed
	}
	return s.store.Get(key)
}

func (s *stableStore) SetUint64(key []byte, val uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.store.SetUint64(key, val)
}

func (s *stableStore) GetUint64(key []byte) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errStableClosed
	}
	return s.store.GetUint64(key)
}

// close makes every later call a no-op, once the calls under way have
// returned; the caller then closes the file under it.
func (s *stableStore) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
