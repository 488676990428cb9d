package master

import (
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// TestReconcileUnknownTasks checks explicit reconciliation of tasks the
// master does not know against Mesos's cases (reference §2.4), for a
// partition-aware framework and for one that is not (which gets
// TASK_LOST wherever the other gets something else).
func TestReconcileUnknownTasks(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
	registered := tm.agent(t, "cpus:1;mem:128")
	away := tm.agent(t, "cpus:1;mem:128")
	gone := tm.agent(t, "cpus:1;mem:128")
	away.resp.Body.Close()
	waitUntil(t, "the agent to be unreachable", func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return tm.agents[away.id].unreachable
	})
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorMarkAgentGone,
		MarkAgentGone: &api.MarkAgentGone{AgentID: api.AgentID{Value: gone.id}}}); code != 200 {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, body)
	}
	aware := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "aware",
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	legacy := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "legacy"})
	tests := []struct {
		name        string
		agent       string // "" names none
		aware       api.TaskState
		wantMessage string
	}{
		{"registered agent", registered.id, api.TaskGone, "unknown to the agent"},
		{"unreachable agent", away.id, api.TaskUnreachable, "unreachable"},
		{"agent marked gone", gone.id, api.TaskGoneByOperator, "gone"},
		{"unknown agent", "no-such-agent", api.TaskUnknown, "unknown"},
		{"no agent named", "", api.TaskUnknown, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fw := range []*testFramework{aware, legacy} {
				want := tt.aware
				if fw == legacy {
					want = api.TaskLost
				}
				rt := api.ReconcileTask{TaskID: api.TaskID{Value: "x-" + tt.name}}
				if tt.agent != "" {
					rt.AgentID = &api.AgentID{Value: tt.agent}
				}
				fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: []api.ReconcileTask{rt}}})
				st := fw.update(rt.TaskID.Value)
				switch {
				case st.State != want || st.Reason != api.ReasonReconciliation || st.Source != api.SourceMaster:
					t.Errorf("%s: %+v, want %s/REASON_RECONCILIATION from the master", fw.id, st, want)
				case len(st.UUID) != 0:
					t.Errorf("%s: a reconciliation answer carries a UUID: %+v", fw.id, st)
				case (st.State == api.TaskUnreachable) != (st.UnreachableTime != nil):
					t.Errorf("%s: unreachable_time %+v with state %s", fw.id, st.UnreachableTime, st.State)
				}
			}
		})
	}
}

// TestReconcileRecoveredAgent checks the case only a new leader has: an
// agent it knows from the registry has not re-registered yet, so it
// cannot say whether a task it does not know runs there, and it leaves
// the question unanswered (as it does when no agent is named) until the
// agent is back.
func TestReconcileRecoveredAgent(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag := first.agent(t, "cpus:1;mem:128")
	waitRegistry(t, first.reg, "the agent", func(s *registry.State) bool { _, ok := s.Agents[ag.id]; return ok })
	first.stop()

	second := startReplicatedMaster(t, dir, raftAddr)
	fw := second.subscribe(t, api.FrameworkInfo{User: "u", Name: "f",
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	reconcile := func(task, agent string) {
		rt := api.ReconcileTask{TaskID: api.TaskID{Value: task}}
		if agent != "" {
			rt.AgentID = &api.AgentID{Value: agent}
		}
		fw.mustCall(api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: []api.ReconcileTask{rt}}})
	}
	reconcile("on-recovered", ag.id)
	reconcile("nowhere", "")
	// Updates come in order: once the answer about an unknown agent is
	// in, the two before it would have been too.
	reconcile("marker", "no-such-agent")
	ev := fw.next(func(ev api.Event) bool { return ev.Type == api.EventUpdate })
	if id := ev.Update.Status.TaskID.Value; id != "marker" {
		t.Fatalf("with the agent not back yet, the master answered about %s: %+v", id, ev.Update.Status)
	}

	res, _ := api.ParseResources("cpus:1;mem:128")
	resp := second.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: ag.id}, Resources: res}}})
	back := openStream[api.AgentEvent](t, resp)
	back.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventSubscribed })
	reconcile("on-recovered", ag.id)
	if st := fw.update("on-recovered"); st.State != api.TaskGone {
		t.Fatalf("once the agent is back: %+v, want TASK_GONE", st)
	}
	reconcile("nowhere", "")
	if st := fw.update("nowhere"); st.State != api.TaskUnknown {
		t.Fatalf("once every agent is back: %+v, want TASK_UNKNOWN", st)
	}
}
