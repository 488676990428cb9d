package simagent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// outUpdate is a status update on its way to the master.
type outUpdate struct {
	agent  *simAgent
	key    taskKey
	status api.TaskStatus
	retry  bool
}

// sendQueue is an unbounded FIFO of updates: agents' stream readers
// never block on it, so a slow master slows the senders, not the reading
// of events.
type sendQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []outUpdate
	closed bool
}

func newSendQueue() *sendQueue {
	q := &sendQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *sendQueue) push(u outUpdate) {
	q.mu.Lock()
	q.items = append(q.items, u)
	q.mu.Unlock()
	q.cond.Signal()
}

// popBatch waits for an update and takes up to max of those queued, in
// order; it reports false once the queue is closed.
func (q *sendQueue) popBatch(max int) ([]outUpdate, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, false
	}
	n := min(max, len(q.items))
	batch := slices.Clone(q.items[:n])
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil // let a drained backlog's array go
	}
	return batch, true
}

func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// sender posts queued updates until the fleet closes, as the real agent
// does: the updates queued for one agent go in one UPDATE call, up to
// maxBatch of them. A failed send is not queued again here: the retry
// loop sends every unacknowledged update again after UpdateRetry.
func (f *Fleet) sender() {
	for {
		queued, ok := f.sends.popBatch(maxBatch)
		if !ok {
			return
		}
		now := time.Now()
		byAgent := map[*simAgent][]outUpdate{}
		for _, u := range queued {
			if u.agent.toSend(u, now) {
				byAgent[u.agent] = append(byAgent[u.agent], u)
			}
		}
		for a, batch := range byAgent {
			if err := f.post(a, batch); err != nil {
				f.stats.sendErrors.Add(int64(len(batch)))
				f.cfg.Logger.Debug("status updates not delivered; will retry", "updates", len(batch), "err", err)
				continue
			}
			f.stats.sent.Add(int64(len(batch)))
			for _, u := range batch {
				if u.retry {
					f.stats.retries.Add(1)
				}
			}
		}
	}
}

// maxBatch is the most updates a sender takes from the queue at once,
// and so the most one call carries: the real agent's cap.
const maxBatch = 64

// post makes one UPDATE call on the master for agent a, carrying batch.
// Each task has at most one update queued, so a batch holds at most one
// per task.
func (f *Fleet) post(a *simAgent, batch []outUpdate) error {
	agentID, streamID, master := a.session()
	if agentID == "" {
		return errNotSubscribed
	}
	call := api.AgentCall{Type: api.AgentCallUpdate, AgentID: &api.AgentID{Value: agentID},
		Updates: make([]api.AgentUpdate, len(batch))}
	for i, u := range batch {
		call.Updates[i] = api.AgentUpdate{FrameworkID: api.FrameworkID{Value: u.key.framework}, Status: u.status}
	}
	body, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("encode update: %w", err)
	}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, "http://"+master+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("update request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mesos-Stream-Id", streamID)
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("post update: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("post update: master answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
