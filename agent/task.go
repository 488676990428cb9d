package agent

import (
	"fmt"
	"os"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// The agent runs no task itself: each runs in an executor process (see
// executors.go and RATIONALE.md, "Why are executors separate
// processes?"). A command or Wasm task launched alone gets an executor of
// its own, named after the task; a task group runs in the executor its
// ExecutorInfo names.

// launch hands the tasks of a LAUNCH event to their executors, starting
// those that do not run yet.
func (a *Agent) launch(l *api.AgentLaunch) {
	fw := ""
	if l.FrameworkInfo.ID != nil {
		fw = l.FrameworkInfo.ID.Value
	}
	if l.TaskGroup != nil && l.Executor != nil {
		a.launchTasks(fw, l.FrameworkInfo, *l.Executor, l.TaskGroup.Tasks, true)
		return
	}
	for _, ti := range l.Tasks {
		info := api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: ti.TaskID.Value}, FrameworkID: &api.FrameworkID{Value: fw}}
		if ti.Executor != nil {
			info = *ti.Executor
		}
		a.launchTasks(fw, l.FrameworkInfo, info, []api.TaskInfo{ti}, false)
	}
}

// launchTasks records tasks under their executor and prepares their
// launch on a goroutine of its own: a task the agent already runs is
// ignored, so that nothing runs twice.
func (a *Agent) launchTasks(fw string, fwInfo api.FrameworkInfo, info api.ExecutorInfo, infos []api.TaskInfo, grouped bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := execKey{fw, info.ExecutorID.Value}
	r := a.executors[key]
	var fresh []*execTask
	for _, ti := range infos {
		if _, dup := a.taskIndex[taskKey{fw, ti.TaskID.Value}]; dup {
			a.log.Warn("ignoring duplicate launch", "framework", fw, "task", ti.TaskID.Value)
			continue
		}
		fresh = append(fresh, &execTask{info: ti, state: api.TaskStaging})
	}
	if len(fresh) == 0 {
		return
	}
	if a.stopping || (r != nil && r.shutdown) {
		for _, t := range fresh {
			a.report(fw, api.TaskStatus{TaskID: t.info.TaskID, State: api.TaskFailed, Source: api.SourceAgent,
				Reason: api.ReasonContainerLaunchFailed, Message: "The executor or the agent is shutting down"})
		}
		return
	}
	if r == nil {
		r = a.newRun(fw, fwInfo, info)
		a.executors[key] = r
	}
	for _, t := range fresh {
		id := t.info.TaskID.Value
		t.dir = r.taskDir(id, grouped)
		r.tasks[id] = t
		r.allTasks = append(r.allTasks, id)
		a.taskIndex[taskKey{fw, id}] = r
	}
	a.checkpoint(r)
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		a.prepare(r, fresh, grouped)
	}()
}

// prepare fetches what the tasks need (their URIs, their Wasm modules)
// before their LAUNCH goes to the executor, starting the executor if
// needed. A group fails as a whole.
func (a *Agent) prepare(r *executorRun, tasks []*execTask, grouped bool) {
	r.prepMu.Lock()
	defer r.prepMu.Unlock()
	master := a.masterURL()
	var err error
	for _, t := range tasks {
		if err = a.fetchFor(master, t); err != nil {
			err = fmt.Errorf("task %s: %w", t.info.TaskID.Value, err)
			break
		}
	}
	if err == nil {
		err = a.startExecutor(r)
	}
	a.mu.Lock()
	var live []*execTask
	for _, t := range tasks {
		if r.tasks[t.info.TaskID.Value] == t {
			live = append(live, t)
		}
	}
	if err != nil || len(live) == 0 {
		for _, t := range live {
			delete(r.tasks, t.info.TaskID.Value)
			delete(a.taskIndex, taskKey{r.key.framework, t.info.TaskID.Value})
		}
		a.retireIfIdle(r)
		a.checkpoint(r)
		a.mu.Unlock()
		for _, t := range live {
			a.reportFor(r, t, api.TaskStatus{State: api.TaskFailed, Source: api.SourceAgent,
				Reason: api.ReasonContainerLaunchFailed, Message: err.Error()})
		}
		return
	}
	for _, t := range live {
		t.queued = true
	}
	r.launched = true
	if grouped {
		group := api.TaskGroupInfo{}
		for _, t := range live {
			group.Tasks = append(group.Tasks, t.info)
		}
		a.send(r, api.ExecutorEvent{Type: api.ExecutorEventLaunchGroup, LaunchGroup: &api.ExecutorLaunchGroup{TaskGroup: group}})
	} else {
		for _, t := range live {
			a.send(r, api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: t.info}})
		}
	}
	a.checkpoint(r)
	a.mu.Unlock()
}

