package master

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestUpdateFramework(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:2;mem:1024")
	info := api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"a"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}}
	fw := tm.subscribe(t, info)
	o := fw.offer()
	if o.AllocationInfo == nil || o.AllocationInfo.Role != "a" {
		t.Fatalf("offer for role %+v, want a", o.AllocationInfo)
	}
	info.ID = &api.FrameworkID{Value: fw.id}
	bad := info
	bad.User = "other"
	if code, _ := fw.call(api.Call{Type: api.CallUpdateFramework, UpdateFramework: &api.UpdateFramework{FrameworkInfo: bad}}); code != http.StatusBadRequest {
		t.Fatalf("changing the user: %d, want 400", code)
	}
	moved := info
	moved.Roles = []string{"b"}
	if code, body := fw.call(api.Call{Type: api.CallUpdateFramework, UpdateFramework: &api.UpdateFramework{FrameworkInfo: moved}}); code != http.StatusOK {
		t.Fatalf("UPDATE_FRAMEWORK: %d %s, want 200", code, body)
	}
	ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventRescind })
	if ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescinded %v, want the role-a offer %v", ev.Rescind.OfferID, o.ID)
	}
	if o := fw.offer(); o.AllocationInfo == nil || o.AllocationInfo.Role != "b" {
		t.Fatalf("after the update, offer for %+v, want b", o.AllocationInfo)
	}
}

func TestKillShutdownMessage(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t1", o, 0.5, 64), commandTask("t2", o, 0.5, 64)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })

	fw.mustCall(api.Call{Type: api.CallKill, Kill: &api.Kill{TaskID: api.TaskID{Value: "t1"}}})
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill }); ev.Kill.TaskID.Value != "t1" {
		t.Fatalf("KILL %+v", ev.Kill)
	}
	fw.mustCall(api.Call{Type: api.CallShutdown, Shutdown: &api.Shutdown{
		ExecutorID: api.ExecutorID{Value: "t2"}, AgentID: api.AgentID{Value: ag.id}}})
	// t2's executor is the task itself, which the agent knows by no
	// executor ID: SHUTDOWN_EXECUTOR finds nothing there, and the task
	// is killed.
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownExecutor }); ev.ShutdownExecutor.ExecutorID.Value != "t2" {
		t.Fatalf("SHUTDOWN of executor t2 sent %+v", ev.ShutdownExecutor)
	}
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill }); ev.Kill.TaskID.Value != "t2" {
		t.Fatalf("SHUTDOWN of executor t2 sent %+v", ev.Kill)
	}
	fw.mustCall(api.Call{Type: api.CallMessage, Message: &api.FrameworkMessage{
		AgentID: api.AgentID{Value: ag.id}, ExecutorID: api.ExecutorID{Value: "t2"}, Data: []byte("hi")}})
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventMessage }); string(ev.Message.Data) != "hi" || ev.Message.FrameworkID.Value != fw.id {
		t.Fatalf("MESSAGE %+v", ev.Message)
	}
	fw.mustCall(api.Call{Type: api.CallKill, Kill: &api.Kill{TaskID: api.TaskID{Value: "nope"}}})
	if st := fw.update("nope"); st.State != api.TaskLost || st.Reason != api.ReasonReconciliation {
		t.Fatalf("kill of an unknown task answered %+v", st)
	}
	fw.mustCall(api.Call{Type: api.CallReconcileOperations, ReconcileOperations: &api.ReconcileOperations{
		Operations: []api.ReconcileOperation{{OperationID: api.OperationID{Value: "op"}}}}})
	ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventUpdateOperationStatus })
	if ev.UpdateOperationStatus.Status.State != "OPERATION_UNKNOWN" {
		t.Fatalf("operation status %+v", ev.UpdateOperationStatus.Status)
	}
}

func TestReconcile(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f",
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 64)))
	ag.send(fw.id, "t", api.TaskRunning, 1)
	fw.update("t")
	fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{}})
	if st := fw.update("t"); st.State != api.TaskRunning || st.Reason != api.ReasonReconciliation || len(st.UUID) != 0 {
		t.Fatalf("implicit reconciliation %+v", st)
	}
	tests := []struct {
		name  string
		task  string
		agent string
		want  api.TaskState
	}{
		{"known task", "t", "", api.TaskRunning},
		{"unknown task on a registered agent", "x", ag.id, api.TaskGone},
		{"unknown task on an unknown agent", "y", "no-agent", api.TaskUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := api.ReconcileTask{TaskID: api.TaskID{Value: tt.task}}
			if tt.agent != "" {
				rt.AgentID = &api.AgentID{Value: tt.agent}
			}
			fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: []api.ReconcileTask{rt}}})
			if st := fw.update(tt.task); st.State != tt.want {
				t.Fatalf("%+v, want %s", st, tt.want)
			}
		})
	}
}

func TestUnreachableAgentComesBack(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "aware", FailoverTimeout: 60,
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("a", o, 1, 128)))
	ag.send(fw.id, "a", api.TaskRunning, 1)
	fw.update("a")
	ag.resp.Body.Close()
	if st := fw.update("a"); st.State != api.TaskUnreachable {
		t.Fatalf("%+v, want TASK_UNREACHABLE", st)
	}
	// The agent re-registers under its ID, still running the task.
	res, _ := api.ParseResources("cpus:2;mem:1024")
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: ag.id}, Resources: res},
		Tasks: []api.Task{{TaskID: api.TaskID{Value: "a"}, FrameworkID: api.FrameworkID{Value: fw.id},
			AgentID: api.AgentID{Value: ag.id}, State: api.TaskRunning}},
	}})
	s := openStream[api.AgentEvent](t, resp)
	if ev := s.next(func(api.AgentEvent) bool { return true }); ev.Type != api.AgentEventSubscribed || ev.Subscribed.AgentID.Value != ag.id {
		t.Fatalf("re-registration answered %+v", ev)
	}
	if st := fw.update("a"); st.State != api.TaskRunning || st.Reason != api.ReasonAgentReregistered {
		t.Fatalf("after re-registration %+v, want TASK_RUNNING with REASON_AGENT_REREGISTERED", st)
	}
	tm.mu.Lock()
	used := tm.agents[ag.id].used.ScalarValue("cpus")
	tm.mu.Unlock()
	if used != 1 {
		t.Fatalf("the returning task's cpus are not counted as used: %v", used)
	}
}

