package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// framework runs the jobs. Its state changes under mu and is saved to
// the state file after every change, before any call that acts on it, so
// that a restarted framework knows every task it may have launched.
type framework struct {
	path   string
	client *scheduler.Client
	log    *slog.Logger
	wake   chan struct{} // capacity 1: the queue changed

	mu     sync.Mutex
	st     *state
	queue  []api.TaskInfo
	byTask map[string]string // current task of a queued or running run → job
}

func newFramework(path string, st *state, log *slog.Logger) *framework {
	f := &framework{path: path, st: st, log: log, wake: make(chan struct{}, 1), byTask: map[string]string{}}
	for name, js := range st.Jobs {
		if r := js.current(); r != nil && r.TaskID != "" {
			f.byTask[r.TaskID] = name
		}
	}
	return f
}

// current returns the job's run that is queued or running, if any.
func (js *jobState) current() *Run {
	if n := len(js.Runs); n > 0 && (js.Runs[n-1].State == runQueued || js.Runs[n-1].State == runRunning) {
		return &js.Runs[n-1]
	}
	return nil
}

// saveLocked writes the state; f.mu must be held. A state that cannot be
// saved is logged: the framework keeps running, and a restart would
// reconcile from the last saved state.
func (f *framework) saveLocked() {
	if err := f.st.save(f.path); err != nil {
		f.log.Error("save state", "err", err)
	}
}

func (f *framework) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// put adds jobs or replaces jobs of the same names, all or none: parents
// may be among them. A replaced job keeps its history and any run under
// way.
func (f *framework) put(now time.Time, add ...Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	jobs := map[string]Job{}
	for name, js := range f.st.Jobs {
		jobs[name] = js.Job
	}
	for _, j := range add {
		if err := j.validate(); err != nil {
			return err
		}
		jobs[j.Name] = j
	}
	if err := checkGraph(jobs); err != nil {
		return err
	}
	for _, j := range add {
		js := f.st.Jobs[j.Name]
		if js == nil {
			js = &jobState{}
			f.st.Jobs[j.Name] = js
		}
		js.Job = j
		js.Next = time.Time{}
		if j.Schedule != "" {
			s, _ := parseSchedule(j.Schedule) // validated above
			// The first run may be now: the schedule's start counts.
			if next, ok := s.next(now.Add(-time.Nanosecond)); ok {
				js.Next = next
			}
		}
	}
	f.saveLocked()
	return nil
}

// errConflict is returned for a change that other jobs forbid.
var errConflict = errors.New("conflict")

// errNotFound is returned for a job that does not exist.
var errNotFound = errors.New("no such job")

// remove deletes a job that no other job depends on. A run under way is
// left to finish, unrecorded.
func (f *framework) remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Jobs[name] == nil {
		return fmt.Errorf("job %s: %w", name, errNotFound)
	}
	for other, js := range f.st.Jobs {
		if slices.Contains(js.Job.Parents, name) {
			return fmt.Errorf("job %s: job %s depends on it: %w", name, other, errConflict)
		}
	}
	if r := f.st.Jobs[name].current(); r != nil {
		delete(f.byTask, r.TaskID)
		f.queue = slices.DeleteFunc(f.queue, func(t api.TaskInfo) bool { return t.TaskID.Value == r.TaskID })
	}
	delete(f.st.Jobs, name)
	f.saveLocked()
	return nil
}

// trigger starts a run of a job now, by hand.
func (f *framework) trigger(name string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Jobs[name] == nil {
		return fmt.Errorf("job %s: %w", name, errNotFound)
	}
	f.triggerLocked(name, "manual", now)
	f.saveLocked()
	return nil
}

// tick starts the runs whose time has come. Runs missed while the
// framework was down are run once, not once per missed time.
func (f *framework) tick(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := false
	for name, js := range f.st.Jobs {
		if js.Next.IsZero() || now.Before(js.Next) {
			continue
		}
		f.triggerLocked(name, "schedule", now)
		js.Next = time.Time{}
		if s, err := parseSchedule(js.Job.Schedule); err == nil {
			if next, ok := s.next(now); ok {
				js.Next = next
			}
		}
		changed = true
	}
	if changed {
		f.saveLocked()
	}
}

