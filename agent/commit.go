package agent

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// errStoreClosed is returned for a write queued after the store closed.
var errStoreClosed = errors.New("agent.db is closed")

// write is one change to agent.db waiting for its commit: fn runs in the
// transaction of its group; after, if set, runs once the group is on disk
// (with nil) or has failed (with why), on the committer's goroutine and
// in the order the writes were queued (so that, say, status updates join
// their in-memory queue in the order of their sequence numbers). after
// must not take Agent.mu: a goroutine holding it may be waiting for a
// write.
type write struct {
	fn    func(tx *bolt.Tx) error
	after func(error)
	done  chan error // buffered: the committer never blocks on it
}

// wait blocks until the write is on disk (or failed) and returns why it
// failed.
func (w *write) wait() error { return <-w.done }

// committer applies the writes queued to agent.db in groups, one bbolt
// transaction — one fsync — per group, on a goroutine of its own: while a
// group commits, the next one gathers. A write that fails in a group is
// retried alone, so that it fails alone (as bbolt's DB.Batch does).
// Writes commit in the order they were queued.
//
// Why: each commit costs two fdatasyncs (≈ 0.6 ms here), and a task makes
// about six writes (its checkpoint, three updates, their acknowledgements);
// one commit per write capped an agent at about 100 tasks a second. See
// RATIONALE.md, "Why does the agent group its writes to agent.db?".
type committer struct {
	db     *bolt.DB
	failed func(error)   // told of every write that failed
	wake   chan struct{} // capacity 1

	mu     sync.Mutex
	queue  []*write
	closed bool
	done   chan struct{} // closed when the loop has ended
}

// newCommitter starts the committer of db; failed is told of each write
// that fails, which matters for the writes nobody waits for.
func newCommitter(db *bolt.DB, failed func(error)) *committer {
	c := &committer{db: db, failed: failed, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// enqueue queues fn (and after) for the next group and returns at once;
// it never blocks, so it may be called with any lock held.
func (c *committer) enqueue(fn func(tx *bolt.Tx) error, after func(error)) *write {
	w := &write{fn: fn, after: after, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.failed(errStoreClosed)
		if after != nil {
			after(errStoreClosed)
		}
		w.done <- errStoreClosed
		return w
	}
	c.queue = append(c.queue, w)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return w
}

// update queues fn and waits for its commit.
func (c *committer) update(fn func(tx *bolt.Tx) error) error {
	return c.enqueue(fn, nil).wait()
}

// close commits what is queued and stops the loop.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			group, closed := c.queue, c.closed
			c.queue = nil
			c.mu.Unlock()
			if len(group) == 0 {
				if closed {
					return
				}
				break
			}
			c.commit(group)
		}
	}
}

// commit writes a group in one transaction, or each write alone if the
// group fails, then runs the afters in order and releases the waiters.
func (c *committer) commit(group []*write) {
	errs := make([]error, len(group))
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, w := range group {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for i, w := range group {
			errs[i] = c.db.Update(w.fn)
		}
	} else {
		for i := range errs {
			errs[i] = err
		}
	}
	for i, w := range group {
		if errs[i] != nil {
			c.failed(errs[i])
		}
		if w.after != nil {
			w.after(errs[i])
		}
		w.done <- errs[i]
	}
}