// TestMasterStatusSupersedesPending has an agent become unreachable while
// its TASK_RUNNING waits for the framework's acknowledgement: the master
// says TASK_UNREACHABLE, or TASK_LOST to a framework that is not
// partition-aware, and from then on that is what reconciliation answers,
// a re-subscription does not send the stale TASK_RUNNING again, and a
// late acknowledgement of it changes nothing. When the agent comes back
// still running the task, a task the framework was told is lost is
// killed, and an unreachable one runs on.
func TestMasterStatusSupersedesPending(t *testing.T) {
	for _, tt := range []struct {
		name  string
		caps  []api.FrameworkCapability
		state api.TaskState // what the master says when the agent is unreachable
	}{
		{name: "not partition-aware", state: api.TaskLost},
		{name: "partition-aware", caps: []api.FrameworkCapability{{Type: api.CapPartitionAware}}, state: api.TaskUnreachable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
			ag := tm.agent(t, "cpus:2;mem:1024")
			info := api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600, Capabilities: tt.caps}
			fw := tm.subscribe(t, info)
			o := fw.offer()
			fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
			ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
			ag.send(fw.id, "t", api.TaskRunning, 1)
			running := fw.update("t") // not acknowledged
			ag.resp.Body.Close()
			if st := fw.update("t"); st.State != tt.state {
				t.Fatalf("the agent unreachable: %+v, want %s", st, tt.state)
			}
			reconciled := func(fw *testFramework, tasks ...api.ReconcileTask) {
				t.Helper()
				fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: tasks}})
				if st := fw.update("t"); st.State != tt.state || st.Reason != api.ReasonReconciliation {
					t.Fatalf("the update after reconciling %v: %s (%q), want %s with REASON_RECONCILIATION", tasks, st.State, st.Reason, tt.state)
				}
			}
			reconciled(fw)
			reconciled(fw, api.ReconcileTask{TaskID: api.TaskID{Value: "t"}})

			// Updates come in order: a TASK_RUNNING sent again on the new
			// subscription would come before the answer to reconciliation.
			info.ID = &api.FrameworkID{Value: fw.id}
			fw = tm.subscribe(t, info)
			reconciled(fw, api.ReconcileTask{TaskID: api.TaskID{Value: "t"}})
			fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
				AgentID: api.AgentID{Value: ag.id}, TaskID: running.TaskID, UUID: running.UUID}})
			reconciled(fw)

			back := tm.reregister(t, ag.id, "cpus:2;mem:1024", api.Task{TaskID: api.TaskID{Value: "t"},
				FrameworkID: api.FrameworkID{Value: fw.id}, State: api.TaskRunning,
				Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 128)}})
			if tt.state == api.TaskLost {
				back.next(func(ev api.AgentEvent) bool {
					return ev.Type == api.AgentEventKill && ev.Kill.TaskID.Value == "t"
				})
				tm.mu.Lock()
				live := tm.frameworks[fw.id].tasks["t"]
				tm.mu.Unlock()
				if live != nil {
					t.Fatalf("the killed task is live in state %s", live.state)
				}
				return
			}
			if st := fw.update("t"); st.State != api.TaskRunning || st.Reason != api.ReasonAgentReregistered {
				t.Fatalf("the agent back: %+v, want TASK_RUNNING with REASON_AGENT_REREGISTERED", st)
			}
		})
	}
}

// TestTaskToldEndedIsKilled has an agent re-register without a running
// task, which ends it, and then again with it, as an agent whose report
// was wrong: the task its framework was told is lost, or gone, is killed
// rather than adopted.
func TestTaskToldEndedIsKilled(t *testing.T) {
	for _, tt := range []struct {
		name  string
		caps  []api.FrameworkCapability
		state api.TaskState
	}{
		{name: "not partition-aware", state: api.TaskLost},
		{name: "partition-aware", caps: []api.FrameworkCapability{{Type: api.CapPartitionAware}}, state: api.TaskGone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			ag := tm.agent(t, "cpus:2;mem:1024")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Capabilities: tt.caps})
			o := fw.offer()
			fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
			ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
			ag.send(fw.id, "t", api.TaskRunning, 1)
			st := fw.update("t")
			fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
				AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
			tm.reregister(t, ag.id, "cpus:2;mem:1024")
			if st := fw.update("t"); st.State != tt.state {
				t.Fatalf("the agent back without the task: %+v, want %s", st, tt.state)
			}
			back := tm.reregister(t, ag.id, "cpus:2;mem:1024", api.Task{TaskID: api.TaskID{Value: "t"},
				FrameworkID: api.FrameworkID{Value: fw.id}, State: api.TaskRunning,
				Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 128)}})
			back.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill && ev.Kill.TaskID.Value == "t" })
			tm.mu.Lock()
			live := tm.frameworks[fw.id].tasks["t"]
			tm.mu.Unlock()
			if live != nil {
				t.Fatalf("the killed task is live in state %s", live.state)
			}
		})
	}
}

func TestRestartedMasterAdoptsTasks(t *testing.T) {
	tm := startMaster(t)
	res, _ := api.ParseResources("cpus:2;mem:1024")
	running := api.Task{Name: "web", TaskID: api.TaskID{Value: "t"}, FrameworkID: api.FrameworkID{Value: "old-fw"},
		AgentID: api.AgentID{Value: "old-agent"}, State: api.TaskRunning,
		Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 128)}}
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: "old-agent"}, Resources: res},
		Tasks:     []api.Task{running},
	}})
	s := openStream[api.AgentEvent](t, resp)
	if ev := s.next(func(api.AgentEvent) bool { return true }); ev.Type != api.AgentEventSubscribed || ev.Subscribed.AgentID.Value != "old-agent" {
		t.Fatalf("re-registration answered %+v", ev)
	}
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
	if fws := r.GetFrameworks.Frameworks; len(fws) != 1 || !fws[0].Recovered || fws[0].Connected {
		t.Fatalf("frameworks %+v, want one recovered", fws)
	}
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", ID: &api.FrameworkID{Value: "old-fw"}})
	if o := fw.offer(); api.Resources(o.Resources).ScalarValue("cpus") != 1 {
		t.Fatalf("offer %v: the adopted task's cpu is not held back", api.Resources(o.Resources))
	}
	fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: []api.ReconcileTask{{TaskID: api.TaskID{Value: "t"}}}}})
	if st := fw.update("t"); st.State != api.TaskRunning {
		t.Fatalf("reconciliation of the adopted task: %+v, want TASK_RUNNING", st)
	}
}

