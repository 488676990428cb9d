package simagent

import (
	"bytes"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// launch starts simulated tasks: each reports TASK_RUNNING at once and
// finishes after the fleet's TaskDuration. A task the agent already has
// is ignored, as the real agent ignores a duplicate launch.
func (a *simAgent) launch(framework string, infos []api.TaskInfo) {
	f := a.fleet
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for _, ti := range infos {
		key := taskKey{framework, ti.TaskID.Value}
		if _, dup := a.tasks[key]; dup {
			continue
		}
		t := &simTask{key: key}
		a.tasks[key] = t
		f.stats.launched.Add(1)
		f.stats.running.Add(1)
		a.enqueue(t, api.TaskRunning, now)
		switch d := f.cfg.TaskDuration; {
		case d == 0:
			a.enqueue(t, api.TaskFinished, now)
		case d > 0:
			t.timer = time.AfterFunc(d, func() { a.finish(key) })
		}
	}
}

// finish ends a task that ran its course.
func (a *simAgent) finish(key taskKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tasks[key]; t != nil && !t.state.IsTerminal() {
		a.enqueue(t, api.TaskFinished, time.Now())
	}
}

// kill ends a task with TASK_KILLED. A task unknown to the agent, or one
// already ended, is left alone.
func (a *simAgent) kill(key taskKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.killLocked(key)
}

// killLocked is kill with a.mu held.
func (a *simAgent) killLocked(key taskKey) {
	t := a.tasks[key]
	if t == nil || t.state.IsTerminal() {
		return
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	a.enqueue(t, api.TaskKilled, time.Now())
}

// shutdownFramework kills every task of a framework.
func (a *simAgent) shutdownFramework(framework string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key := range a.tasks {
		if key.framework == framework {
			a.killLocked(key)
		}
	}
}

// acknowledge pops a task's head update if id names it, and sends the
// next; a task whose terminal update is acknowledged is forgotten.
func (a *simAgent) acknowledge(key taskKey, id []byte) {
	f := a.fleet
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tasks[key]
	if t == nil || len(t.queue) == 0 || !bytes.Equal(t.queue[0].UUID, id) {
		return
	}
	f.stats.acked.Add(1)
	f.stats.unacked.Add(-1)
	t.queue[0] = api.TaskStatus{}
	t.queue = t.queue[1:]
	t.backoff = 0
	if len(t.queue) > 0 {
		a.sendHead(t, time.Now(), false)
		return
	}
	t.queue = nil
	delete(a.inflight, t)
	if t.state.IsTerminal() {
		delete(a.tasks, key)
	}
}

// enqueue queues a status update of t in state, sending it at once when
// nothing of t's is in flight. a.mu must be held.
func (a *simAgent) enqueue(t *simTask, state api.TaskState, now time.Time) {
	f := a.fleet
	st := api.TaskStatus{
		TaskID:     api.TaskID{Value: t.key.task},
		State:      state,
		Source:     api.SourceExecutor,
		ExecutorID: &api.ExecutorID{Value: t.key.task},
		Timestamp:  api.Float64(float64(now.UnixNano()) / 1e9),
		UUID:       f.newUUID(),
	}
	if state == api.TaskFinished {
		st.Message = "Command exited with status 0"
	}
	t.state = state
	switch state {
	case api.TaskFinished:
		f.stats.running.Add(-1)
		f.stats.finished.Add(1)
	case api.TaskKilled:
		f.stats.running.Add(-1)
		f.stats.killed.Add(1)
	}
	t.queue = append(t.queue, st)
	f.stats.unacked.Add(1)
	if len(t.queue) == 1 {
		a.inflight[t] = struct{}{}
		a.sendHead(t, now, false)
	}
}

// sendHead queues t's head update for sending, unless it is queued
// already or the agent has no subscription (subscribing sends every head
// again). a.mu must be held.
func (a *simAgent) sendHead(t *simTask, now time.Time, retry bool) {
	if t.queued {
		return
	}
	if a.streamID == "" {
		t.sentAt = now
		return
	}
	t.queued = true
	a.fleet.sends.push(outUpdate{agent: a, key: t.key, status: t.queue[0], retry: retry})
}

// toSend is called by a sender about to post u: it reports whether u is
// still its task's head, and starts the head's retry clock. A stale u (its
// update was acknowledged while it waited) is dropped, and the task's
// current head, if any, queued instead.
func (a *simAgent) toSend(u outUpdate, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tasks[u.key]
	if t == nil {
		return false
	}
	t.queued = false
	if len(t.queue) == 0 || !bytes.Equal(t.queue[0].UUID, u.status.UUID) {
		if len(t.queue) > 0 {
			a.sendHead(t, now, false)
		}
		return false
	}
	t.sentAt = now
	switch {
	case !u.retry || t.backoff == 0:
		t.backoff = a.fleet.cfg.UpdateRetry
	default:
		t.backoff = min(2*t.backoff, maxUpdateRetry)
	}
	return true
}

// maxUpdateRetry caps the backoff between sends of one update, as the
// real agent's StatusRetryMax does.
const maxUpdateRetry = 10 * time.Minute

// retryDue sends again the heads that have waited their backoff for an
// acknowledgement since they were last sent.
func (a *simAgent) retryDue(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.inflight {
		if !t.queued && now.Sub(t.sentAt) >= max(t.backoff, a.fleet.cfg.UpdateRetry) {
			a.sendHead(t, now, true)
		}
	}
}
