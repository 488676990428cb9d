package agent

import (
	"errors"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errStoreClosed is returned for a write queued after the store closed.
var errStoreClosed = errors.New("agent.db is closed")

// write is one change to agent.db waiting for its commit: fn runs in the
// transaction of its group; after, if set, runs once the group is on disk
// (with nil) or has failed (with why), on the goroutine that commits the
// group (see committer) and in the order the writes were queued (so
// that, say, status updates join their in-memory queue in the order of
// their sequence numbers). after must not take Agent.mu: a goroutine
// holding it may be waiting for a write.
//
// "On disk", here and in the agent's comments, means committed to
// agent.db's file, where a restarted agent finds it; not synced to the
// device, which only a crash of the host would tell apart (store).
type write struct {
	fn    func(tx *bolt.Tx) error
	after func(error)
	done  chan error // buffered: the committer never blocks on it
}

// wait blocks until the write is on disk (or failed) and returns why it
// failed.
func (w *write) wait() error { return <-w.done }

// committer applies the writes queued to agent.db in groups, one bbolt
// transaction per group, one group at a time: while a
// group commits, the next one gathers. A write that fails in a group is
// retried alone, so that it fails alone (as bbolt's DB.Batch does).
// Writes commit in the order they were queued.
//
// Groups commit on the committer's own goroutine, or on a goroutine that
// has nothing better to do than wait for its write and calls drain:
// waking the committer's goroutine cost a launch about 90 µs at the
// median (PERFORMANCE.md, "The launch path's floor on this machine").
// Either way only one commits at a time.
//
// Why: a task makes about six writes (its checkpoint, three updates,
// their acknowledgements), and each commit writes its pages and a meta
// page, with two fdatasyncs (≈ 0.6 ms here) when agent.db is synced;
// one synced commit per write capped an agent at about 100 tasks a
// second. See RATIONALE.md, "Why does the agent group its writes to
// agent.db?".
type committer struct {
	db     *bolt.DB
	failed func(error)   // told of every write that failed
	wake   chan struct{} // capacity 1

	mu     sync.Mutex
	queue  []*write
	urgent bool          // the queue holds a write that is not lazy
	timer  *time.Timer   // wakes the loop for lazy writes; nil when none wait
	linger time.Duration // how long lazy writes wait at most: lazyDelay
	closed bool
	busy   bool          // a goroutine is committing a group
	done   chan struct{} // closed when the loop has ended
}

// lazyDelay is how long a lazy write (enqueueLazy) waits at most for a
// commit to join.
const lazyDelay = 5 * time.Millisecond

// newCommitter starts the committer of db; failed is told of each write
// that fails, which matters for the writes nobody waits for.
func newCommitter(db *bolt.DB, failed func(error)) *committer {
	c := &committer{db: db, failed: failed, wake: make(chan struct{}, 1), linger: lazyDelay, done: make(chan struct{})}
	go c.loop()
	return c
}

// enqueue queues fn (and after) for the next group and returns at once;
// it never blocks, so it may be called with any lock held.
func (c *committer) enqueue(fn func(tx *bolt.Tx) error, after func(error)) *write {
	return c.add(fn, after, false)
}

// enqueueLazy queues fn to join the next group that a write queued with
// enqueue starts, or to start one itself after lazyDelay. Why: a launch's
// checkpoint would otherwise take a commit of its own just before the
// task's TASK_RUNNING needs one, and TASK_RUNNING would wait for both
// (RATIONALE.md, "Why may a launch reach its executor before it is on
// disk?").
func (c *committer) enqueueLazy(fn func(tx *bolt.Tx) error) *write {
	return c.add(fn, nil, true)
}

func (c *committer) add(fn func(tx *bolt.Tx) error, after func(error), lazy bool) *write {
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
	if lazy {
		if c.timer == nil {
			c.timer = time.AfterFunc(c.linger, c.due)
		}
		c.mu.Unlock()
		return w
	}
	c.urgent = true
	c.mu.Unlock()
	c.poke()
	return w
}

// due wakes the loop for the lazy writes that have waited lazyDelay.
func (c *committer) due() {
	c.mu.Lock()
	c.urgent = true
	c.mu.Unlock()
	c.poke()
}

func (c *committer) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
	c.poke()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for range c.wake {
		if c.commitQueued(true) {
			return
		}
	}
}

// drain commits the writes queued now as one group on the calling
// goroutine, unless another goroutine is committing (which then commits
// them) or only lazy writes wait. A goroutine that queued a write and
// would otherwise wait for the committer's goroutine to wake calls it,
// holding no lock: the afters it runs take updateManager.mu.
func (c *committer) drain() { c.commitQueued(false) }

// commitQueued commits what is queued, group after group while writes
// keep coming if all is set, or one group and then leaves the rest to
// the loop. It reports whether the committer is closed with nothing
// left to commit, which ends the loop.
func (c *committer) commitQueued(all bool) (over bool) {
	for {
		c.mu.Lock()
		if c.busy {
			c.mu.Unlock()
			return false
		}
		closed := c.closed
		if !c.urgent && !closed {
			c.mu.Unlock()
			return false // only lazy writes wait: their timer wakes the loop
		}
		group := c.queue
		c.queue, c.urgent = nil, false
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
		if len(group) == 0 {
			c.mu.Unlock()
			return closed
		}
		c.busy = true
		c.mu.Unlock()
		c.commit(group)
		c.mu.Lock()
		c.busy = false
		more := c.urgent || c.closed
		c.mu.Unlock()
		if !all {
			if more {
				c.poke() // the loop may have found us busy
			}
			return false
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