// triggerLocked starts a run, or marks one pending if a run is under way
// (a job never runs twice at once). f.mu must be held.
func (f *framework) triggerLocked(name, why string, now time.Time) {
	js := f.st.Jobs[name]
	if js.current() != nil {
		js.Pending = why
		return
	}
	js.LastNumber++
	js.Runs = append(js.Runs, Run{Number: js.LastNumber, Trigger: why, State: runQueued, Queued: now})
	if len(js.Runs) > historySize {
		js.Runs = slices.Delete(js.Runs, 0, len(js.Runs)-historySize)
	}
	f.enqueueLocked(name, js.current())
}

// enqueueLocked queues a new attempt of run r. f.mu must be held.
func (f *framework) enqueueLocked(name string, r *Run) {
	j := f.st.Jobs[name].Job.withDefaults()
	r.Attempts++
	r.State, r.Ran = runQueued, false
	taskID := fmt.Sprintf("jobs.%s.%d.%d", name, r.Number, r.Attempts)
	r.TaskID = taskID
	res := api.Resources{api.ScalarResource("cpus", j.CPUs), api.ScalarResource("mem", j.Mem)}
	var t api.TaskInfo
	if j.Module != "" {
		t = scheduler.WasmTask(taskID, name, "", j.Module, j.Args, res)
	} else {
		t = scheduler.CommandTask(taskID, name, "", j.Command, res)
	}
	f.byTask[taskID] = name
	f.queue = append(f.queue, t)
	f.poke()
}

// offers launches queued tasks on the offers that fit them.
func (f *framework) offers(ctx context.Context, offers []api.Offer) error {
	for _, offer := range offers {
		f.mu.Lock()
		var launch []api.TaskInfo
		launch, f.queue = scheduler.Pack(offer, f.queue)
		for _, t := range launch {
			if js := f.st.Jobs[f.byTask[t.TaskID.Value]]; js != nil {
				if r := js.current(); r != nil && r.TaskID == t.TaskID.Value {
					r.State, r.AgentID = runRunning, t.AgentID.Value
				}
			}
		}
		if len(launch) > 0 {
			f.saveLocked() // before ACCEPT: a restart must know these tasks may run
		}
		f.mu.Unlock()
		if len(launch) == 0 {
			if err := f.client.Decline(ctx, 5, offer.ID); err != nil {
				f.log.Warn("decline", "err", err) // the offer goes back when it times out or the master changes
			}
			continue
		}
		if err := f.client.Launch(ctx, offer.ID, launch...); err != nil {
			// The master may have died mid-call: whether the tasks
			// launched is unknown until the next subscription's
			// reconciliation says. Returning the error would end the
			// framework (the SDK's Run stops on a handler's error).
			f.log.Warn("launch", "tasks", len(launch), "err", err)
		}
	}
	f.poke()
	return nil
}

// update records what a status says about the run it belongs to.
func (f *framework) update(st api.TaskStatus, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.byTask[st.TaskID.Value]
	js := f.st.Jobs[name]
	if !ok || js == nil {
		return // a run that ended or a job removed; nothing to record
	}
	r := js.current()
	if r == nil || r.TaskID != st.TaskID.Value {
		return
	}
	r.Message = strings.TrimSpace(fmt.Sprintf("%s %s %s", st.State, st.Reason, st.Message))
	if st.AgentID != nil {
		r.AgentID = st.AgentID.Value
	}
	if st.State == api.TaskRunning {
		r.Ran = true
	}
	if !st.State.IsTerminal() {
		f.saveLocked()
		return
	}
	delete(f.byTask, st.TaskID.Value)
	switch {
	case st.State == api.TaskFinished:
		r.State = runSucceeded
	case !r.Ran && (st.State == api.TaskLost || st.State == api.TaskDropped):
		// It never ran: queued when the framework stopped, or its
		// ACCEPT lost with a master that died. Launch it again, under a
		// new task ID (the master keeps the lost one until its update
		// is acknowledged, and Mesos refuses a duplicate), without
		// counting a failure the job never had.
		r.Lost++
		f.enqueueLocked(name, r)
		f.saveLocked()
		return
	case r.Attempts-r.Lost <= js.Job.Retries:
		f.enqueueLocked(name, r)
		f.saveLocked()
		return
	default:
		r.State = runFailed
	}
	r.Ended = now
	f.log.Info("run ended", "job", name, "run", r.Number, "state", r.State, "attempts", r.Attempts, "status", r.Message)
	if r.State == runSucceeded {
		f.parentSucceededLocked(name, now)
	}
	if why := js.Pending; why != "" {
		js.Pending = ""
		f.triggerLocked(name, why, now)
	}
	f.saveLocked()
}

