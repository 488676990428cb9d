package master

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// operator makes an operator call and decodes the answer.
func (tm *testMaster) operator(t *testing.T, call api.OperatorCall) (int, *api.OperatorResponse, string) {
	t.Helper()
	code, body := tm.status(t, "/api/v1", call)
	var resp api.OperatorResponse
	if code == http.StatusOK && body != "" {
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatalf("%s answer %q: %v", call.Type, body, err)
		}
	}
	return code, &resp, body
}

func TestOperatorQueries(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	task := commandTask("t", o, 1, 128)
	task.Executor = &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}, Command: &api.CommandInfo{Value: "x"}}
	task.Command = nil
	fw.mustCall(launch(o, task))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	tests := []struct {
		call  api.OperatorCallType
		check func(*api.OperatorResponse) bool
	}{
		{api.OperatorGetHealth, func(r *api.OperatorResponse) bool { return r.GetHealth != nil && r.GetHealth.Healthy }},
		{api.OperatorGetVersion, func(r *api.OperatorResponse) bool {
			return r.GetVersion != nil && r.GetVersion.VersionInfo.Version == Version
		}},
		{api.OperatorGetFlags, func(r *api.OperatorResponse) bool { return r.GetFlags != nil && len(r.GetFlags.Flags) > 0 }},
		{api.OperatorGetMaster, func(r *api.OperatorResponse) bool {
			return r.GetMaster != nil && r.GetMaster.MasterInfo.ID == tm.ID()
		}},
		{api.OperatorGetAgents, func(r *api.OperatorResponse) bool {
			return r.GetAgents != nil && len(r.GetAgents.Agents) == 1 && r.GetAgents.Agents[0].Active &&
				api.Resources(r.GetAgents.Agents[0].AllocatedResources).ScalarValue("cpus") == 1
		}},
		{api.OperatorGetFrameworks, func(r *api.OperatorResponse) bool {
			return r.GetFrameworks != nil && len(r.GetFrameworks.Frameworks) == 1 && r.GetFrameworks.Frameworks[0].Connected
		}},
		{api.OperatorGetTasks, func(r *api.OperatorResponse) bool {
			return r.GetTasks != nil && len(r.GetTasks.Tasks) == 1 && r.GetTasks.Tasks[0].State == api.TaskStaging
		}},
		{api.OperatorGetExecutors, func(r *api.OperatorResponse) bool {
			return r.GetExecutors != nil && len(r.GetExecutors.Executors) == 1 && r.GetExecutors.Executors[0].ExecutorInfo.ExecutorID.Value == "e"
		}},
		{api.OperatorGetState, func(r *api.OperatorResponse) bool {
			return r.GetState != nil && r.GetState.GetTasks != nil && len(r.GetState.GetAgents.Agents) == 1
		}},
		{api.OperatorGetRoles, func(r *api.OperatorResponse) bool {
			return r.GetRoles != nil && len(r.GetRoles.Roles) == 1 && r.GetRoles.Roles[0].Name == "*" &&
				api.Resources(r.GetRoles.Roles[0].Allocated).ScalarValue("cpus") == 1
		}},
		{api.OperatorGetWeights, func(r *api.OperatorResponse) bool { return r.GetWeights != nil }},
		{api.OperatorGetQuota, func(r *api.OperatorResponse) bool { return r.GetQuota != nil }},
		{api.OperatorGetMetrics, func(r *api.OperatorResponse) bool {
			if r.GetMetrics == nil {
				return false
			}
			for _, m := range r.GetMetrics.Metrics {
				if m.Name == `mezzo_tasks{state="TASK_STAGING"}` && m.Value == 1 {
					return true
				}
			}
			return false
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.call), func(t *testing.T) {
			call := api.OperatorCall{Type: tt.call}
			if tt.call == api.OperatorGetMetrics {
				call.GetMetrics = &api.GetMetrics{} // required, as in Mesos
			}
			code, resp, body := tm.operator(t, call)
			if code != http.StatusOK || resp.Type != tt.call || !tt.check(resp) {
				t.Fatalf("%s: %d %s", tt.call, code, body)
			}
		})
	}
	t.Run("unknown call is 501", func(t *testing.T) {
		if code, _, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetOperations}); code != http.StatusNotImplemented {
			t.Fatalf("GET_OPERATIONS: %d, want 501", code)
		}
	})
	t.Run("garbage is 400", func(t *testing.T) {
		if code, body := tm.status(t, "/api/v1", `{"type":`); code != http.StatusBadRequest || body == "" {
			t.Fatalf("garbage: %d %q", code, body)
		}
	})
}