func TestOfferTimeout(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.OfferTimeout = 20 * time.Millisecond })
	tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "hoarder"})
	o := fw.offer()
	if ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventRescind }); ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescinded %v, want %v", ev.Rescind.OfferID, o.ID)
	}
	// Rescinded without a filter: the resources are offered again.
	if again := fw.offer(); again.ID == o.ID {
		t.Fatalf("the same offer ID came back")
	}
}

func TestAgentGoneRescindsOffers(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	ag.resp.Body.Close() // the agent's stream drops
	if ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventRescind }); ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescinded %v, want %v", ev.Rescind.OfferID, o.ID)
	}
	fw.mustCall(launch(o, commandTask("late", o, 1, 64)))
	if st := fw.update("late"); st.State != api.TaskLost || st.Reason != api.ReasonInvalidOffers || len(st.UUID) != 0 {
		t.Fatalf("launch on the rescinded offer: %+v, want TASK_LOST/REASON_INVALID_OFFERS without a UUID", st)
	}
}

// TestMultiRoleOffers gives a MULTI_ROLE framework of two roles two
// agents: each offer holds one agent and one role, marked on the offer
// and on every resource, and a task launches on each with resources
// allocated to its offer's role.
func TestMultiRoleOffers(t *testing.T) {
	tm := startMaster(t)
	ag1 := tm.agent(t, "cpus:1;mem:128")
	ag2 := tm.agent(t, "cpus:1;mem:128")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"a", "b"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	byRole := map[string]api.Offer{}
	for len(byRole) < 2 {
		ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventOffers })
		for _, o := range ev.Offers.Offers {
			if o.AllocationInfo == nil {
				t.Fatalf("offer to a MULTI_ROLE framework without allocation_info: %+v", o)
			}
			role := o.AllocationInfo.Role
			for _, r := range o.Resources {
				if r.AllocationInfo == nil || r.AllocationInfo.Role != role {
					t.Fatalf("resource %+v of an offer for role %s", r, role)
				}
			}
			if _, dup := byRole[role]; dup {
				t.Fatalf("two offers for role %s while the other role has none", role)
			}
			byRole[role] = o
		}
	}
	if byRole["a"].AgentID == byRole["b"].AgentID {
		t.Fatalf("both roles offered agent %s", byRole["a"].AgentID.Value)
	}
	for role, o := range byRole {
		task := commandTask("t-"+role, o, 1, 128)
		task.Resources = api.Resources(task.Resources).Allocate(role)
		fw.mustCall(launch(o, task))
	}
	for _, ag := range []*testAgent{ag1, ag2} {
		ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	}
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetRoles})
	for _, role := range r.GetRoles.Roles {
		if got := api.Resources(role.Allocated).ScalarValue("cpus"); (role.Name == "a" || role.Name == "b") && got != 1 {
			t.Errorf("role %s has %v cpus allocated, want 1", role.Name, got)
		}
	}
}

// TestQuotaGuaranteeHeldBack sets a guarantee for a role no framework
// uses yet: a framework of another role is offered only what exceeds it,
// and a framework of the guaranteed role, once it comes, gets the rest.
func TestQuotaGuaranteeHeldBack(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:4;mem:4096")
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
		QuotaConfigs: []api.QuotaConfig{{Role: "g", Guarantees: map[string]api.Scalar{"cpus": {Value: 3}}}}}}); code != http.StatusOK {
		t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
	}
	other := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "other"})
	if got := api.Resources(other.offer().Resources).ScalarValue("cpus"); got != 1 {
		t.Fatalf("a role without quota was offered %v cpus, want the 1 left over the guarantee of 3", got)
	}
	guaranteed := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "g", Roles: []string{"g"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	if got := api.Resources(guaranteed.offer().Resources).ScalarValue("cpus"); got != 3 {
		t.Fatalf("the guaranteed role was offered %v cpus, want its 3", got)
	}
}

// TestGuaranteeRescindsOtherRolesOffers sets a guarantee while another
// role holds both agents on offer: one offer is rescinded, enough for
// the guarantee, and the guaranteed role is offered at least its share.
func TestGuaranteeRescindsOtherRolesOffers(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:4;mem:4096")
	tm.agent(t, "cpus:4;mem:4096")
	other := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "other"})
	var held []api.Offer
	for len(held) < 2 {
		held = append(held, other.next(func(ev api.Event) bool { return ev.Type == api.EventOffers }).Offers.Offers...)
	}
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
		QuotaConfigs: []api.QuotaConfig{{Role: "g", Guarantees: map[string]api.Scalar{"cpus": {Value: 3}}}}}}); code != http.StatusOK {
		t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
	}
	ev := other.next(func(ev api.Event) bool { return ev.Type == api.EventRescind })
	if id := ev.Rescind.OfferID; id != held[0].ID && id != held[1].ID {
		t.Fatalf("rescinded %v, not one of the offers held", id)
	}
	guaranteed := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "g", Roles: []string{"g"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	if got := api.Resources(guaranteed.offer().Resources).ScalarValue("cpus"); got < 3 {
		t.Fatalf("the guaranteed role was offered %v cpus, want at least its 3", got)
	}
	tm.mu.Lock()
	n := len(tm.frameworks[other.id].offers)
	tm.mu.Unlock()
	if n < 1 {
		t.Fatalf("the other role lost every offer; only one had to go")
	}
}

func TestQuotaChangeRescindsOffers(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:4;mem:4096")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"web"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	o := fw.offer()
	if got := api.Resources(o.Resources).ScalarValue("cpus"); got != 4 {
		t.Fatalf("offered %v cpus, want 4", got)
	}
	code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
		QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 1}}}}}})
	if code != http.StatusOK {
		t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
	}
	if ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventRescind }); ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescinded %v, want %v", ev.Rescind.OfferID, o.ID)
	}
	if got := api.Resources(fw.offer().Resources).ScalarValue("cpus"); got != 1 {
		t.Fatalf("offered %v cpus under a limit of 1", got)
	}
}

