package agent

import (
	"context"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// startChecks starts a running task's health check and general check, if
// it has them, and returns what stops them. A health change becomes a
// TASK_RUNNING update carrying healthy (Mesos's
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED); a general check's result
// becomes one carrying check_status; a task that fails its health check
// too often is killed under its kill policy.
func (a *Agent) startChecks(t *runningTask) (stop func()) {
	env := a.taskEnv(t, t.dir, t.commandEnv())
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = sandbox.DefaultPath
	}
	target := health.Target{Dir: t.dir, Env: env}
	var checkers []*health.Checker
	if hc := t.info.HealthCheck; hc != nil {
		c, err := health.Start(context.Background(), hc, target, func(r health.Result) { a.healthChanged(t, r) })
		if err != nil {
			a.log.Warn("health check not started", "task", t.info.TaskID.Value, "err", err)
		} else {
			checkers = append(checkers, c)
		}
	}
	if ci := t.info.Check; ci != nil {
		c, err := health.StartCheck(context.Background(), ci, target, func(r health.Result) { a.healthChanged(t, r) })
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

// healthChanged reports a check result. It runs on the checker's
// goroutine, so a kill it asks for happens on another: stopping a checker
// from its own report would deadlock.
func (a *Agent) healthChanged(t *runningTask, r health.Result) {
	st := api.TaskStatus{State: api.TaskRunning, Reason: r.Reason(), Message: r.Message, CheckStatus: r.Check}
	if r.Check == nil {
		st.Healthy = api.Ptr(r.Healthy)
	}
	if t.currentState() != api.TaskRunning {
		return
	}
	a.queueStatus(t, st)
	if r.Kill {
		grace := a.cfg.DefaultKillGrace
		if kp := t.info.KillPolicy; kp != nil && kp.GracePeriod != nil {
			grace = time.Duration(kp.GracePeriod.Nanoseconds)
		}
		a.log.Info("killing a task that failed its health check", "task", t.info.TaskID.Value)
		go t.kill(grace)
	}
}

// commandEnv is the task's own environment, for checks that run commands
// beside it.
func (t *runningTask) commandEnv() *api.Environment {
	switch {
	case t.info.Command != nil:
		return t.info.Command.Environment
	case t.info.IsWasm():
		return t.info.Container.Wasm.Environment
	}
	return nil
}