func TestWeightsAndQuota(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:4;mem:4096;zones:{a,b}")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"web"},
		Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 2, 128)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	tests := []struct {
		name string
		call api.OperatorCall
		want int
	}{
		{"weight for *", api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
			WeightInfos: []api.WeightInfo{{Role: "*", Weight: 2}}}}, 400},
		{"negative weight", api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
			WeightInfos: []api.WeightInfo{{Role: "web", Weight: -1}}}}, 400},
		{"weight", api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
			WeightInfos: []api.WeightInfo{{Role: "web", Weight: 2.5}}}}, 200},
		{"limit below consumption", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 1}}}}}}, 400},
		{"guarantee above limit", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Guarantees: map[string]api.Scalar{"cpus": {Value: 4}},
				Limits: map[string]api.Scalar{"cpus": {Value: 3}}}}}}, 400},
		{"limit on ports", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"ports": {Value: 3}}}}}}, 400},
		{"guarantee on a set the agents have", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Guarantees: map[string]api.Scalar{"zones": {Value: 1}}}}}}, 400},
		{"forced limit", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{Force: true,
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 1}}}}}}, 200},
		{"limit", api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
			QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 3}}}}}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, body := tm.operator(t, tt.call); code != tt.want {
				t.Fatalf("%d %s, want %d", code, body, tt.want)
			}
		})
	}
	_, resp, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetWeights})
	if w := resp.GetWeights.WeightInfos; len(w) != 1 || w[0].Role != "web" || w[0].Weight != 2.5 {
		t.Errorf("weights %+v", w)
	}
	_, resp, _ = tm.operator(t, api.OperatorCall{Type: api.OperatorGetQuota})
	if q := resp.GetQuota.Status.Configs; len(q) != 1 || q[0].Limits["cpus"].Value != 3 {
		t.Errorf("quota %+v", q)
	}
	_, resp, _ = tm.operator(t, api.OperatorCall{Type: api.OperatorGetRoles})
	if r := resp.GetRoles.Roles; len(r) != 1 || r[0].Weight != 2.5 || r[0].Quota == nil || r[0].Quota.Consumed["cpus"].Value != 2 {
		t.Errorf("roles %+v", r)
	}
}