func TestLaunchGroup(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	group := func(o api.Offer, exec api.ExecutorInfo, tasks ...api.TaskInfo) api.Call {
		return api.Call{Type: api.CallAccept, Accept: &api.Accept{OfferIDs: []api.OfferID{o.ID},
			Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))},
			Operations: []api.Operation{{Type: api.OpLaunchGroup, LaunchGroup: &api.LaunchGroup{
				Executor: exec, TaskGroup: api.TaskGroupInfo{Tasks: tasks}}}}}}
	}
	exec := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "e"},
		Resources: []api.Resource{scalar("cpus", 0.1), scalar("mem", 32)}}

	o := fw.offer()
	bad := commandTask("b2", o, 0.5, 64)
	bad.Resources = nil
	fw.mustCall(group(o, exec, commandTask("b1", o, 0.5, 64), bad))
	for _, id := range []string{"b1", "b2"} {
		if st := fw.update(id); st.State != api.TaskError || st.Reason != api.ReasonTaskGroupInvalid {
			t.Fatalf("%s of an invalid group: %+v, want TASK_ERROR/REASON_TASK_GROUP_INVALID", id, st)
		}
	}

	o = fw.offer()
	fw.mustCall(group(o, exec, commandTask("g1", o, 0.5, 64), commandTask("g2", o, 0.5, 64)))
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	if ev.Launch.Executor == nil || ev.Launch.Executor.ExecutorID.Value != "e" || ev.Launch.TaskGroup == nil || len(ev.Launch.TaskGroup.Tasks) != 2 {
		t.Fatalf("agent LAUNCH %+v", ev.Launch)
	}
	tm.mu.Lock()
	used := tm.agents[ag.id].used.ScalarValue("cpus")
	tm.mu.Unlock()
	if used != 1.1 {
		t.Fatalf("used cpus %v, want 1.1 (two tasks and the executor)", used)
	}
	for i, id := range []string{"g1", "g2"} {
		ag.send(fw.id, id, api.TaskFinished, byte(i+1))
		if st := fw.update(id); st.State != api.TaskFinished {
			t.Fatalf("update %+v", st)
		}
	}
	if used := usedCPUs(tm, ag.id); used != 0.1 {
		t.Fatalf("used cpus %v after the group ended, want 0.1: the executor runs until the agent says it exited", used)
	}
	ag.exited(fw.id, "e", api.Ptr(api.Int64(0)))
	if used := usedCPUs(tm, ag.id); used != 0 {
		t.Fatalf("used cpus %v after the executor exited, want 0", used)
	}
}

// TestGroupExecutorBack brings a running task group's agent back in each
// way it can come back, listing the group's default executor as it runs
// it: the executor's resources are counted as used again, and not
// offered, until the agent reports its exit.
func TestGroupExecutorBack(t *testing.T) {
	exec := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "e"},
		Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 512)}}
	info := api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600,
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}}
	// launched starts a task group that fills an agent: the executor and
	// task g take a cpu and 512 MB each.
	launched := func(t *testing.T, tm *testMaster) (*testAgent, *testFramework) {
		t.Helper()
		ag := tm.agent(t, "cpus:2;mem:1024")
		fw := tm.subscribe(t, info)
		o := fw.offer()
		fw.mustCall(api.Call{Type: api.CallAccept, Accept: &api.Accept{OfferIDs: []api.OfferID{o.ID},
			Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))},
			Operations: []api.Operation{{Type: api.OpLaunchGroup, LaunchGroup: &api.LaunchGroup{Executor: exec,
				TaskGroup: api.TaskGroupInfo{Tasks: []api.TaskInfo{commandTask("g", o, 1, 512)}}}}}}})
		ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
		ag.send(fw.id, "g", api.TaskRunning, 1)
		fw.update("g")
		return ag, fw
	}
	for _, tt := range []struct {
		name string
		// away runs the group and takes its agent away; it returns the
		// master the agent comes back to, the agent's ID and the
		// framework, subscribed to that master.
		away func(t *testing.T) (*testMaster, string, *testFramework)
	}{
		{"reconnected", func(t *testing.T) (*testMaster, string, *testFramework) {
			tm := startMaster(t)
			ag, fw := launched(t, tm)
			ag.resp.Body.Close()
			waitUntil(t, "the agent to be disconnected", func() bool {
				tm.mu.Lock()
				defer tm.mu.Unlock()
				return !tm.agents[ag.id].connected()
			})
			return tm, ag.id, fw
		}},
		{"unreachable", func(t *testing.T) (*testMaster, string, *testFramework) {
			tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
			ag, fw := launched(t, tm)
			ag.resp.Body.Close()
			if st := fw.update("g"); st.State != api.TaskUnreachable {
				t.Fatalf("%+v, want TASK_UNREACHABLE", st)
			}
			return tm, ag.id, fw
		}},
		{"master failed over", func(t *testing.T) (*testMaster, string, *testFramework) {
			dir := t.TempDir()
			first := startReplicatedMaster(t, dir, "127.0.0.1:0")
			raftAddr := first.reg.Addr()
			ag, fw := launched(t, first.testMaster)
			first.stop()
			second := startReplicatedMaster(t, dir, raftAddr)
			info := info
			info.ID = &api.FrameworkID{Value: fw.id}
			return second.testMaster, ag.id, second.subscribe(t, info)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm, id, fw := tt.away(t)
			listed := exec
			listed.FrameworkID = &api.FrameworkID{Value: fw.id}
			ag := tm.reregisterWith(t, id, "cpus:2;mem:1024", api.AgentSubscribe{Tasks: []api.Task{{TaskID: api.TaskID{Value: "g"},
				FrameworkID: api.FrameworkID{Value: fw.id}, ExecutorID: &api.ExecutorID{Value: "e"}, State: api.TaskRunning,
				Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 512)}}}, Executors: []api.ExecutorInfo{listed}})
			tm.allocatePass(time.Now(), true)
			tm.mu.Lock()
			a := tm.agents[id]
			used, offered := a.used.ScalarValue("cpus"), a.offered.ScalarValue("cpus")
			tm.mu.Unlock()
			if used != 2 || offered != 0 {
				t.Fatalf("the agent back has %v cpus used and %v offered, want 2 used (the task and its executor) and none offered", used, offered)
			}
			ag.send(fw.id, "g", api.TaskFinished, 2)
			fw.next(func(ev api.Event) bool {
				return ev.Type == api.EventUpdate && ev.Update.Status.State == api.TaskFinished
			})
			if used := usedCPUs(tm, id); used != 1 {
				t.Fatalf("%v cpus used once the group ended, want 1: its executor runs until it exits", used)
			}
			ag.exited(fw.id, "e", nil)
			if used := usedCPUs(tm, id); used != 0 {
				t.Fatalf("%v cpus used once the executor exited, want none", used)
			}
		})
	}
}

