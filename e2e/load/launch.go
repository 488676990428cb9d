package load

import (
	"context"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// refuseAfterDone keeps offers away once every task is launched.
const refuseAfterDone = 3600

// launcher takes held offers and launches as many tasks on each as fit
// and are allowed, until the run stops.
func (r *run) launcher(ctx context.Context) {
	for {
		r.mu.Lock()
		for !r.stopped && !(len(r.offers) > 0 && (r.next >= r.cfg.Tasks || r.room() > 0)) {
			r.cond.Wait()
		}
		if r.stopped {
			r.mu.Unlock()
			return
		}
		o := r.offers[0]
		r.offers = r.offers[1:]
		if r.next >= r.cfg.Tasks {
			r.mu.Unlock()
			r.decline(ctx, o, refuseAfterDone)
			continue
		}
		first, tasks := r.pack(o)
		r.mu.Unlock()
		if len(tasks) == 0 {
			r.decline(ctx, o, 1) // too small for a task; let others use it
			continue
		}
		r.accept(ctx, o, first, tasks)
	}
}

// room is how many more tasks may be launched now. r.mu must be held.
func (r *run) room() int {
	left := r.cfg.Tasks - r.next
	if r.cfg.MaxOutstanding > 0 {
		left = min(left, r.cfg.MaxOutstanding-r.inFlight)
	}
	return left
}

// pack fills offer o with the next tasks and returns the index of the
// first. r.mu must be held.
func (r *run) pack(o api.Offer) (int, []api.TaskInfo) {
	first := r.next
	left := api.Resources(o.Resources)
	var tasks []api.TaskInfo
	for r.room() > 0 {
		t := r.cfg.Task(r.next)
		taken, ok := scheduler.Take(left, t.Resources)
		if !ok {
			break
		}
		left = left.Minus(taken)
		t.TaskID = api.TaskID{Value: taskID(r.next)}
		if t.Name == "" {
			t.Name = t.TaskID.Value
		}
		t.AgentID = o.AgentID
		t.Resources = taken
		tasks = append(tasks, t)
		r.next++
		r.inFlight++
	}
	return first, tasks
}

// accept launches tasks, numbered from first, on offer o; what they leave
// is given back without a filter, to be offered again at once. Tasks
// whose ACCEPT failed count as failed.
func (r *run) accept(ctx context.Context, o api.Offer, first int, tasks []api.TaskInfo) {
	now := r.since()
	for i := range tasks {
		r.sent[first+i].Store(now)
	}
	ops := []api.Operation{{Type: api.OpLaunch, Launch: &api.LaunchOperation{TaskInfos: tasks}}}
	// Counted before the call: the master answers an ACCEPT once the
	// launch is committed, and by then the tasks may have run, ended and
	// ended the run.
	r.counts.launched.Add(int64(len(tasks)))
	err := r.client.Accept(ctx, []api.OfferID{o.ID}, ops, &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))})
	if err != nil {
		r.cfg.Logger.Warn("accept", "offer", o.ID.Value, "tasks", len(tasks), "err", err)
		r.counts.launched.Add(-int64(len(tasks)))
		for i := range tasks {
			r.counts.failed.Add(1)
			r.taskDone(first + i)
		}
	}
}

func (r *run) decline(ctx context.Context, o api.Offer, refuse float64) {
	if err := r.client.Decline(ctx, refuse, o.ID); err != nil {
		r.cfg.Logger.Debug("decline", "offer", o.ID.Value, "err", err)
	}
}
