// Package executor is the client an executor uses to talk to its agent
// over the v1 Executor HTTP API: it subscribes, delivers the agent's
// events (LAUNCH, KILL, SHUTDOWN, ...) to a handler, sends status updates
// and messages, and keeps the subscription alive across agent restarts
// without losing an update. Mezzo's own executor (`mezzo executor`) is
// built on it, and so can a framework's custom executor.
//
// # A tour
//
// An agent starts an executor with its address and the executor's
// identity in the environment; ConfigFromEnv reads them (MESOS_* names,
// with MEZZO_* ones taking precedence). The executor is then a Handler:
//
//	cfg, err := executor.ConfigFromEnv(os.Getenv)
//	if err != nil {
//		log.Fatal(err)
//	}
//	c := executor.New(cfg)
//	err = c.Run(ctx, func(ctx context.Context, ev *api.ExecutorEvent) error {
//		switch ev.Type {
//		case api.ExecutorEventLaunch:
//			t := ev.Launch.Task
//			go func() {
//				c.Update(ctx, api.TaskStatus{TaskID: t.TaskID, State: api.TaskRunning})
//				// ... run the task ...
//				c.Update(ctx, api.TaskStatus{TaskID: t.TaskID, State: api.TaskFinished})
//			}()
//		case api.ExecutorEventKill:
//			// Stop ev.Kill.TaskID, then send TASK_KILLED.
//		case api.ExecutorEventShutdown:
//			// Kill every task, send TASK_KILLED for each, and return
//			// within Config.ShutdownGracePeriod: Run returns ErrShutdown
//			// then anyway.
//		}
//		return nil
//	})
//
// # Reliable updates
//
// Update stamps a status with a fresh UUID and keeps it until the agent
// names that UUID in an ACKNOWLEDGED event. The client also remembers
// every task a LAUNCH or LAUNCH_GROUP event brought to the handler until
// the agent acknowledges its terminal update. When the connection drops (the agent
// restarted, say), Run subscribes again with backoff, for up to
// Config.RecoveryTimeout, and its SUBSCRIBE lists both — the
// unacknowledged_tasks and unacknowledged_updates of the protocol — so
// that the agent rebuilds its view and forwards the updates it never
// recorded. Updates made while disconnected return an error wrapping
// ErrNotConnected but are kept and go out with the next subscription; an
// executor never needs to send an update twice. Unacknowledged tells an
// executor when all its updates are safe, and so when it may exit.
//
// A Mezzo agent takes several updates in one UPDATE call (a Mezzo
// extension it offers in SUBSCRIBED): the updates an executor makes while
// a call is in flight then go out together in the next, which halves
// what a busy executor's updates cost it and its agent. A quiet
// executor's update still goes out alone and at once, and each Update
// still returns once the agent has its update.
//
// Mesos lists in unacknowledged_tasks only the tasks with no acknowledged
// update at all; this client lists every task whose terminal update is
// not acknowledged, a superset that a Mesos agent accepts as well, and
// that Mezzo's agent needs: it reports lost a task it sent that the
// listing leaves out. Each task is listed without its data, which the
// agent does not need again, so that tasks carrying big data do not make
// a SUBSCRIBE larger than the 16 MiB a call may carry.
//
// # Concurrency
//
// A Client is safe for concurrent use: Update and Message may be called
// from the handler or from any other goroutine, while Run is running or
// not. Run itself may run once at a time. The handler is called on Run's
// goroutine, one event at a time, in the order the agent sent them. The
// client records an acknowledgement as it arrives, and a launch just
// before the handler gets it: a task whose LAUNCH was read but never
// handled, because the subscription ended first, is not listed, and the
// agent reports it lost rather than wait for it.
package executor