// TestOperatorSubscribe follows the operator event stream through every
// event type: SUBSCRIBED with the state, AGENT_ADDED, FRAMEWORK_ADDED,
// TASK_ADDED, TASK_UPDATED, FRAMEWORK_UPDATED, HEARTBEAT, AGENT_REMOVED
// and FRAMEWORK_REMOVED.
func TestOperatorSubscribe(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.HeartbeatInterval = 50 * time.Millisecond })
	early := tm.agent(t, "cpus:1;mem:128")
	s := openStream[api.OperatorEvent](t, tm.post(t, "/api/v1", api.OperatorCall{Type: api.OperatorSubscribe}))
	if ev := s.next(func(api.OperatorEvent) bool { return true }); ev.Type != api.OperatorEventSubscribed || ev.Subscribed.GetState == nil ||
		len(ev.Subscribed.GetState.GetAgents.Agents) != 1 || ev.Subscribed.HeartbeatIntervalSeconds == nil {
		t.Fatalf("first event %+v, want SUBSCRIBED with the state (one agent) and the heartbeat interval", ev)
	}
	s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventHeartbeat })
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorMarkAgentGone,
		MarkAgentGone: &api.MarkAgentGone{AgentID: api.AgentID{Value: early.id}}}); code != http.StatusOK {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, body)
	}
	if ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventAgentRemoved }); ev.AgentRemoved.AgentID.Value != early.id {
		t.Fatalf("AGENT_REMOVED %+v", ev.AgentRemoved)
	}
	ag := tm.agent(t, "cpus:2;mem:1024")
	if ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventAgentAdded }); ev.AgentAdded.Agent.AgentInfo.ID.Value != ag.id {
		t.Fatalf("AGENT_ADDED %+v", ev.AgentAdded)
	}
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventFrameworkAdded })
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	if ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventTaskAdded }); ev.TaskAdded.Task.TaskID.Value != "t" {
		t.Fatalf("TASK_ADDED %+v", ev.TaskAdded)
	}
	ag.send(fw.id, "t", api.TaskRunning, 1)
	ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventTaskUpdated })
	if ev.TaskUpdated.State != api.TaskRunning || len(ev.TaskUpdated.Status.UUID) != 0 {
		t.Fatalf("TASK_UPDATED %+v", ev.TaskUpdated)
	}
	again := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", ID: &api.FrameworkID{Value: fw.id}})
	if ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventFrameworkUpdated }); ev.FrameworkUpdated.Framework.FrameworkInfo.ID.Value != fw.id {
		t.Fatalf("FRAMEWORK_UPDATED %+v", ev.FrameworkUpdated)
	}
	again.mustCall(api.Call{Type: api.CallTeardown})
	if ev := s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventFrameworkRemoved }); ev.FrameworkRemoved.FrameworkInfo.ID.Value != fw.id {
		t.Fatalf("FRAMEWORK_REMOVED %+v", ev.FrameworkRemoved)
	}
}

func TestDrainAgent(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	ag.send(fw.id, "t", api.TaskRunning, 1)
	st := fw.update("t")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: &api.DrainAgent{
		AgentID: api.AgentID{Value: ag.id}, MaxGracePeriod: &api.ProtoDuration{Seconds: 1}}})
	if code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, body)
	}
	kill := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill })
	if kill.Kill.TaskID.Value != "t" || kill.Kill.KillPolicy == nil || kill.Kill.KillPolicy.GracePeriod.Nanoseconds != 1e9 {
		t.Fatalf("KILL %+v", kill.Kill)
	}
	drainState := func() api.DrainState {
		_, resp, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetAgents})
		a := resp.GetAgents.Agents[0]
		if !a.Deactivated || a.DrainInfo == nil {
			t.Fatalf("draining agent %+v", a)
		}
		return a.DrainInfo.State
	}
	if s := drainState(); s != api.DrainDraining {
		t.Fatalf("drain state %s before the task ended", s)
	}
	ag.send(fw.id, "t", api.TaskKilled, 2)
	st = fw.update("t")
	if s := drainState(); s != api.DrainDraining {
		t.Fatalf("drain state %s before the terminal update was acknowledged", s)
	}
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	if s := drainState(); s != api.DrainDrained {
		t.Fatalf("drain state %s after the task ended, want DRAINED", s)
	}
	tm.allocatePass(time.Now(), true)
	tm.mu.Lock()
	n := len(tm.offers)
	tm.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d offers of a drained agent", n)
	}
	if code, _, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorReactivateAgent, ReactivateAgent: &api.ReactivateAgent{AgentID: api.AgentID{Value: ag.id}}}); code != 200 {
		t.Fatalf("REACTIVATE_AGENT: %d", code)
	}
	fw.offer()
}

func TestMarkAgentGone(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorMarkAgentGone, MarkAgentGone: &api.MarkAgentGone{AgentID: api.AgentID{Value: ag.id}}}); code != 200 {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, body)
	}
	if st := fw.update("t"); st.State != api.TaskGoneByOperator || st.Reason != api.ReasonAgentRemovedByOperator {
		t.Fatalf("update %+v", st)
	}
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdown }); !strings.Contains(ev.Shutdown.Message, "gone") {
		t.Fatalf("agent got %+v, want SHUTDOWN saying it is gone", ev)
	}
	res, _ := api.ParseResources("cpus:2;mem:1024")
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: ag.id}, Resources: res}}})
	s := openStream[api.AgentEvent](t, resp)
	if ev := s.next(func(api.AgentEvent) bool { return true }); ev.Type != api.AgentEventShutdown {
		t.Fatalf("a gone agent re-registering got %+v, want SHUTDOWN", ev)
	}
}

