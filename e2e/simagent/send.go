package simagent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// pop waits for an update; it reports false once the queue is closed.
func (q *sendQueue) pop() (outUpdate, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return outUpdate{}, false
	}
	u := q.items[0]
	q.items[0] = outUpdate{}
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil // let a drained backlog's array go
	}
	return u, true
}

func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// sender posts queued updates until the fleet closes. A failed send is
// not queued again here: the retry loop sends every unacknowledged
// update again after UpdateRetry.
func (f *Fleet) sender() {
	for {
		u, ok := f.sends.pop()
		if !ok {
			return
		}
		if !u.agent.toSend(u, time.Now()) {
			continue
		}
		if err := f.post(u); err != nil {
			f.stats.sendErrors.Add(1)
			f.cfg.Logger.Debug("status update not delivered; will retry", "task", u.status.TaskID.Value, "err", err)
			continue
		}
		f.stats.sent.Add(1)
		if u.retry {
			f.stats.retries.Add(1)
		}
	}
}

// post makes one UPDATE call on the master for u's agent.
func (f *Fleet) post(u outUpdate) error {
	agentID, streamID, master := u.agent.session()
	if agentID == "" {
		return errNotSubscribed
	}
	body, err := json.Marshal(api.AgentCall{
		Type:    api.AgentCallUpdate,
		AgentID: &api.AgentID{Value: agentID},
		Updates: []api.AgentUpdate{{FrameworkID: api.FrameworkID{Value: u.key.framework}, Status: u.status}},
	})
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
