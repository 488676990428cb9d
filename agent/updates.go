package agent

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/api"
)

// pendingUpdate is a status update waiting for the framework's
// acknowledgement.
type pendingUpdate struct {
	seq       uint64 // its key in agent.db
	framework string
	status    api.TaskStatus
	next      time.Time     // when to send it again
	backoff   time.Duration // the current retry interval
	inFlight  bool          // due handed it out and sent has not been called
	held      bool          // not due until the update before it is deleted (see acknowledge)
}

// updateManager delivers each task's status updates in order, at least
// once: each update is checkpointed in agent.db before it is queued, only
// the head of a task's queue is in flight, and it is sent again with
// exponential backoff until the framework acknowledges it (Mesos's
// TaskStatusUpdateManager). It is safe for concurrent use.
type updateManager struct {
	min, max time.Duration
	wake     chan struct{} // capacity 1: heads are ready to send
	store    *store

	mu     sync.Mutex
	queues map[taskKey][]*pendingUpdate
}

type taskKey struct{ framework, task string }

// newUpdateManager returns a manager checkpointing to s, with the updates
// s holds from before a restart already queued, in order.
func newUpdateManager(s *store, min, max time.Duration, now time.Time) (*updateManager, error) {
	u := &updateManager{min: min, max: max, wake: make(chan struct{}, 1), store: s, queues: map[taskKey][]*pendingUpdate{}}
	seqs, stored, err := s.updates()
	if err != nil {
		return nil, fmt.Errorf("recover status updates: %w", err)
	}
	for i, su := range stored {
		key := taskKey{su.Framework, su.Status.TaskID.Value}
		u.queues[key] = append(u.queues[key], &pendingUpdate{seq: seqs[i], framework: su.Framework, status: su.Status, next: now})
	}
	return u, nil
}

// add checkpoints a status update the agent makes for a task, stamping
// its UUID and time, and queues it. An update that cannot be checkpointed
// is not sent: the error says why.
func (u *updateManager) add(framework string, st api.TaskStatus, now time.Time) error {
	id := uuid.New()
	st.UUID = id[:]
	st.Timestamp = api.Float64(float64(now.UnixNano()) / 1e9)
	if st.Source == "" {
		st.Source = api.SourceExecutor
	}
	if err := u.put(framework, st, false, now, nil).wait(); err != nil {
		return fmt.Errorf("checkpoint status update of task %s: %w", st.TaskID.Value, err)
	}
	return nil
}

// addFromExecutor queues the checkpoint of an update an executor sent,
// keeping its UUID (the framework acknowledges that UUID, and the
// executor resends the update under it until the agent acknowledges it),
// and returns the write to wait for before acknowledging it to the
// executor. An update with a UUID seen before for the task is not written
// again, nor queued. Updates join their tasks' queues in the order
// addFromExecutor and add were called.
//
// done, if set, runs once the update is on disk (or known as a
// duplicate) with nil, or with why it could not be written, on the
// goroutine that commits it (see write: it must not take Agent.mu).
func (u *updateManager) addFromExecutor(framework string, st api.TaskStatus, now time.Time, done func(error)) *write {
	if st.Timestamp == 0 {
		st.Timestamp = api.Float64(float64(now.UnixNano()) / 1e9)
	}
	return u.put(framework, st, true, now, done)
}

// hasTerminal reports whether a terminal update of the task waits for
// acknowledgement.
func (u *updateManager) hasTerminal(framework, task string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range u.queues[taskKey{framework, task}] {
		if p.status.State.IsTerminal() {
			return true
		}
	}
	return false
}

// latest returns the newest queued update of every task that has
// updates waiting for acknowledgement. A re-registering agent reports
// these tasks even when their executor is gone, so that the master waits
// for their updates instead of declaring them lost.
func (u *updateManager) latest() map[taskKey]api.TaskStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[taskKey]api.TaskStatus, len(u.queues))
	for key, q := range u.queues {
		if len(q) > 0 {
			out[key] = q[len(q)-1].status
		}
	}
	return out
}

// put queues the checkpoint of st (checking and remembering its UUID
// when seen is set); once it is on disk, it joins its task's queue.
// done, if set, is called last (see addFromExecutor).
func (u *updateManager) put(framework string, st api.TaskStatus, seen bool, now time.Time, done func(error)) *write {
	return u.store.putUpdate(framework, st, seen, func(seq uint64, fresh bool, err error) {
		if done != nil {
			defer done(err)
		}
		if err != nil || !fresh {
			return
		}
		key := taskKey{framework, st.TaskID.Value}
		u.mu.Lock()
		u.queues[key] = append(u.queues[key], &pendingUpdate{seq: seq, framework: framework, status: st, next: now})
		u.mu.Unlock()
		u.poke()
	})
}