// TestMetricsAndVersion scrapes /metrics as Prometheus does and checks
// every family the master promises, with values from a small scenario:
// one task running, an offer declined, one outstanding, then rescinded.
func TestMetricsAndVersion(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	call := launch(o, commandTask("t", o, 1, 128))
	call.Accept.Filters = &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}
	fw.mustCall(call)
	o = fw.offer() // what the task leaves
	ag.send(fw.id, "t", api.TaskRunning, 1)
	fw.update("t")
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}}})
	fw.offer()
	tm.status(t, "/api/v1/scheduler", "garbage")
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(tm.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("/metrics Content-Type %q, want Prometheus text", ct)
		}
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	check := func(body string, want []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, "\n"+w+"\n") {
				t.Errorf("/metrics lacks the line %s", w)
			}
		}
	}
	check(scrape(), []string{
		`mezzo_agents{state="active"} 1`,
		`mezzo_agents{state="deactivated"} 0`,
		`mezzo_agents{state="disconnected"} 0`,
		`mezzo_agents{state="unreachable"} 0`,
		`mezzo_frameworks{state="connected"} 1`,
		`mezzo_frameworks{state="disconnected"} 0`,
		`mezzo_frameworks{state="completed"} 0`,
		`mezzo_offers_outstanding 1`,
		`mezzo_offers_total{outcome="made"} 3`,
		`mezzo_offers_total{outcome="accepted"} 1`,
		`mezzo_offers_total{outcome="declined"} 1`,
		`mezzo_offers_total{outcome="rescinded"} 0`,
		`mezzo_tasks{state="TASK_RUNNING"} 1`,
		`mezzo_tasks{state="TASK_STAGING"} 0`,
		`mezzo_tasks_terminal_total{state="TASK_FINISHED"} 0`,
		`mezzo_resources{kind="total",resource="cpus"} 2`,
		`mezzo_resources{kind="used",resource="cpus"} 1`,
		`mezzo_resources{kind="offered",resource="cpus"} 1`,
		`mezzo_resources{kind="used",resource="mem"} 128`,
		`mezzo_event_queue_depth{subscriber="framework"} 0`,
		`mezzo_event_queue_depth{subscriber="agent"} 0`,
		`mezzo_event_queue_depth{subscriber="operator"} 0`,
		`mezzo_api_calls_total{api="scheduler",code="400",type=""} 1`,
		`mezzo_api_calls_total{api="scheduler",code="202",type="DECLINE"} 1`,
		`mezzo_api_calls_total{api="agent",code="202",type="UPDATE"} 1`,
		`# TYPE mezzo_allocation_pass_seconds histogram`,
	})
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorDeactivateAgent,
		DeactivateAgent: &api.DeactivateAgent{AgentID: api.AgentID{Value: ag.id}}}); code != http.StatusOK {
		t.Fatalf("DEACTIVATE_AGENT: %d %s", code, body)
	}
	ag.send(fw.id, "t", api.TaskFinished, 2)
	fw.update("t")
	body := scrape()
	check(body, []string{
		`mezzo_agents{state="deactivated"} 1`,
		`mezzo_agents{state="active"} 0`,
		`mezzo_offers_outstanding 0`,
		`mezzo_offers_total{outcome="rescinded"} 1`,
		`mezzo_resources{kind="offered",resource="cpus"} 0`,
		`mezzo_tasks_terminal_total{state="TASK_FINISHED"} 1`,
		`mezzo_api_calls_total{api="operator",code="200",type="DEACTIVATE_AGENT"} 1`,
	})
	if !strings.Contains(body, `mezzo_allocation_pass_seconds_bucket{le="`) || strings.Contains(body, "mezzo_allocation_pass_seconds_count 0\n") {
		t.Errorf("/metrics lacks allocation pass durations:\n%s", body)
	}

	resp, err := http.Get(tm.url + "/version")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version string }
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if !strings.HasPrefix(v.Version, "1.") {
		t.Errorf("/version %+v", v)
	}
}