// customExecutor is a custom executor x using cpus and 128 MB.
func customExecutor(cpus float64) api.ExecutorInfo {
	return api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "x"},
		Command: &api.CommandInfo{Value: "/bin/my-executor"}, Resources: []api.Resource{scalar("cpus", cpus), scalar("mem", 128)}}
}

// launchUnder accepts o to launch task id (cpus and 128 MB) under exec,
// and gives back what is left without a filter, to be offered again at
// once.
func launchUnder(o api.Offer, id string, cpus float64, exec api.ExecutorInfo) api.Call {
	ti := commandTask(id, o, cpus, 128)
	ti.Command, ti.Executor = nil, &exec
	call := launch(o, ti)
	call.Accept.Filters = &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}
	return call
}

// usedCPUs is how many of the agent's cpus the master counts as used.
func usedCPUs(tm *testMaster, agent string) float64 {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.agents[agent].used.ScalarValue("cpus")
}

// TestCustomExecutorResources launches two tasks, one after the other,
// under one custom executor on a 4-cpu agent, as Mesos counts them: the
// executor's cpu comes from the offer with the first task and is not
// offered again while it runs, the second task pays for itself only, and
// the executor's cpu returns when the agent reports its exit, not with its
// last task's end — also when a new leader took over while the first task
// ran.
func TestCustomExecutorResources(t *testing.T) {
	info := api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600}
	// first launches t1 (a cpu) under x (a cpu): two cpus are left.
	first := func(t *testing.T, tm *testMaster) (*testAgent, *testFramework) {
		t.Helper()
		ag := tm.agent(t, "cpus:4;mem:1024")
		fw := tm.subscribe(t, info)
		fw.mustCall(launchUnder(fw.offer(), "t1", 1, customExecutor(1)))
		ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
		if got := ev.Launch.Tasks[0].Executor; got == nil || got.ExecutorID.Value != "x" {
			t.Fatalf("agent told to launch t1 under %+v, want executor x", got)
		}
		ag.send(fw.id, "t1", api.TaskRunning, 1) // not awaited: t1's offer may come first
		return ag, fw
	}
	for _, tt := range []struct {
		name string
		// run launches t1 and returns the master to go on with, its agent
		// and its framework.
		run func(t *testing.T) (*testMaster, *testAgent, *testFramework)
	}{
		{"one master", func(t *testing.T) (*testMaster, *testAgent, *testFramework) {
			tm := startMaster(t)
			ag, fw := first(t, tm)
			return tm, ag, fw
		}},
		{"master failed over", func(t *testing.T) (*testMaster, *testAgent, *testFramework) {
			dir := t.TempDir()
			old := startReplicatedMaster(t, dir, "127.0.0.1:0")
			raftAddr := old.reg.Addr()
			ag, fw := first(t, old.testMaster)
			old.stop()
			rm := startReplicatedMaster(t, dir, raftAddr)
			info := info
			info.ID = &api.FrameworkID{Value: fw.id}
			fw = rm.subscribe(t, info)
			x := customExecutor(1)
			x.FrameworkID = &api.FrameworkID{Value: fw.id}
			ag = rm.reregisterWith(t, ag.id, "cpus:4;mem:1024", api.AgentSubscribe{Tasks: []api.Task{{TaskID: api.TaskID{Value: "t1"},
				FrameworkID: api.FrameworkID{Value: fw.id}, ExecutorID: &api.ExecutorID{Value: "x"}, State: api.TaskRunning,
				Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 128)}}}, Executors: []api.ExecutorInfo{x}})
			return rm.testMaster, ag, fw
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm, ag, fw := tt.run(t)
			if used := usedCPUs(tm, ag.id); used != 2 {
				t.Fatalf("%v cpus used with t1 running under x, want 2 (t1 and x)", used)
			}
			o := fw.offer()
			if cpus := api.Resources(o.Resources).ScalarValue("cpus"); cpus != 2 {
				t.Fatalf("offered %v cpus with t1 running under x, want 2: x's cpu is not free", cpus)
			}
			fw.mustCall(launchUnder(o, "t2", 1, customExecutor(1)))
			if used := usedCPUs(tm, ag.id); used != 3 {
				t.Fatalf("%v cpus used with t1 and t2 running under x, want 3: t2 pays for itself only", used)
			}
			ag.send(fw.id, "t1", api.TaskFinished, 2)
			if used := usedCPUs(tm, ag.id); used != 2 {
				t.Fatalf("%v cpus used once t1 ended, want 2: x still runs t2", used)
			}
			ag.send(fw.id, "t2", api.TaskFinished, 3)
			if used := usedCPUs(tm, ag.id); used != 1 {
				t.Fatalf("%v cpus used once x's last task ended, want 1: x runs on, idle, until it exits", used)
			}
			ag.exited(fw.id, "x", api.Ptr(api.Int64(0)))
			if used := usedCPUs(tm, ag.id); used != 0 {
				t.Fatalf("%v cpus used once x exited, want none", used)
			}
		})
	}
}

