package executor

import (
	"cmp"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// ledger is what the agent has not yet acknowledged: the tasks launched
// whose terminal update is not acknowledged, and the status updates sent
// (or to be sent) that are not acknowledged. It is what a re-subscription
// lists. Client.mu guards it.
type ledger struct {
	seq     uint64 // orders entries as they were added
	tasks   map[string]*launchedTask
	updates map[string]*pendingUpdate // by string(uuid)
}

type launchedTask struct {
	seq  uint64
	info api.TaskInfo
}

// pendingUpdate is an update the agent has not acknowledged. sentIn is the
// subscription it was last sent in (by a call, or listed by SUBSCRIBE);
// one that was not sent in the current subscription is sent again when
// the subscription starts.
type pendingUpdate struct {
	seq    uint64
	update api.ExecutorUpdate
	sentIn *session
}

func newLedger() ledger {
	return ledger{tasks: map[string]*launchedTask{}, updates: map[string]*pendingUpdate{}}
}

// launched records the tasks a LAUNCH or LAUNCH_GROUP event brings. It is
// called as the handler gets the event, not when the event is read: a
// subscription that ends drops the events still waiting for the handler,
// and a task listed by the next SUBSCRIBE is one the agent takes the
// executor to run, and waits for; one not listed it reports lost.
func (l *ledger) launched(ev *api.ExecutorEvent) {
	switch ev.Type {
	case api.ExecutorEventLaunch:
		l.addTask(ev.Launch.Task)
	case api.ExecutorEventLaunchGroup:
		for _, t := range ev.LaunchGroup.TaskGroup.Tasks {
			l.addTask(t)
		}
	}
}

// addTask records t without its data. Why: a re-subscription lists every
// task whose terminal update is not acknowledged, and a call may carry
// 16 MiB (api.MaxRecordSize); tasks carrying megabytes of data each would
// make a SUBSCRIBE the agent refuses, and so an executor that cannot come
// back. The agent needs a listed task's ID, and for a task it adopts what
// the task is (resources, command, checks), never its data: the executor
// has that already, and the agent sends it to no one.
func (l *ledger) addTask(t api.TaskInfo) {
	if _, ok := l.tasks[t.TaskID.Value]; ok {
		return
	}
	t.Data = nil
	l.seq++
	l.tasks[t.TaskID.Value] = &launchedTask{seq: l.seq, info: t}
}

// add records an update about to be sent.
func (l *ledger) add(u api.ExecutorUpdate) *pendingUpdate {
	l.seq++
	p := &pendingUpdate{seq: l.seq, update: u}
	l.updates[string(u.Status.UUID)] = p
	return p
}

// acknowledged forgets the update with uuid and, if it was terminal, its
// task.
func (l *ledger) acknowledged(uuid []byte) {
	p, ok := l.updates[string(uuid)]
	if !ok {
		return
	}
	delete(l.updates, string(uuid))
	if p.update.Status.State.IsTerminal() {
		delete(l.tasks, p.update.Status.TaskID.Value)
	}
}

// snapshot returns the unacknowledged tasks and updates, each in the
// order they were added, and marks the updates as sent in s (nil: not
// marked).
func (l *ledger) snapshot(s *session) ([]api.TaskInfo, []api.ExecutorUpdate) {
	tasks := sorted(l.tasks, func(t *launchedTask) uint64 { return t.seq })
	updates := sorted(l.updates, func(p *pendingUpdate) uint64 { return p.seq })
	var ti []api.TaskInfo
	for _, t := range tasks {
		ti = append(ti, t.info)
	}
	var us []api.ExecutorUpdate
	for _, p := range updates {
		if s != nil {
			p.sentIn = s
		}
		us = append(us, p.update)
	}
	return ti, us
}

// unsent returns, in order, the updates not sent in s, and marks them as
// sent in s.
func (l *ledger) unsent(s *session) []api.ExecutorUpdate {
	var out []api.ExecutorUpdate
	for _, p := range sorted(l.updates, func(p *pendingUpdate) uint64 { return p.seq }) {
		if p.sentIn != s {
			p.sentIn = s
			out = append(out, p.update)
		}
	}
	return out
}

func sorted[T any](m map[string]T, seq func(T) uint64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(seq(a), seq(b)) })
	return out
}
