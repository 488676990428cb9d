// Package health runs a task's Mesos health check or general check and
// reports each change of its result, so that the executor can send
// TASK_RUNNING updates carrying healthy or check_status.
//
// A tour:
//
//	t := health.Target{Dir: sandboxDir, Env: taskEnv}
//	c, err := health.Start(ctx, task.HealthCheck, t, health.Standing{}, func(r health.Result) {
//		send(api.TaskStatus{State: api.TaskRunning, Healthy: &r.Healthy,
//			Reason: r.Reason(), Message: r.Message})
//		if r.Kill {
//			go killTask(task, killPolicy) // never Stop from inside report
//		}
//	})
//	...
//	c.Stop() // when the task ends
//
// A report's Standing, passed to Start again, resumes checking where it
// was: the agent keeps it in agent.db, so that a restart neither grants a
// failing task a new grace period nor reports its health twice.
// StartCheck resumes likewise from the last check_status reported.
//
// Start runs an api.HealthCheck with Mesos's semantics (see
// src/checks/health_checker.cpp and docs/health-checks.md): the first check
// after delay_seconds, then one every interval_seconds after the previous
// one ends, each limited to timeout_seconds (zero: no limit). HTTP is
// healthy for a status in 200–399, or in statuses when given; TCP when a
// connection opens; COMMAND when it exits 0. Failures within
// grace_period_seconds of Start are ignored until the first success, and
// after consecutive_failures failures outside it the report has Kill set,
// once; the checker keeps checking until it is stopped, as Mesos's does.
// Unset timing fields take Mesos's defaults: 15 s delay, 10 s interval,
// 20 s timeout, 3 failures, 10 s grace period.
//
// StartCheck runs an api.CheckInfo, a general check: it reports the
// check_status whenever it changes and never asks for a kill.
//
// COMMAND checks run in the task's sandbox with the task's environment, in
// a process group of their own that is killed at the timeout or at Stop.
//
// Concurrency: report is called from the checker's own goroutine, one call
// at a time; it must not call Stop on its own checker, which waits for that
// goroutine. Stop may be called from any other goroutine, any number of
// times.
package health
