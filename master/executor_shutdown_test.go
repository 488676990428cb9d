package master

import (
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// idleExecutor launches task t under the custom executor x on the agent of
// fw's next offer, finishes it and acknowledges the update, leaving x
// running with no task the master knows of. It returns the agent the
// offer named, which must be one of agents.
func idleExecutor(t *testing.T, fw *testFramework, agents ...*testAgent) *testAgent {
	t.Helper()
	o := fw.offer()
	var ag *testAgent
	for _, a := range agents {
		if a.id == o.AgentID.Value {
			ag = a
		}
	}
	if ag == nil {
		t.Fatalf("offer from unknown agent %s", o.AgentID.Value)
	}
	fw.mustCall(launchUnder(o, "t", 0.5, customExecutor(0.1)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	ag.send(fw.id, "t", api.TaskFinished, 1)
	st := fw.update("t")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	return ag
}

// TestRemovedFrameworkShutsDownOnEveryAgent checks that removing a
// framework tells every connected agent to shut its executors down, as
// Mesos does, not only the agents that run its tasks: an idle custom
// executor would otherwise run forever.
func TestRemovedFrameworkShutsDownOnEveryAgent(t *testing.T) {
	tests := []struct {
		name   string
		info   api.FrameworkInfo
		remove func(fw *testFramework)
	}{
		{"teardown", api.FrameworkInfo{User: "u", Name: "f"}, func(fw *testFramework) {
			fw.mustCall(api.Call{Type: api.CallTeardown})
		}},
		{"failover timeout", api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 0.05}, func(fw *testFramework) {
			fw.resp.Body.Close() // the scheduler goes away and does not come back
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			agents := []*testAgent{tm.agent(t, "cpus:2;mem:1024"), tm.agent(t, "cpus:2;mem:1024")}
			fw := tm.subscribe(t, tt.info)
			idleExecutor(t, fw, agents...)
			tt.remove(fw)
			for _, ag := range agents {
				ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework })
				if ev.ShutdownFramework.FrameworkID.Value != fw.id {
					t.Fatalf("agent %s told %+v, want framework %s", ag.id, ev.ShutdownFramework, fw.id)
				}
			}
		})
	}
}

// TestShutdownCallShutsExecutorDown checks that SHUTDOWN sends the agent
// SHUTDOWN_EXECUTOR for the calling framework's executor, whether it has
// live tasks or none, and no KILL: the executor's shutdown ends its tasks.
func TestShutdownCallShutsExecutorDown(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	idleExecutor(t, fw, ag)
	shutdown := func() {
		t.Helper()
		fw.mustCall(api.Call{Type: api.CallShutdown, Shutdown: &api.Shutdown{
			ExecutorID: api.ExecutorID{Value: "x"}, AgentID: api.AgentID{Value: ag.id}}})
		// A MESSAGE after it marks where the events SHUTDOWN caused end.
		fw.mustCall(api.Call{Type: api.CallMessage, Message: &api.FrameworkMessage{
			AgentID: api.AgentID{Value: ag.id}, ExecutorID: api.ExecutorID{Value: "x"}, Data: []byte("end")}})
		ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type != api.AgentEventHeartbeat })
		if ev.Type != api.AgentEventShutdownExecutor || *ev.ShutdownExecutor != (api.AgentShutdownExecutor{
			FrameworkID: api.FrameworkID{Value: fw.id}, ExecutorID: api.ExecutorID{Value: "x"}}) {
			t.Fatalf("SHUTDOWN sent %+v, want SHUTDOWN_EXECUTOR of x for %s", ev, fw.id)
		}
		if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type != api.AgentEventHeartbeat }); ev.Type != api.AgentEventMessage {
			t.Fatalf("after SHUTDOWN_EXECUTOR the agent got %+v, want nothing before the MESSAGE", ev)
		}
	}
	shutdown() // x has no live task

	o := fw.offer()
	fw.mustCall(launchUnder(o, "live", 0.5, customExecutor(0.1)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	shutdown() // x has a live task
}
