package agent

import (
	"fmt"
	"syscall"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// recover rebuilds the agent's executors from agent.db, as Mesos's agent
// recovers its checkpointed executors. With Config.Recover "reconnect"
// an executor whose process still runs is expected to re-subscribe (it
// has Config.ExecutorRegistrationTimeout to do so) and its tasks keep
// running: the agent re-registers with them and never launches them
// again. With "cleanup" every such process is killed. The tasks of an
// executor that is gone fail with REASON_EXECUTOR_TERMINATED. A
// surviving executor keeps its cgroup; the cgroups of the others are
// removed.
func (a *Agent) recover() error {
	recs, err := a.store.executors()
	if err != nil {
		return fmt.Errorf("recover executors: %w", err)
	}
	keep := map[string]bool{}
	defer a.sweepCgroups(keep)
	for _, rec := range recs {
		alive := rec.PID > 1 && processAlive(rec.PID, rec.StartTime)
		msg := "Executor terminated while the agent was down"
		if alive && a.cfg.Recover == RecoverCleanup {
			killAndWait(rec.PID, rec.StartTime)
			alive = false
			msg = "Executor killed by the agent on start (--recover=cleanup)"
		}
		r := a.runFromRecord(rec)
		if !alive {
			a.forgetRecovered(r, msg)
			continue
		}
		a.log.Info("recovered executor", "framework", rec.Framework, "executor", rec.ExecutorInfo.ExecutorID.Value,
			"pid", rec.PID, "tasks", len(rec.Tasks))
		a.recoverCgroup(r)
		if r.cg != nil {
			keep[r.cg.Path()] = true
		}
		a.mu.Lock()
		a.executors[r.key] = r
		for id := range r.tasks {
			a.taskIndex[taskKey{r.key.framework, id}] = r
		}
		for _, t := range r.tasks {
			if t.state == api.TaskRunning {
				t.watched = true
				a.watchCPU(r, t) // counted from the restart: lenient
				// Its checks started with its TASK_RUNNING, which came
				// before the restart and will not come again.
				t.stopChecks = a.startChecks(r, t)
			}
		}
		if rec.Shared {
			a.shared[r.key.framework] = r
			a.retireIfIdle(r)
		}
		r.regTimer = time.AfterFunc(a.cfg.ExecutorRegistrationTimeout, func() { a.registrationTimedOut(r) })
		a.mu.Unlock()
		a.execWG.Add(1)
		go a.watchRecovered(r)
	}
	return nil
}

// runFromRecord rebuilds an executor from its checkpoint. Tasks whose
// LAUNCH was queued but not sent before the agent died are sent when the
// executor re-subscribes; tasks still being prepared then are failed by
// the caller as part of the executor's tasks if it is gone, and prepared
// again otherwise.
func (a *Agent) runFromRecord(rec executorRecord) *executorRun {
	r := &executorRun{
		key:        execKey{rec.Framework, rec.ExecutorInfo.ExecutorID.Value},
		rec:        rec,
		tasks:      map[string]*execTask{},
		dirty:      map[string]int{},
		recDirty:   true, // rewritten as this agent writes it
		started:    true,
		recovered:  true,
		launched:   true,
		exitReason: api.ReasonExecutorTerminated,
		done:       make(chan struct{}),
		need:       newExecNeed(&rec.ExecutorInfo),
	}
	for _, rt := range rec.Tasks {
		id := rt.Info.TaskID.Value
		r.nextIndex = max(r.nextIndex, rt.Index+1)
		r.dirty[id] = rt.Index // forgotten at the next checkpoint if ended
		if a.updates.hasTerminal(rec.Framework, id) {
			continue // ended: its terminal update was checkpointed
		}
		t := &execTask{index: rt.Index, info: rt.Info, dir: rt.Dir, state: rt.State, queued: true, sent: rt.Sent, need: a.needOf(rt.Info)}
		r.tasks[id] = t
		r.need.add(t.need)
		if t.need.wasm {
			r.need.setModuleBytes(t.need.module, a.modules.size(t.need.module))
		}
		r.allTasks = append(r.allTasks, id)
		if !rt.Sent {
			// Its launch never reached the executor; it waits for the
			// executor's subscription, as it did before the restart
			// (its fetch had completed if it was queued, and is cheap
			// to redo otherwise: fetches are idempotent).
			r.pending = append(r.pending, api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: rt.Info}})
		}
	}
	return r
}

// forgetRecovered reports the tasks of an executor found dead on
// recovery and forgets it.
func (a *Agent) forgetRecovered(r *executorRun, msg string) {
	a.log.Info("executor gone after restart", "framework", r.key.framework, "executor", r.key.executor, "tasks", len(r.tasks))
	for _, id := range r.allTasks {
		a.reportFor(r, r.tasks[id], api.TaskStatus{State: api.TaskFailed, Source: api.SourceAgent,
			Reason: api.ReasonExecutorTerminated, Message: msg})
	}
	if err := a.store.deleteExecutor(r.key.framework, r.key.executor); err != nil {
		a.log.Error("forget executor", "executor", r.key.executor, "err", err)
	}
	var all []string
	for _, rt := range r.rec.Tasks {
		all = append(all, rt.Info.TaskID.Value)
	}
	if err := a.store.forgetSeen(r.key.framework, all); err != nil {
		a.log.Error("forget executor's updates", "executor", r.key.executor, "err", err)
	}
	killSession(r.rec.PID, r.rec.StartTime)
	close(r.done)
}

// killAndWait kills a process group and waits, briefly, for its leader to
// be gone.
func killAndWait(pid int, start uint64) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	killSession(pid, start)
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid, start) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}
