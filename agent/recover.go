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
		r.collectable = r.endedOnDisk()
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
			if t.state != api.TaskRunning {
				continue
			}
			t.watched = true
			a.watchCPU(r, t) // counted from the restart: lenient
			if t.health.Killed {
				// Its health check asked for its kill before the restart,
				// and it still ran: the KILL may not have reached the
				// executor, which takes a second KILL of a task it is
				// killing as the same kill.
				a.send(r, api.ExecutorEvent{Type: api.ExecutorEventKill, Kill: &api.ExecutorKill{TaskID: t.info.TaskID}})
				a.escalateKill(r, t, nil)
				continue
			}
			// Its checks started with its TASK_RUNNING, which came before
			// the restart and will not come again; they resume where they
			// stood (health.Standing).
			t.stopChecks = a.startChecks(r, t)
		}
		// With when their checks began, for a task whose record had none
		// (an agent.db written before health standings were kept), so
		// that another restart does not begin a grace period again.
		a.checkpoint(r)
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

// runFromRecord rebuilds an executor from its checkpoint. A task whose
// LAUNCH was not recorded as sent is unsure: that it was sent is written
// lazily, so the executor may run it or may never have had it, and its
// preparation (fetch, sandbox, owner, cgroup) may have been cut short.
// The executor's first subscription says which (settleUnsure).
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
		t := &execTask{index: rt.Index, info: rt.Info, dir: rt.Dir, state: rt.State, group: rt.Group,
			queued: rt.Sent, sent: rt.Sent, unsure: !rt.Sent, need: a.needOf(rt.Info)}
		if rt.Health != nil {
			t.health = *rt.Health
			// Its health check asked for its kill before the restart: its
			// end, whenever it comes, says so (annotate), and its checks
			// stay paused, whatever its state (KILLING, say).
			t.healthKilled, t.killing = t.health.Killed, t.health.Killed
		}
		t.checkStatus = rt.CheckStatus
		r.tasks[id] = t
		r.need.add(t.need)
		if t.need.wasm {
			r.need.setModuleCost(t.need.module, a.modules.compileCost(t.need.module))
		}
		r.allTasks = append(r.allTasks, id)
	}
	return r
}

// settleUnsure decides, at a recovered executor's first subscription,
// what became of its unsure tasks (runFromRecord): one the executor lists
// was sent, and is killed now if a kill came meanwhile; one it does not
// list never reached it, and is reported killed if a kill came, or else
// returned, in launch order, to be prepared again and launched
// (relaunch). It returns the events to send once the executor is
// subscribed and the tasks to report killed. a.mu must be held.
func (a *Agent) settleUnsure(run *executorRun, listed map[string]bool) (events []api.ExecutorEvent, relaunch, killed []*execTask) {
	for _, id := range run.allTasks {
		t := run.tasks[id]
		if t == nil || !t.unsure {
			continue
		}
		t.unsure = false
		switch {
		case listed[id]:
			t.queued, t.sent = true, true
			run.touch(t)
			if t.killAsked {
				events = append(events, api.ExecutorEvent{Type: api.ExecutorEventKill,
					Kill: &api.ExecutorKill{TaskID: t.info.TaskID, KillPolicy: t.killPolicy}})
				t.pauseChecks()
				a.escalateKill(run, t, t.killPolicy)
			}
		case t.killAsked:
			run.remove(t)
			delete(a.taskIndex, taskKey{run.key.framework, id})
			run.touch(t)
			killed = append(killed, t)
		default:
			relaunch = append(relaunch, t)
		}
	}
	if len(killed) > 0 {
		a.queueResize(run)
	}
	return events, relaunch, killed
}

// relaunch prepares again, and launches, recovered tasks whose LAUNCH
// never reached their executor (settleUnsure): the agent may have died
// before their fetch or sandbox was done. Fetches and sandboxes are made
// so that doing them twice is harmless. A group goes out as a group, as
// it was launched; tasks launched alone go out one by one. The launches
// take their place in the executor's line of launches (launchTasks).
// They wait for the agent to have subscribed to a master, which a
// module not yet fetched comes from: a restarted agent subscribes only
// once its recovered executors have (awaitRecoveredExecutors), so at this
// executor's first subscription it usually has not. a.mu must be held.
func (a *Agent) relaunch(r *executorRun, tasks []*execTask) {
	if len(tasks) == 0 {
		return
	}
	var batches [][]*execTask // tasks alone first, then each group
	byGroup := map[int]int{0: 0}
	batches = append(batches, nil)
	for _, t := range tasks {
		i, ok := byGroup[t.group]
		if !ok {
			i = len(batches)
			byGroup[t.group] = i
			batches = append(batches, nil)
		}
		batches[i] = append(batches[i], t)
	}
	a.log.Info("preparing again the launches a recovered executor never got", "framework", r.key.framework,
		"executor", r.key.executor, "tasks", len(tasks))
	a.inLine(r, func(tn *turn) {
		select {
		case <-a.registered:
		case <-a.stopCtx.Done():
			return // the agent stops: its executors are shut down, their tasks reported
		}
		for i, batch := range batches {
			if len(batch) > 0 {
				a.prepare(r, batch, i > 0, tn, nil)
			}
		}
	})
}

// forgetRecovered reports the tasks of an executor found dead on
// recovery and forgets it.
func (a *Agent) forgetRecovered(r *executorRun, msg string) {
	a.log.Info("executor gone after restart", "framework", r.key.framework, "executor", r.key.executor, "tasks", len(r.tasks))
	// It ended while the agent was down, when is not known: its sandbox
	// is kept Config.SandboxGCDelay from now, the latest it can have
	// been (gc.go).
	if err := markEnded(r.rec.Dir, time.Now()); err != nil {
		a.log.Warn("executor's sandbox is counted from its last change", "dir", r.rec.Dir, "err", err)
	}
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
