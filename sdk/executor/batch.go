package executor

import (
	"context"
	"fmt"

	"github.com/mezzo-cluster/mezzo/api"
)

// An agent that says so in SUBSCRIBED (api.ExecutorSubscribed.
// AcceptsMoreUpdates) takes several updates in one UPDATE call. The client
// then has at most one UPDATE call in flight per subscription: an update
// made while one is in flight waits in the session's queue, and all that
// waited go out together in the next call, made as soon as the one in
// flight is answered. A quiet executor's update thus goes out alone and at
// once, as before; a busy one's share calls. There is no timer: nothing
// waits to be batched but for the call ahead of it. See RATIONALE.md, "Why
// may an UPDATE call carry more than one update?".

// maxBatch is the most updates one call carries (at most 1 +
// api.MaxMoreUpdates), and maxBatchBytes about the most bytes; the first
// update of a call goes whatever its size.
// Why: a call may carry 16 MiB (api.MaxRecordSize), and statuses may
// carry data; a call the agent refuses for its size ends the
// subscription.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// queuedUpdate is an update waiting for a call; done gets the call's
// outcome.
type queuedUpdate struct {
	u    api.ExecutorUpdate
	done chan error // capacity 1: the sender never blocks
}

// enqueue queues u, which is in the ledger, to be sent in s, whose agent
// takes more updates per call, and reports whether the caller is to make
// the next call: none is in flight. Client.mu must be held: an update is
// queued as it joins the ledger, in the same order.
func (s *session) enqueue(u api.ExecutorUpdate) (q *queuedUpdate, lead bool) {
	q = &queuedUpdate{u: u, done: make(chan error, 1)}
	s.queue = append(s.queue, q)
	lead = !s.sending
	s.sending = true
	return q, lead
}

// await waits until the agent took q's update, the call failed, or ctx
// ends. A leader makes the next call itself, on its own goroutine; the
// updates that came meanwhile go out in calls made on a goroutine of
// their own. Every call is made with s's context, not a caller's: it
// carries other callers' updates, which one caller's ctx must not fail.
func (c *Client) await(ctx context.Context, s *session, q *queuedUpdate, lead bool) error {
	if lead && c.flush(s.ctx, s) {
		go c.flushAll(s)
	}
	select {
	case err := <-q.done: // the outcome, if known, even if ctx ended
		return err
	default:
	}
	select {
	case err := <-q.done:
		return err
	case <-ctx.Done():
		// The update stays queued and goes out with the next call, or
		// is listed by the next SUBSCRIBE.
		return fmt.Errorf("update task %s: %w: %w", q.u.Status.TaskID.Value, ErrNotConnected, ctx.Err())
	}
}

// flushAll makes calls until s's queue is empty.
func (c *Client) flushAll(s *session) {
	for c.flush(s.ctx, s) {
	}
}

// flush sends the updates at the head of s's queue in one call, tells
// their callers the outcome, and reports whether more wait; if none do,
// it ends the sending. Only the one sender of s calls it.
func (c *Client) flush(ctx context.Context, s *session) (more bool) {
	c.mu.Lock()
	n := batchLen(len(s.queue), func(i int) *api.ExecutorUpdate { return &s.queue[i].u })
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	c.mu.Unlock()
	updates := make([]api.ExecutorUpdate, len(batch))
	for i, q := range batch {
		updates[i] = q.u
	}
	err := c.sendUpdates(ctx, s, updates)
	for _, q := range batch {
		if err != nil {
			q.done <- fmt.Errorf("update task %s: %w", q.u.Status.TaskID.Value, err)
		} else {
			q.done <- nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(s.queue) == 0 {
		s.queue = nil
		s.sending = false
		return false
	}
	return true
}

// batchLen returns how many of the n updates waiting (update(i) being the
// i-th) the next call carries: at least one, at most maxBatch, and no
// more than about maxBatchBytes. A call the agent finds too large anyway
// is split (sendUpdates).
func batchLen(n int, update func(i int) *api.ExecutorUpdate) int {
	size := 0
	for i := range min(n, maxBatch) {
		size += encodedSize(&update(i).Status)
		if i > 0 && size > maxBatchBytes {
			return i
		}
	}
	return min(n, maxBatch)
}

// encodedSize reckons, from above, the bytes a status takes in a call:
// its fixed fields in 1 KiB, its data in base64, and what may grow with
// the task (message, labels, check status), each string at most doubled
// by escaping.
func encodedSize(st *api.TaskStatus) int {
	n := 1024 + (len(st.Data)+2)/3*4 + 2*len(st.Message)
	if st.Labels != nil {
		for _, l := range st.Labels.Labels {
			n += 32 + 2*(len(l.Key)+len(l.Value))
		}
	}
	if st.CheckStatus != nil {
		n += 1024
	}
	return n
}