// TestCustomExecutorRefused checks the launches Mesos refuses with
// TASK_ERROR because of the executor they name: one whose task and new
// executor do not fit in the offer, and one whose ExecutorInfo differs
// from the running executor's. Nothing of a refused launch is counted.
func TestCustomExecutorRefused(t *testing.T) {
	group := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "x"},
		Resources: []api.Resource{scalar("cpus", 1), scalar("mem", 128)}}
	for _, tt := range []struct {
		name    string
		running *api.ExecutorInfo // what runs as x before the launch: a task under it
		exec    api.ExecutorInfo  // what the launch names
		msg     string
	}{
		{name: "task and executor exceed the offer", exec: customExecutor(4),
			msg: "Task and its executor x use more resources"},
		{name: "other resources than the running executor's", running: api.Ptr(customExecutor(1)), exec: customExecutor(0.5),
			msg: "ExecutorInfo of executor x uses resources cpus:0.5;mem:128 but the executor running on agent"},
		{name: "a task group's default executor runs", running: &group, exec: customExecutor(1),
			msg: "ExecutorInfo of executor x is CUSTOM but the executor running on agent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			ag := tm.agent(t, "cpus:4;mem:1024")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			o := fw.offer()
			want := 0.0
			switch {
			case tt.running == nil:
			case tt.running.Type == api.ExecutorDefault:
				call := launchUnder(o, "t0", 1, *tt.running)
				call.Accept.Operations = []api.Operation{{Type: api.OpLaunchGroup, LaunchGroup: &api.LaunchGroup{
					Executor: *tt.running, TaskGroup: api.TaskGroupInfo{Tasks: []api.TaskInfo{commandTask("t0", o, 1, 128)}}}}}
				fw.mustCall(call)
				o, want = fw.offer(), 2
			default:
				fw.mustCall(launchUnder(o, "t0", 1, *tt.running))
				o, want = fw.offer(), 2
			}
			fw.mustCall(launchUnder(o, "t", 0.5, tt.exec))
			if st := fw.update("t"); st.State != api.TaskError || !strings.Contains(st.Message, tt.msg) {
				t.Fatalf("launch: %s %q, want TASK_ERROR with %q", st.State, st.Message, tt.msg)
			}
			if used := usedCPUs(tm, ag.id); used != want {
				t.Fatalf("%v cpus used after the refused launch, want %v", used, want)
			}
		})
	}
}

func TestFailoverTimeoutRemovesFramework(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 0.05})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	ag.send(fw.id, "t", api.TaskRunning, 1)
	fw.update("t")
	fw.resp.Body.Close() // the scheduler goes away and does not come back
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework })
	if ev.ShutdownFramework.FrameworkID.Value != fw.id {
		t.Fatalf("shutdown %+v", ev.ShutdownFramework)
	}
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
	if len(r.GetFrameworks.Frameworks) != 0 || len(r.GetFrameworks.CompletedFrameworks) != 1 {
		t.Fatalf("frameworks after the failover timeout: %+v", r.GetFrameworks)
	}
	_, r, _ = tm.operator(t, api.OperatorCall{Type: api.OperatorGetTasks})
	if c := r.GetTasks.CompletedTasks; len(c) != 1 || c[0].State != api.TaskKilled {
		t.Fatalf("tasks after the failover timeout: %+v", r.GetTasks)
	}
}

func TestReconcileGoneAgentAndDiagnostics(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f",
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	o := fw.offer()
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID}}})
	fw.mustCall(api.Call{Type: api.CallSuppress, Suppress: &api.Suppress{}})
	tm.allocatePass(time.Now(), true)
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
	diag := strings.Join(r.GetFrameworks.Frameworks[0].Diagnostics, "\n")
	if !strings.Contains(diag, "suppress") {
		t.Fatalf("diagnostics of a suppressed framework: %q", diag)
	}
	if code, _, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorDeactivateAgent, DeactivateAgent: &api.DeactivateAgent{AgentID: api.AgentID{Value: ag.id}}}); code != 200 {
		t.Fatalf("DEACTIVATE_AGENT: %d", code)
	}
	_, r, _ = tm.operator(t, api.OperatorCall{Type: api.OperatorGetAgents})
	if !r.GetAgents.Agents[0].Deactivated {
		t.Fatalf("agent not deactivated: %+v", r.GetAgents.Agents[0])
	}
	tm.operator(t, api.OperatorCall{Type: api.OperatorMarkAgentGone, MarkAgentGone: &api.MarkAgentGone{AgentID: api.AgentID{Value: ag.id}}})
	fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: []api.ReconcileTask{
		{TaskID: api.TaskID{Value: "x"}, AgentID: &api.AgentID{Value: ag.id}}}}})
	if st := fw.update("x"); st.State != api.TaskGoneByOperator {
		t.Fatalf("reconciling a task on a gone agent: %+v, want TASK_GONE_BY_OPERATOR", st)
	}
}

// TestSubscribeSuppressedRoles subscribes a framework with one of its two
// roles suppressed: offers come for the other only, until REVIVE of the
// suppressed role.
func TestSubscribeSuppressedRoles(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:1;mem:128")
	tm.agent(t, "cpus:1;mem:128")
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, Subscribe: &api.Subscribe{
		FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"a", "b"},
			Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}},
		SuppressedRoles: []string{"a"}}})
	s := openStream[api.Event](t, resp)
	fw := &testFramework{eventStream: s, tm: tm, id: s.next(func(api.Event) bool { return true }).Subscribed.FrameworkID.Value}
	var held []api.Offer
	for len(held) < 2 {
		for _, o := range fw.next(func(ev api.Event) bool { return ev.Type == api.EventOffers }).Offers.Offers {
			if o.AllocationInfo.Role != "b" {
				t.Fatalf("offer for role %s, which is suppressed", o.AllocationInfo.Role)
			}
			held = append(held, o)
		}
	}
	fw.mustCall(api.Call{Type: api.CallRevive, Revive: &api.Revive{Roles: []string{"a"}}})
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{held[0].ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}}})
	if o := fw.offer(); o.AllocationInfo.Role != "a" {
		t.Fatalf("after REVIVE of a, the declined agent went to role %s, want a (the lower share)", o.AllocationInfo.Role)
	}
}

