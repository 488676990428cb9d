package agent

import (
	"context"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// startChecks starts a running task's health check and general check, if
// it has them, and returns what stops them. The agent runs them beside the
// executor, in the task's sandbox. A health change becomes a TASK_RUNNING
// update carrying healthy (Mesos's REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
// a general check's result becomes one carrying check_status; a task that
// fails its health check too often is killed through its executor, under
// its kill policy. a.mu must be held; the checks report on goroutines of
// their own. COMMAND checks run as the task's user (user.go), in the
// executor's cgroup.
func (a *Agent) startChecks(r *executorRun, t *execTask) (stop func()) {
	if t.info.HealthCheck == nil && t.info.Check == nil {
		return func() {}
	}
	env := api.TaskEnvironment(r.key.framework, r.key.executor, a.agentID, t.info.TaskID.Value, t.dir, commandEnv(&t.info))
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = sandbox.DefaultPath
	}
	target := health.Target{Dir: t.dir, Env: env}
	if r.cg != nil {
		target.Start = r.cg.Start
	}
	if t.info.RunsCommandChecks() {
		// As the task's user (user.go); prepare checked that it exists.
		u, err := a.userOfTask(&r.rec.FrameworkInfo, &t.info)
		if err != nil {
			a.log.Warn("checks not started", "task", t.info.TaskID.Value, "err", err)
			return func() {}
		}
		target.User = u
	}
	var checkers []*health.Checker
	if hc := t.info.HealthCheck; hc != nil {
		if t.health.Since.IsZero() {
			// Kept with the task's record from its next checkpoint on, so
			// that its grace period does not begin again at a restart.
			t.health.Since = time.Now()
		}
		c, err := health.Start(context.Background(), hc, target, t.health, func(res health.Result) { a.healthChanged(r, t, res) })
		if err != nil {
			a.log.Warn("health check not started", "task", t.info.TaskID.Value, "err", err)
		} else {
			checkers = append(checkers, c)
		}
	}
	if ci := t.info.Check; ci != nil {
		c, err := health.StartCheck(context.Background(), ci, target, t.checkStatus, func(res health.Result) { a.healthChanged(r, t, res) })
		if err != nil {
			a.log.Warn("check not started", "task", t.info.TaskID.Value, "err", err)
		} else {
			checkers = append(checkers, c)
		}
	}
	return func() {
		for _, c := range checkers {
			c.Stop()
		}
	}
}

// healthChanged reports a check result, on the checker's goroutine, and
// asks the executor to kill a task that failed its health check.
func (a *Agent) healthChanged(r *executorRun, t *execTask, res health.Result) {
	st := api.TaskStatus{State: api.TaskRunning, Reason: res.Reason(), Message: res.Message, CheckStatus: res.Check}
	if res.Check == nil {
		st.Healthy = api.Ptr(res.Healthy)
	}
	st.TaskID = t.info.TaskID
	st.ExecutorID = &api.ExecutorID{Value: r.key.executor}
	st.ContainerStatus = &api.ContainerStatus{ContainerID: &api.ContainerID{Value: r.rec.Container}}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.tasks[t.info.TaskID.Value] != t || t.state != api.TaskRunning || t.killing {
		return
	}
	// Kept in agent.db, for the checks to resume from after a restart. The
	// kill below may go out before the write is on disk: an agent that dies
	// in between resumes from the standing before, and asks for the kill
	// again at the next failure.
	if res.Check != nil {
		t.checkStatus = res.Check
	} else {
		t.health = res.Standing
	}
	r.touch(t)
	a.checkpoint(r)
	a.report(r.key.framework, st)
	if res.Kill {
		a.log.Info("killing a task that failed its health check", "task", t.info.TaskID.Value)
		a.send(r, api.ExecutorEvent{Type: api.ExecutorEventKill, Kill: &api.ExecutorKill{TaskID: t.info.TaskID}})
		t.healthKilled = true
		t.pauseChecks()
		a.escalateKill(r, t, nil)
	}
}

// annotate adds to an update of the task what Mesos's executors add from
// its checks: healthy false on the terminal update of a task its health
// check killed, so that the framework reads from the update itself why
// the task ended (and its message says so); and, for a task with a
// general check, the check's latest status on every update — an empty
// one of the check's type until the check has a result — so that no
// update says less than the last.
func (t *execTask) annotate(st *api.TaskStatus) {
	if t.healthKilled && st.State.IsTerminal() && st.Healthy == nil {
		st.Healthy = api.Ptr(false)
	}
	if t.healthKilled && st.State == api.TaskKilled && strings.HasPrefix(st.Message, "Task killed") {
		// Mesos sets no reason for this kill (healthy false says it), so
		// the message tells a person reading it what a kill by the
		// framework would not.
		st.Message = "Task killed after failing its health check" + strings.TrimPrefix(st.Message, "Task killed")
	}
	if c := t.info.Check; c != nil && st.CheckStatus == nil {
		st.CheckStatus = t.checkStatus
		if st.CheckStatus == nil {
			st.CheckStatus = emptyCheckStatus(c.Type)
		}
	}
}

// emptyCheckStatus is a check's status before its first result: its
// type, with an empty payload, as Mesos sends it.
func emptyCheckStatus(typ string) *api.CheckStatusInfo {
	cs := &api.CheckStatusInfo{Type: typ}
	switch typ {
	case api.CheckTypeCommand:
		cs.Command = &api.CheckStatusCommand{}
	case api.CheckTypeHTTP:
		cs.HTTP = &api.CheckStatusHTTP{}
	case api.CheckTypeTCP:
		cs.TCP = &api.CheckStatusTCP{}
	}
	return cs
}

// pauseChecks stops a task's checks once a kill is on its way, as Mesos
// pauses them: a check that passes during the kill's grace period must
// not report the task healthy again, nor one that fails ask for another
// kill. The checks stop on a goroutine of their own, since one may be
// waiting for Agent.mu in healthChanged. a.mu must be held.
func (t *execTask) pauseChecks() {
	t.killing = true
	if stop := t.stopChecks; stop != nil {
		go stop()
	}
}

// commandEnv is the task's own environment, for checks that run commands
// beside it.
func commandEnv(ti *api.TaskInfo) *api.Environment {
	switch {
	case ti.Command != nil:
		return ti.Command.Environment
	case ti.IsWasm():
		return ti.Container.Wasm.Environment
	}
	return nil
}
