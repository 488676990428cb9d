package master

import (
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// listedExecutors is what GET_EXECUTORS answers, as "framework/executor
// on agent" strings.
func listedExecutors(t *testing.T, tm *testMaster) []string {
	t.Helper()
	code, resp, body := tm.operator(t, api.OperatorCall{Type: api.OperatorGetExecutors})
	if code != 200 || resp.GetExecutors == nil {
		t.Fatalf("GET_EXECUTORS: %d %s", code, body)
	}
	var out []string
	for _, e := range resp.GetExecutors.Executors {
		out = append(out, e.ExecutorInfo.FrameworkID.Value+"/"+e.ExecutorInfo.ExecutorID.Value+" on "+e.AgentID.Value)
	}
	return out
}

// TestIdleExecutorHoldsItsResources leaves a custom executor running with
// no task (0.1 cpu of a 2-cpu agent) and checks, in each way the master
// can learn that it ended or still runs, what the master counts as used,
// what GET_EXECUTORS lists and what the framework hears: as in Mesos, an
// executor holds its resources until it exits, not until its last task
// ends.
func TestIdleExecutorHoldsItsResources(t *testing.T) {
	tests := []struct {
		name string
		// then acts on the idle executor x of fw on ag, and returns the
		// agent to go on with.
		then     func(t *testing.T, tm *testMaster, ag *testAgent, fw *testFramework) *testAgent
		used     float64 // cpus the master counts as used after then
		listed   bool    // GET_EXECUTORS lists x
		failure  bool    // fw hears FAILURE for x
		shutdown bool    // the agent is told to shut fw down
	}{
		{"nothing heard", func(t *testing.T, _ *testMaster, ag *testAgent, _ *testFramework) *testAgent { return ag },
			0.1, true, false, false},
		{"exit reported", func(t *testing.T, _ *testMaster, ag *testAgent, fw *testFramework) *testAgent {
			ag.exited(fw.id, "x", api.Ptr(api.Int64(9)))
			return ag
		}, 0, false, true, false},
		{"agent resubscribes without it", func(t *testing.T, tm *testMaster, ag *testAgent, fw *testFramework) *testAgent {
			return tm.reregister(t, ag.id, "cpus:2;mem:1024")
		}, 0, false, false, false},
		{"agent resubscribes listing it", func(t *testing.T, tm *testMaster, ag *testAgent, fw *testFramework) *testAgent {
			return tm.reregisterWith(t, ag.id, "cpus:2;mem:1024", api.AgentSubscribe{Executors: []api.ExecutorInfo{executorOf(fw)}})
		}, 0.1, true, false, false},
		{"framework torn down", func(t *testing.T, tm *testMaster, ag *testAgent, fw *testFramework) *testAgent {
			fw.mustCall(api.Call{Type: api.CallTeardown})
			return ag
		}, 0, false, false, true},
		{"framework torn down, then the agent lists it", func(t *testing.T, tm *testMaster, ag *testAgent, fw *testFramework) *testAgent {
			fw.mustCall(api.Call{Type: api.CallTeardown})
			ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework })
			return tm.reregisterWith(t, ag.id, "cpus:2;mem:1024", api.AgentSubscribe{
				Frameworks: []api.FrameworkInfo{{ID: &api.FrameworkID{Value: fw.id}, User: "u", Name: "f"}},
				Executors:  []api.ExecutorInfo{executorOf(fw)}})
		}, 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			ag := tm.agent(t, "cpus:2;mem:1024")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			idleExecutor(t, fw, ag)
			if used := usedCPUs(tm, ag.id); used != 0.1 {
				t.Fatalf("%v cpus used with x idle, want 0.1: x's", used)
			}
			ag = tt.then(t, tm, ag, fw)
			if used := usedCPUs(tm, ag.id); used != tt.used {
				t.Errorf("%v cpus used, want %v", used, tt.used)
			}
			listed := listedExecutors(t, tm)
			want := fw.id + "/x on " + ag.id
			if got := len(listed) == 1 && listed[0] == want; got != tt.listed || !tt.listed && len(listed) > 0 {
				t.Errorf("GET_EXECUTORS lists %q; listing %q: %v, want %v", listed, want, got, tt.listed)
			}
			if tt.shutdown {
				ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework })
				if ev.ShutdownFramework.FrameworkID.Value != fw.id {
					t.Errorf("agent told %+v, want framework %s shut down", ev.ShutdownFramework, fw.id)
				}
			}
			if !tt.failure {
				return
			}
			ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventFailure })
			f := ev.Failure
			if f.AgentID == nil || f.AgentID.Value != ag.id || f.ExecutorID == nil || f.ExecutorID.Value != "x" ||
				f.Status == nil || *f.Status != 9 {
				t.Errorf("FAILURE %+v, want agent %s, executor x, status 9", f, ag.id)
			}
		})
	}
}

// executorOf is the ExecutorInfo idleExecutor launched, as its agent lists
// it.
func executorOf(fw *testFramework) api.ExecutorInfo {
	x := customExecutor(0.1)
	x.FrameworkID = &api.FrameworkID{Value: fw.id}
	return x
}

// TestExecutorExitBeforeItsTasksEnd reports an executor's exit while the
// master still counts its task running, as it may hear it first: the
// executor leaves GET_EXECUTORS and the framework hears FAILURE at once,
// but its resources go with the task's terminal update, which the agent
// sends next, not before.
func TestExecutorExitBeforeItsTasksEnd(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	fw.mustCall(launchUnder(fw.offer(), "t", 0.5, customExecutor(0.1)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	ag.send(fw.id, "t", api.TaskRunning, 1)
	ag.exited(fw.id, "x", nil)
	if ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventFailure }); ev.Failure.Status != nil {
		t.Errorf("FAILURE %+v, want no status: the agent did not know it", ev.Failure)
	}
	if listed := listedExecutors(t, tm); len(listed) != 0 {
		t.Errorf("GET_EXECUTORS lists %q after x exited", listed)
	}
	if used := usedCPUs(tm, ag.id); used != 0.6 {
		t.Fatalf("%v cpus used after x exited with t running, want 0.6: both until t's end", used)
	}
	ag.send(fw.id, "t", api.TaskFailed, 2)
	if used := usedCPUs(tm, ag.id); used != 0 {
		t.Fatalf("%v cpus used after t ended, want none", used)
	}
}

// TestAgentListsUnknownExecutor has an agent subscribe listing an
// executor the master never launched (it lost its state, or the executor's
// tasks all ended before a failover): the master counts it, so that its
// resources are not offered while it runs.
func TestAgentListsUnknownExecutor(t *testing.T) {
	tm := startMaster(t)
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	ag := tm.reregisterWith(t, "returning-agent", "cpus:2;mem:1024", api.AgentSubscribe{Executors: []api.ExecutorInfo{executorOf(fw)}})
	if used := usedCPUs(tm, ag.id); used != 0.1 {
		t.Fatalf("%v cpus used, want 0.1: the listed executor's", used)
	}
	if cpus := api.Resources(fw.offer().Resources).ScalarValue("cpus"); cpus != 1.9 {
		t.Fatalf("offered %v cpus, want 1.9", cpus)
	}
	ag.exited(fw.id, "x", api.Ptr(api.Int64(0)))
	if used := usedCPUs(tm, ag.id); used != 0 {
		t.Fatalf("%v cpus used after x exited, want none", used)
	}
}