func (u *updateManager) poke() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// acknowledge pops a task's head update if uuid names it, and deletes it
// from agent.db. The next update of the task, if one waits, falls due
// once the deletion is on disk: were it sent before, a crash could leave
// both on disk with the second acknowledged, and the restarted agent
// would send the first again, which the master would take for news and
// move the task back (it knows only the last acknowledged update).
// Mesos's agent writes an acknowledgement down before it forwards the
// next update for the same reason. With no next update waiting, the
// deletion is lazy: an update sent again after a crash is the one the
// master last acknowledged, and it is acknowledged again.
func (u *updateManager) acknowledge(framework, task string, id []byte, now time.Time) error {
	key := taskKey{framework, task}
	u.mu.Lock()
	q := u.queues[key]
	if len(q) == 0 || !bytes.Equal(q[0].status.UUID, id) {
		u.mu.Unlock()
		return nil
	}
	seq := q[0].seq
	q = q[1:]
	var next *pendingUpdate
	if len(q) == 0 {
		delete(u.queues, key)
	} else {
		next = q[0]
		next.held = true
		u.queues[key] = q
	}
	u.mu.Unlock()
	if next == nil {
		u.store.deleteUpdate(seq, nil)
		return nil
	}
	// Not under u.mu: a store that is closed runs the after at once.
	u.store.deleteUpdate(seq, func(error) {
		// A failed deletion is the committer's to report; holding the
		// next update back would not make the disk work.
		u.mu.Lock()
		next.held = false
		next.next = time.Time{} // due at once
		u.mu.Unlock()
		u.poke()
	})
	return nil
}

// due returns the head updates to send now, marks them in flight and
// schedules their next retry; it also returns when the next one falls
// due. The caller calls sent for each once its send is over. A head in
// flight is not handed out again, so a task never has two sends at once
// (Mesos's one update in flight per task), whoever sends them.
func (u *updateManager) due(now time.Time) ([]pendingUpdate, time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []pendingUpdate
	next := now.Add(u.max)
	for _, q := range u.queues {
		h := q[0]
		if h.held {
			continue // acknowledge's deletion makes it due
		}
		if h.inFlight {
			if h.next.After(now) && h.next.Before(next) {
				next = h.next
			}
			continue // overdue: sent pokes when the send is over
		}
		if !h.next.After(now) {
			h.inFlight = true
			out = append(out, *h)
			switch {
			case h.backoff == 0:
				h.backoff = u.min
			case h.backoff < u.max:
				h.backoff = min(2*h.backoff, u.max)
			}
			h.next = now.Add(h.backoff)
		}
		if h.next.Before(next) {
			next = h.next
		}
	}
	return out, next
}

// sent ends the send of p that due handed out; again makes p due at
// once, its send given up before an answer. If p is still its task's
// head and is due again, the sender is woken.
func (u *updateManager) sent(p pendingUpdate, now time.Time, again bool) {
	u.mu.Lock()
	q := u.queues[taskKey{p.framework, p.status.TaskID.Value}]
	overdue := false
	if len(q) > 0 && q[0].seq == p.seq {
		q[0].inFlight = false
		if again {
			q[0].next = now
		}
		overdue = !q[0].next.After(now)
	}
	u.mu.Unlock()
	if overdue {
		u.poke()
	}
}

// strip puts stripped(p's status) in place of p's status, if p is still
// its task's head and has anything to strip, and returns the update as it
// now is, still in flight, or false. Only the update in memory changes:
// after a restart the one in agent.db is refused and stripped again.
func (u *updateManager) strip(p pendingUpdate) (pendingUpdate, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	q := u.queues[taskKey{p.framework, p.status.TaskID.Value}]
	if len(q) == 0 || q[0].seq != p.seq {
		return p, false
	}
	st, ok := stripped(q[0].status)
	if ok {
		q[0].status = st
	}
	return *q[0], ok
}

// strippedMessageBytes is how much of its message a stripped update
// keeps.
const strippedMessageBytes = 1024

// stripped returns st without its data and labels and with its message
// cut to strippedMessageBytes, saying so in the message, or false when
// there is nothing to take away. It is for an update the master refuses
// as too large even alone: retried as it is, it would be refused for
// ever and hold back its task's later updates, while the state it
// carries is what the framework needs most.
func stripped(st api.TaskStatus) (api.TaskStatus, bool) {
	if len(st.Data) == 0 && st.Labels == nil && len(st.Message) <= strippedMessageBytes {
		return st, false
	}
	if len(st.Message) > strippedMessageBytes {
		st.Message = strings.ToValidUTF8(st.Message[:strippedMessageBytes], "") + "…"
	}
	st.Message += fmt.Sprintf(" [the agent dropped this update's data (%d bytes) and labels and cut its message: the master refused the update as too large]", len(st.Data))
	st.Data, st.Labels = nil, nil
	return st, true
}

// resendAll makes every head due at once, for a fresh connection.
func (u *updateManager) resendAll(now time.Time) {
	u.mu.Lock()
	for _, q := range u.queues {
		q[0].next = now
		q[0].backoff = 0
	}
	u.mu.Unlock()
	u.poke()
}

// quietTasks is how many tasks may have updates waiting for
// acknowledgement on an agent that counts as quiet (see quiet).
const quietTasks = 4

// quiet reports whether at most quietTasks tasks have updates waiting
// for acknowledgement: an agent launching one task at a time, not one
// under a stream of them.
func (u *updateManager) quiet() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.queues) <= quietTasks
}

// pending returns how many updates wait for acknowledgement.
func (u *updateManager) pending() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, q := range u.queues {
		n += len(q)
	}
	return n
}
