package master

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
			// The framework's and its role's views count x as the agent's do.
			code, resp, body := tm.operator(t, api.OperatorCall{Type: api.OperatorGetRoles})
			if code != http.StatusOK {
				t.Fatalf("GET_ROLES: %d %s", code, body)
			}
			for _, r := range resp.GetRoles.Roles {
				if got := api.Resources(r.Allocated).ScalarValue("cpus"); r.Name == "*" && got != tt.used {
					t.Errorf("GET_ROLES: role * has %v cpus allocated, want %v", got, tt.used)
				}
			}
			tm.mu.Lock()
			if f := tm.frameworks[fw.id]; f != nil {
				if got := api.Resources(tm.frameworkRecord(f).AllocatedResources).ScalarValue("cpus"); got != tt.used {
					t.Errorf("GET_FRAMEWORKS: %v cpus allocated, want %v", got, tt.used)
				}
			}
			tm.mu.Unlock()
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
	ag.exited(fw.id, "x", nil) // a report sent again: the framework hears once
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
	if ev := fw.next(func(ev api.Event) bool {
		return ev.Type == api.EventFailure || ev.Type == api.EventUpdate && ev.Update.Status.State == api.TaskFailed
	}); ev.Type == api.EventFailure {
		t.Errorf("a second FAILURE for one exit: %+v", ev.Failure)
	}
}

// TestGroupExecutorRelaunched launches a task group under the default
// executor e and a second group under e while the first runs: refused, as
// a running default executor takes no second group in Mezzo. Once the
// agent reports e's exit, even before the first group's end arrives, a
// group under e is accepted, counted as a new run of e that holds the
// resources the old one held.
func TestGroupExecutorRelaunched(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	exec := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "e"},
		Resources: []api.Resource{scalar("cpus", 0.1), scalar("mem", 32)}}
	// Offers come back between the other events: none is passed over.
	var offers []api.Offer
	next := func(keep func(api.Event) bool) api.Event {
		t.Helper()
		return fw.next(func(ev api.Event) bool {
			if ev.Type == api.EventOffers {
				offers = append(offers, ev.Offers.Offers...)
			}
			return keep(ev)
		})
	}
	group := func(task string) {
		t.Helper()
		if len(offers) == 0 {
			next(func(ev api.Event) bool { return ev.Type == api.EventOffers })
		}
		o := offers[0]
		offers = offers[1:]
		fw.mustCall(api.Call{Type: api.CallAccept, Accept: &api.Accept{OfferIDs: []api.OfferID{o.ID},
			Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))},
			Operations: []api.Operation{{Type: api.OpLaunchGroup, LaunchGroup: &api.LaunchGroup{
				Executor: exec, TaskGroup: api.TaskGroupInfo{Tasks: []api.TaskInfo{commandTask(task, o, 0.5, 64)}}}}}}})
	}
	update := func(task string) api.TaskStatus {
		t.Helper()
		return next(func(ev api.Event) bool { return ev.Type == api.EventUpdate && ev.Update.Status.TaskID.Value == task }).Update.Status
	}
	group("g1")
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	ag.send(fw.id, "g1", api.TaskRunning, 1)
	update("g1")
	group("g2")
	if st := update("g2"); st.State != api.TaskError || !strings.Contains(st.Message, "already running") {
		t.Fatalf("a second group while e runs: %+v, want TASK_ERROR, e already running", st)
	}
	ag.exited(fw.id, "e", api.Ptr(api.Int64(9)))
	next(func(ev api.Event) bool { return ev.Type == api.EventFailure })
	group("g3") // before g1's end reaches the master
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	if ev.Launch.TaskGroup == nil || ev.Launch.TaskGroup.Tasks[0].TaskID.Value != "g3" {
		t.Fatalf("agent told %+v, want g3 launched", ev.Launch)
	}
	ag.send(fw.id, "g1", api.TaskFailed, 2)
	if used := usedCPUs(tm, ag.id); used != 0.6 {
		t.Fatalf("%v cpus used with g3 running, want 0.6: g3 and e's new run", used)
	}
	if listed := listedExecutors(t, tm); len(listed) != 1 {
		t.Fatalf("GET_EXECUTORS lists %q, want e's new run", listed)
	}
}