// parentSucceededLocked runs the children whose parents have all
// succeeded since their last run. f.mu must be held.
func (f *framework) parentSucceededLocked(parent string, now time.Time) {
	for name, js := range f.st.Jobs {
		if !slices.Contains(js.Job.Parents, parent) {
			continue
		}
		if js.ParentsDone == nil {
			js.ParentsDone = map[string]bool{}
		}
		js.ParentsDone[parent] = true
		all := true
		for _, p := range js.Job.Parents {
			all = all && js.ParentsDone[p]
		}
		if all {
			js.ParentsDone = nil
			f.triggerLocked(name, "parents", now)
		}
	}
}

// reconcile asks the master for the state of every task the framework
// may have launched, so that runs under way when it stopped are settled.
func (f *framework) reconcile(ctx context.Context) error {
	f.mu.Lock()
	var tasks []api.ReconcileTask
	for _, js := range f.st.Jobs {
		if r := js.current(); r != nil && r.TaskID != "" {
			rt := api.ReconcileTask{TaskID: api.TaskID{Value: r.TaskID}}
			if r.AgentID != "" {
				rt.AgentID = &api.AgentID{Value: r.AgentID}
			}
			tasks = append(tasks, rt)
		}
	}
	f.mu.Unlock()
	if len(tasks) == 0 {
		return nil
	}
	return f.client.Reconcile(ctx, tasks...)
}

// subscribed remembers the framework ID for the next start.
func (f *framework) subscribed(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.FrameworkID != id {
		f.st.FrameworkID = id
		f.saveLocked()
	}
}

// steer keeps the framework's offers flowing while tasks wait and
// suppressed otherwise. One goroutine makes these calls, in order, and
// reads the queue again after each, so the last call always matches the
// queue.
func (f *framework) steer(ctx context.Context) {
	suppressed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		want := len(f.queue) > 0
		f.mu.Unlock()
		var err error
		switch {
		case want && suppressed:
			err = f.client.Revive(ctx)
		case !want && !suppressed:
			err = f.client.Suppress(ctx)
		default:
			continue
		}
		if err != nil {
			// Not subscribed right now (the SDK re-subscribes with
			// the suppression it last confirmed): try again shortly.
			f.log.Debug("steer offers", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			f.poke()
			continue
		}
		suppressed = !want
		f.poke()
	}
}

// run drives the framework until ctx ends.
func (f *framework) run(ctx context.Context, master string, failover time.Duration) error {
	f.mu.Lock()
	info := api.FrameworkInfo{Name: "jobs"}
	if f.st.FrameworkID != "" {
		info.ID = &api.FrameworkID{Value: f.st.FrameworkID}
	}
	f.mu.Unlock()
	cfg := scheduler.Config{
		Masters: strings.Split(master, ","), Framework: info, FailoverTimeout: failover, Logger: f.log,
		Disconnected: func(error) { f.poke() },
	}
	if err := cfg.FromEnv(os.Getenv); err != nil { // credentials and TLS as the mezzo CLI takes them
		return err
	}
	f.client = scheduler.New(cfg)
	go f.steer(ctx)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				f.tick(now)
			}
		}
	}()
	return f.client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventSubscribed:
			f.subscribed(ev.Subscribed.FrameworkID.Value)
			f.poke()
			if err := f.reconcile(ctx); err != nil {
				f.log.Warn("reconcile", "err", err) // the SDK reconciles implicitly too; the next subscription asks again
			}
		case api.EventOffers:
			return f.offers(ctx, ev.Offers.Offers)
		case api.EventUpdate:
			f.update(ev.Update.Status, time.Now())
		}
		return nil
	})
}