// TestReviveWithoutPayload sends REVIVE with no revive field, which
// Mesos accepts: it revives every role of the framework, here the one it
// subscribed suppressed.
func TestReviveWithoutPayload(t *testing.T) {
	tm := startMaster(t)
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, Subscribe: &api.Subscribe{
		FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"a"},
			Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}},
		SuppressedRoles: []string{"a"}}})
	s := openStream[api.Event](t, resp)
	fw := &testFramework{eventStream: s, tm: tm, id: s.next(func(api.Event) bool { return true }).Subscribed.FrameworkID.Value}
	tm.agent(t, "cpus:1;mem:128")
	fw.mustCall(api.Call{Type: api.CallRevive})
	if o := fw.offer(); o.AllocationInfo.Role != "a" {
		t.Fatalf("offer for role %s, want a", o.AllocationInfo.Role)
	}
}

// TestOfferCarriesAttributes checks that an agent's attributes
// reach frameworks in its offers.
func TestOfferCarriesAttributes(t *testing.T) {
	tm := startMaster(t)
	res, _ := api.ParseResources("cpus:1;mem:128")
	attrs, err := api.ParseAttributes("rack:r1;zone:a")
	if err != nil {
		t.Fatal(err)
	}
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", Port: 5051, Resources: res, Attributes: attrs}}})
	openStream[api.AgentEvent](t, resp).next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventSubscribed })
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	got := map[string]string{}
	for _, a := range o.Attributes {
		if a.Text != nil {
			got[a.Name] = a.Text.Value
		}
	}
	if len(o.Attributes) != 2 || got["rack"] != "r1" || got["zone"] != "a" {
		t.Fatalf("offer attributes %+v, want rack:r1 and zone:a", o.Attributes)
	}
}

// TestReregisteringAgentHearsSubscribedFirst brings back an agent that
// still runs a task, or only an idle executor, of a framework torn down
// meanwhile: it gets SUBSCRIBED first — an agent takes no other event
// before it — and then the order to shut that framework down, without
// which an idle custom executor would run for ever.
func TestReregisteringAgentHearsSubscribedFirst(t *testing.T) {
	for _, tt := range []struct {
		name string
		sub  func(fw string) api.AgentSubscribe
	}{
		{"with a task of it", func(fw string) api.AgentSubscribe {
			return api.AgentSubscribe{Tasks: []api.Task{{TaskID: api.TaskID{Value: "t"}, FrameworkID: api.FrameworkID{Value: fw},
				AgentID: api.AgentID{Value: "old-agent"}, State: api.TaskRunning}}}
		}},
		{"with an executor of it and no task", func(fw string) api.AgentSubscribe {
			return api.AgentSubscribe{Frameworks: []api.FrameworkInfo{{User: "u", Name: "f", ID: &api.FrameworkID{Value: fw}}}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			fw.mustCall(api.Call{Type: api.CallTeardown})
			fw.closed()
			res, _ := api.ParseResources("cpus:2;mem:1024")
			sub := tt.sub(fw.id)
			sub.AgentInfo = api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: "old-agent"}, Resources: res}
			s := openStream[api.AgentEvent](t, tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &sub}))
			if ev := s.next(func(api.AgentEvent) bool { return true }); ev.Type != api.AgentEventSubscribed {
				t.Fatalf("first event %s, want SUBSCRIBED", ev.Type)
			}
			if ev := s.next(func(ev api.AgentEvent) bool { return ev.Type != api.AgentEventHeartbeat }); ev.Type != api.AgentEventShutdownFramework ||
				ev.ShutdownFramework.FrameworkID.Value != fw.id {
				t.Fatalf("second event %+v, want SHUTDOWN_FRAMEWORK of %s", ev, fw.id)
			}
		})
	}
}

// TestReregisteredAgentLostLaunch re-registers an agent without a task
// whose LAUNCH went out on its earlier stream (lost with that stream, or
// by an agent that died before the task reached its disk): the task ends
// TASK_LOST, or TASK_DROPPED for a partition-aware framework, rather than
// staging for ever; a task the agent reports keeps running.
func TestReregisteredAgentLostLaunch(t *testing.T) {
	for _, tt := range []struct {
		name  string
		caps  []api.FrameworkCapability
		state api.TaskState
	}{
		{name: "not partition-aware", state: api.TaskLost},
		{name: "partition-aware", caps: []api.FrameworkCapability{{Type: api.CapPartitionAware}}, state: api.TaskDropped},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			ag := tm.agent(t, "cpus:2;mem:1024")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Capabilities: tt.caps})
			o := fw.offer()
			fw.mustCall(launch(o, commandTask("lost", o, 0.5, 64), commandTask("kept", o, 0.5, 64)))
			ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
			res, _ := api.ParseResources("cpus:2;mem:1024")
			resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
				AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: ag.id}, Resources: res},
				Tasks: []api.Task{{TaskID: api.TaskID{Value: "kept"}, FrameworkID: api.FrameworkID{Value: fw.id},
					AgentID: api.AgentID{Value: ag.id}, State: api.TaskStaging}},
			}})
			openStream[api.AgentEvent](t, resp)
			st := fw.update("lost")
			if st.State != tt.state || st.Reason != api.ReasonAgentUnknown {
				t.Fatalf("%+v, want %s with REASON_AGENT_UNKNOWN", st, tt.state)
			}
			tm.mu.Lock()
			state := api.TaskState("none")
			if kept := tm.frameworks[fw.id].tasks["kept"]; kept != nil {
				state = kept.state
			}
			tm.mu.Unlock()
			if state != api.TaskStaging {
				t.Fatalf("the reported task is %s, want it staging still", state)
			}
		})
	}
}

// TestLaunchCommittedWhileAgentAway takes an ACCEPT whose agent
// disconnects before the registry commits the launch, so that its LAUNCH
// has no stream to go out on: when the agent re-registers without the
// task, the task ends TASK_LOST, or TASK_DROPPED for a partition-aware
// framework, and frees its resources, rather than staging for ever.
func TestLaunchCommittedWhileAgentAway(t *testing.T) {
	for _, tt := range []struct {
		name  string
		caps  []api.FrameworkCapability
		state api.TaskState
	}{
		{name: "not partition-aware", state: api.TaskLost},
		{name: "partition-aware", caps: []api.FrameworkCapability{{Type: api.CapPartitionAware}}, state: api.TaskDropped},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
			ag := rm.agent(t, "cpus:2;mem:1024")
			fw := rm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Capabilities: tt.caps})
			o := fw.offer()
			// The launch commits once the lock is let go, by which time the
			// agent is disconnected.
			rm.mu.Lock()
			durable := rm.accept(rm.frameworks[fw.id], launch(o, commandTask("t", o, 1, 128)).Accept, time.Now())
			a := rm.agents[ag.id]
			a.stream.close()
			rm.disconnectAgent(a, time.Now())
			rm.mu.Unlock()
			<-durable
			rm.reregister(t, ag.id, "cpus:2;mem:1024")
			if st := fw.update("t"); st.State != tt.state || st.Reason != api.ReasonAgentUnknown {
				t.Fatalf("%+v, want %s with REASON_AGENT_UNKNOWN", st, tt.state)
			}
			rm.mu.Lock()
			used := a.used.ScalarValue("cpus")
			rm.mu.Unlock()
			if used != 0 {
				t.Fatalf("%v cpus used once the task ended, want none", used)
			}
		})
	}
}