// retireIfIdle shuts down an executor that has no task left and was
// never sent one: it would otherwise wait for a launch forever (one that
// ran tasks exits by itself once they have ended). a.mu must be held.
func (a *Agent) retireIfIdle(r *executorRun) {
	if len(r.tasks) == 0 && !r.launched {
		a.shutdownRun(r)
	}
}

// fetchFor puts what a task needs in place: its Wasm module in the module
// directory, its command's URIs (a Wasm task's too) in its sandbox.
func (a *Agent) fetchFor(master string, t *execTask) error {
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if t.info.IsWasm() {
		if err := a.modules.get(a.stopCtx, master, t.info.Container.Wasm.SHA256); err != nil {
			return err
		}
	}
	if t.info.Command != nil {
		if err := a.fetcher.FetchAll(a.stopCtx, t.info.Command.URIs, t.dir); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
	}
	return nil
}

func (a *Agent) masterURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.master
}

// report checkpoints and queues a status update the agent makes. One that
// cannot be checkpointed is logged as lost: sending it without the
// checkpoint would break the promise that an update survives a restart.
func (a *Agent) report(framework string, st api.TaskStatus) {
	if err := a.updates.add(framework, st, time.Now()); err != nil {
		a.log.Error("status update lost", "task", st.TaskID.Value, "state", st.State, "err", err)
	}
}

// killTask passes a kill from the master to the task's executor. A task
// still being prepared is killed at once; a task the agent does not run
// is reported lost, so the framework learns it is gone.
func (a *Agent) killTask(k *api.AgentKill) {
	key := taskKey{k.FrameworkID.Value, k.TaskID.Value}
	a.mu.Lock()
	r := a.taskIndex[key]
	if r == nil {
		a.mu.Unlock()
		a.report(k.FrameworkID.Value, api.TaskStatus{
			TaskID: k.TaskID, State: api.TaskLost, Source: api.SourceAgent,
			Reason: api.ReasonTaskUnknown, Message: "Cannot kill a task the agent does not run",
		})
		return
	}
	t := r.tasks[k.TaskID.Value]
	if !t.queued {
		delete(r.tasks, k.TaskID.Value)
		delete(a.taskIndex, key)
		a.retireIfIdle(r)
		a.checkpoint(r)
		a.mu.Unlock()
		a.reportFor(r, t, api.TaskStatus{State: api.TaskKilled, Source: api.SourceAgent,
			Reason: api.ReasonTaskKilledDuringLaunch, Message: "Task killed before it was launched"})
		return
	}
	a.send(r, api.ExecutorEvent{Type: api.ExecutorEventKill, Kill: &api.ExecutorKill{TaskID: k.TaskID, KillPolicy: k.KillPolicy}})
	a.mu.Unlock()
}

// shutdownFramework shuts down every executor of a framework.
func (a *Agent) shutdownFramework(fw string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, r := range a.executors {
		if key.framework == fw {
			a.shutdownRun(r)
		}
	}
}

// frameworkMessage passes a framework's message to its executor; as in
// Mesos, a message for an executor the agent does not run is dropped.
func (a *Agent) frameworkMessage(m *api.AgentMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.executors[execKey{m.FrameworkID.Value, m.ExecutorID.Value}]
	if r == nil || r.exited {
		a.log.Info("dropping a framework message: no such executor", "framework", m.FrameworkID.Value, "executor", m.ExecutorID.Value)
		return
	}
	a.send(r, api.ExecutorEvent{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: m.Data}})
}