func TestModuleStoreHTTP(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MaxModuleBytes = 64 })
	empty := "\x00asm\x01\x00\x00\x00"
	tests := []struct {
		name, body string
		want       int
		wantText   string
	}{
		{"valid", empty, 200, `"sha256":"`},
		{"not wasm", "hello", 400, "magic number"},
		{"too large", empty + strings.Repeat("\x00", 100), 413, "exceeds 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(tm.url+"/api/v1/modules", "application/wasm", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.wantText) {
				t.Fatalf("%d %s, want %d mentioning %q", resp.StatusCode, body, tt.want, tt.wantText)
			}
		})
	}
	for path, want := range map[string]int{
		"/api/v1/modules/" + strings.Repeat("0", 64): 404,
		"/api/v1/modules/../../etc/passwd":           400,
		"/api/v1/modules/XYZ":                        400,
	} {
		resp, err := http.Get(tm.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestVanishingWatchersAreForgotten(t *testing.T) {
	tm := startMaster(t)
	for range 3 {
		s := openStream[api.OperatorEvent](t, tm.post(t, "/api/v1", api.OperatorCall{Type: api.OperatorSubscribe}))
		s.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventSubscribed })
		s.resp.Body.Close() // the client goes away mid-stream
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Events make the master notice dead connections on write.
		tm.agent(t, "cpus:1;mem:64")
		tm.mu.Lock()
		n := len(tm.watchers)
		tm.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers remain after their clients went away", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperatorTeardown tears a framework down through the operator API:
// its tasks are killed on their agent, it becomes a completed framework,
// and naming a framework the master does not know is a 400.
func TestOperatorTeardown(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	teardown := func(id string) (int, string) {
		code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorTeardown,
			Teardown: &api.Teardown{FrameworkID: api.FrameworkID{Value: id}}})
		return code, body
	}
	if code, body := teardown(fw.id); code != http.StatusOK {
		t.Fatalf("TEARDOWN: %d %s", code, body)
	}
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework }); ev.ShutdownFramework.FrameworkID.Value != fw.id {
		t.Fatalf("agent told %+v", ev.ShutdownFramework)
	}
	fw.closed()
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
	if len(r.GetFrameworks.Frameworks) != 0 || len(r.GetFrameworks.CompletedFrameworks) != 1 {
		t.Fatalf("frameworks after TEARDOWN: %+v", r.GetFrameworks)
	}
	if code, body := teardown("no-such-framework"); code != http.StatusBadRequest || !strings.Contains(body, "cannot be found") {
		t.Fatalf("TEARDOWN of an unknown framework: %d %q, want 400", code, body)
	}
}

// TestDrainMarkGone drains an idle agent with mark_gone: it is DRAINED at
// once, then gone, so it leaves GET_AGENTS and may not come back.
func TestDrainMarkGone(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: &api.DrainAgent{
		AgentID: api.AgentID{Value: ag.id}, MarkGone: true}}); code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, body)
	}
	if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdown }); !strings.Contains(ev.Shutdown.Message, "gone") {
		t.Fatalf("agent got %+v, want SHUTDOWN saying it is gone", ev)
	}
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetAgents})
	if len(r.GetAgents.Agents) != 0 {
		t.Fatalf("agents after a drain with mark_gone: %+v", r.GetAgents.Agents)
	}
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: &api.DrainAgent{
		AgentID: api.AgentID{Value: ag.id}}}); code != http.StatusBadRequest || !strings.Contains(body, "cannot be found") {
		t.Fatalf("DRAIN_AGENT of a gone agent: %d %q, want 400", code, body)
	}
}