// TestLaunchSaysItsRole checks that the resources of a task and of the
// executor it names reach the agent allocated to the offer's role, as
// Mesos's master marks them, whatever the framework sent: the agent
// reports them back so, and a master that counts them again after a
// failover charges that role.
func TestLaunchSaysItsRole(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"web"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	o := fw.offer()
	call := launchUnder(o, "t", 0.5, customExecutor(0.1))
	ti := &call.Accept.Operations[0].Launch.TaskInfos[0]
	ti.Resources = api.Resources(ti.Resources).Unallocated() // as a framework may send them
	fw.mustCall(call)
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	got := ev.Launch.Tasks[0]
	for what, res := range map[string][]api.Resource{"task": got.Resources, "executor": got.Executor.Resources} {
		if role := allocationRole(res); role != "web" || len(res) == 0 {
			t.Errorf("the %s's resources reach the agent allocated to %q, want web: %v", what, role, res)
		}
	}
}

// TestAgentListsExecutorOfUnknownFramework has an agent list an idle
// executor of a framework the master does not know (its state was lost):
// the master recovers the framework, with the principal the agent reports,
// so that an operator can see it and tear it down, which gives the
// executor's resources back.
func TestAgentListsExecutorOfUnknownFramework(t *testing.T) {
	tm := startMaster(t)
	x := customExecutor(0.5)
	x.FrameworkID = &api.FrameworkID{Value: "ghost"}
	x.Resources = api.Resources(x.Resources).Allocate("web")
	ag := tm.reregisterWith(t, "returning-agent", "cpus:2;mem:1024", api.AgentSubscribe{
		Frameworks: []api.FrameworkInfo{{ID: &api.FrameworkID{Value: "ghost"}, Name: "ghost", Principal: "ops"}},
		Executors:  []api.ExecutorInfo{x}})
	if used := usedCPUs(tm, ag.id); used != 0.5 {
		t.Fatalf("%v cpus used, want 0.5: the listed executor's", used)
	}
	tm.mu.Lock()
	f := tm.frameworks["ghost"]
	var principal string
	var roles []string
	if f != nil {
		principal, roles = f.info.Principal, f.info.Roles
	}
	tm.mu.Unlock()
	if f == nil || principal != "ops" || len(roles) != 1 || roles[0] != "web" {
		t.Fatalf("framework ghost recovered as %v (principal %q, roles %q), want recovered, ops, web", f != nil, principal, roles)
	}
	code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorTeardown,
		Teardown: &api.Teardown{FrameworkID: api.FrameworkID{Value: "ghost"}}})
	if code != http.StatusOK {
		t.Fatalf("TEARDOWN of the recovered framework: %d %s", code, body)
	}
	if used := usedCPUs(tm, ag.id); used != 0 {
		t.Fatalf("%v cpus used after the teardown, want none", used)
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

// TestUnreachableAgentHoldsNoExecutor has an agent with an idle executor
// become unreachable: its views count the executor no more (its tasks are
// lost, and what runs there is unknown), and count it again when the
// agent comes back listing it.
func TestUnreachableAgentHoldsNoExecutor(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	idleExecutor(t, fw, ag)
	ag.resp.Body.Close()
	waitUntil(t, "the agent to be unreachable", func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return tm.agents[ag.id].unreachable
	})
	if used := usedCPUs(tm, ag.id); used != 0 {
		t.Errorf("%v cpus used on the unreachable agent, want none", used)
	}
	if listed := listedExecutors(t, tm); len(listed) != 0 {
		t.Errorf("GET_EXECUTORS lists %q on the unreachable agent", listed)
	}
	ag = tm.reregisterWith(t, ag.id, "cpus:2;mem:1024", api.AgentSubscribe{Executors: []api.ExecutorInfo{executorOf(fw)}})
	if used := usedCPUs(tm, ag.id); used != 0.1 {
		t.Errorf("%v cpus used once the agent is back listing x, want 0.1", used)
	}
}