// TestAgentBackBeforeItsStreamEnds re-registers an agent whose old stream
// the master still holds open, as an agent that noticed a broken
// connection before the master did: the offer of its resources a framework
// holds is rescinded before they are offered again, so that they are never
// on offer twice.
func TestAgentBackBeforeItsStreamEnds(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:4;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	held := fw.offer()
	tm.reregister(t, ag.id, "cpus:4;mem:1024")
	ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventRescind || ev.Type == api.EventOffers })
	if ev.Type != api.EventRescind || ev.Rescind.OfferID != held.ID {
		t.Fatalf("after the agent re-registered the framework got %s, want RESCIND of the offer %s it holds", ev.Type, held.ID.Value)
	}
	again := fw.offer()
	if cpus := api.Resources(again.Resources).ScalarValue("cpus"); cpus != 4 {
		t.Fatalf("offered %v cpus again, want all 4", cpus)
	}
	tm.mu.Lock()
	offers, offered := len(tm.offers), tm.agents[ag.id].offered.ScalarValue("cpus")
	tm.mu.Unlock()
	if offers != 1 || offered != 4 {
		t.Fatalf("%d offers outstanding holding %v of the agent's 4 cpus, want one holding 4", offers, offered)
	}
}

// TestAcknowledgedUpdateSentAgain has an agent send again an update the
// framework has acknowledged, as one does when its record of the
// acknowledgement was lost in a crash: the master acknowledges it for the
// framework, which is not told twice.
func TestAcknowledgedUpdateSentAgain(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("a", o, 1, 128)))
	acked := func(uuid byte) {
		t.Helper()
		ag.next(func(ev api.AgentEvent) bool {
			return ev.Type == api.AgentEventAcknowledged && ev.Acknowledged.TaskID.Value == "a" &&
				bytes.Equal(ev.Acknowledged.UUID, bytes.Repeat([]byte{uuid}, 16))
		})
	}
	ag.send(fw.id, "a", api.TaskRunning, 1)
	st := fw.update("a")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	acked(1)
	ag.send(fw.id, "a", api.TaskRunning, 1) // the same update again
	acked(1)
	ag.send(fw.id, "a", api.TaskFinished, 2)
	if st := fw.update("a"); st.State != api.TaskFinished {
		t.Fatalf("the framework's next update is %s, want TASK_FINISHED: TASK_RUNNING came twice", st.State)
	}
}

// TestUpdateFromAnotherAgent has an agent report an update for a task
// that runs on another: it is acknowledged to the agent that sent it and
// goes no further, as an update for an unknown task does, so the
// framework hears only what the task's own agent says.
func TestUpdateFromAnotherAgent(t *testing.T) {
	tm := startMaster(t)
	own := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 2, 1024)))
	own.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	other := tm.agent(t, "cpus:1;mem:128")
	other.send(fw.id, "t", api.TaskFinished, 9)
	other.next(func(ev api.AgentEvent) bool {
		return ev.Type == api.AgentEventAcknowledged && ev.Acknowledged.TaskID.Value == "t" &&
			bytes.Equal(ev.Acknowledged.UUID, bytes.Repeat([]byte{9}, 16))
	})
	own.send(fw.id, "t", api.TaskRunning, 1)
	if st := fw.update("t"); st.State != api.TaskRunning || st.AgentID == nil || st.AgentID.Value != own.id {
		t.Fatalf("the framework's first update is %s from %v, want TASK_RUNNING from the task's agent %s", st.State, st.AgentID, own.id)
	}
	tm.mu.Lock()
	used := tm.agents[own.id].used.ScalarValue("cpus")
	tm.mu.Unlock()
	if used != 2 {
		t.Fatalf("the task's agent has %v cpus used, want its 2", used)
	}
}

// TestAgentUpdatesInOneCall sends a framework's updates for two tasks in
// one agent call. A call with one bad update is refused whole, naming
// it, and none of it reaches the framework; a good one reaches it in
// order.
func TestAgentUpdatesInOneCall(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("a", o, 0.5, 64), commandTask("b", o, 0.5, 64)))

	bad := agentUpdate(fw.id, "b", api.TaskRunning, 8)
	bad.Status.UUID = bad.Status.UUID[:8]
	code, body := ag.sendAll(agentUpdate(fw.id, "a", api.TaskFailed, 9), bad)
	if code != http.StatusBadRequest || !strings.Contains(body, "'updates[1].status.uuid'") {
		t.Fatalf("a call with a bad second update: %d %s; want 400 naming updates[1].status.uuid", code, body)
	}

	if code, body := ag.sendAll(agentUpdate(fw.id, "a", api.TaskRunning, 1), agentUpdate(fw.id, "b", api.TaskRunning, 2),
		agentUpdate(fw.id, "a", api.TaskFinished, 3)); code != http.StatusAccepted {
		t.Fatalf("agent UPDATE: %d %s", code, body)
	}
	for _, want := range []struct {
		task  string
		state api.TaskState
		uuid  byte
	}{{"a", api.TaskRunning, 1}, {"b", api.TaskRunning, 2}} {
		st := fw.update(want.task)
		if st.State != want.state || !bytes.Equal(st.UUID, bytes.Repeat([]byte{want.uuid}, 16)) {
			t.Fatalf("the framework's first update for %s is %s with UUID %x; want %s with %d",
				want.task, st.State, st.UUID, want.state, want.uuid)
		}
	}
}
