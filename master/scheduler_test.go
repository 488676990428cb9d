package master

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestSchedulerHTTPErrors(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MaxCallBytes = 4096 })
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	tests := []struct {
		name        string
		contentType string
		accept      string
		streamID    string
		body        string
		want        int
		wantText    string
	}{
		{name: "no content type", body: `{}`, want: 400, wantText: "Content-Type"},
		{name: "wrong content type", contentType: "text/plain", body: `{}`, want: 415},
		{name: "protobuf", contentType: "application/x-protobuf", body: `{}`, want: 415},
		{name: "unacceptable accept", contentType: "application/json", accept: "text/html", body: `{}`, want: 406},
		{name: "garbage", contentType: "application/json", body: `garbage`, want: 400},
		{name: "truncated", contentType: "application/json", body: `{"type":"SUBSCRIBE"`, want: 400},
		{name: "subscribe without info", contentType: "application/json", body: `{"type":"SUBSCRIBE"}`, want: 400},
		{name: "too large", contentType: "application/json", body: `{"type":"` + strings.Repeat("A", 5000) + `"}`, want: 413},
		{name: "subscribe with stream id", contentType: "application/json", streamID: "x",
			body: `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`, want: 400, wantText: "Mesos-Stream-Id"},
		{name: "call without stream id", contentType: "application/json",
			body: `{"type":"REVIVE","framework_id":{"value":"` + fw.id + `"},"revive":{}}`, want: 400, wantText: "Mesos-Stream-Id"},
		{name: "unknown framework", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"REVIVE","framework_id":{"value":"nope"},"revive":{}}`, want: 400, wantText: "Framework cannot be found"},
		{name: "wrong stream id", contentType: "application/json", streamID: "other",
			body: `{"type":"REVIVE","framework_id":{"value":"` + fw.id + `"},"revive":{}}`, want: 400, wantText: "stream ID"},
		{name: "good call", contentType: "application/json", streamID: fw.streamID, accept: "application/json",
			body: `{"type":"REVIVE","framework_id":{"value":"` + fw.id + `"},"revive":{}}`, want: 202},
		{name: "revive without its payload", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"REVIVE","framework_id":{"value":"` + fw.id + `"}}`, want: 202},
		{name: "suppress without its payload", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"SUPPRESS","framework_id":{"value":"` + fw.id + `"}}`, want: 202},
		{name: "request is accepted and ignored", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"REQUEST","framework_id":{"value":"` + fw.id + `"},"request":{}}`, want: 202},
		{name: "unknown call type", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"UNKNOWN","framework_id":{"value":"` + fw.id + `"}}`, want: 501},
		{name: "call type Mesos does not have", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"FROBNICATE","framework_id":{"value":"` + fw.id + `"}}`, want: 400, wantText: "FROBNICATE"},
		{name: "call without its payload", contentType: "application/json", streamID: fw.streamID,
			body: `{"type":"KILL","framework_id":{"value":"` + fw.id + `"}}`, want: 400, wantText: "kill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tm.url+"/api/v1/scheduler", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			if tt.streamID != "" {
				req.Header.Set("Mesos-Stream-Id", tt.streamID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, buf.String(), tt.want)
			}
			if tt.want >= 400 && strings.TrimSpace(buf.String()) == "" {
				t.Errorf("error answer has no message")
			}
			if tt.want == 202 && buf.Len() != 0 {
				t.Errorf("202 answer has a body %q", buf.String())
			}
			if !strings.Contains(buf.String(), tt.wantText) {
				t.Errorf("answer %q does not mention %q", buf.String(), tt.wantText)
			}
		})
	}
	t.Run("disconnected framework is 403", func(t *testing.T) {
		gone := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "away", FailoverTimeout: 3600})
		gone.resp.Body.Close()
		waitUntil(t, "the framework to be disconnected", func() bool {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			return !tm.frameworks[gone.id].connected()
		})
		if code, body := gone.call(api.Call{Type: api.CallRevive, Revive: &api.Revive{}}); code != http.StatusForbidden ||
			!strings.Contains(body, "not subscribed") {
			t.Fatalf("call of a disconnected framework: %d %q, want 403 Framework is not subscribed", code, body)
		}
	})
	t.Run("GET is 405", func(t *testing.T) {
		resp, err := http.Get(tm.url + "/api/v1/scheduler")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d, want 405", resp.StatusCode)
		}
	})
}

func TestSubscribeStream(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.HeartbeatInterval = 50 * time.Millisecond })
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f"}}})
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want exactly application/json", ct)
	}
	if resp.ContentLength != -1 {
		t.Errorf("Content-Length %d, want a chunked answer", resp.ContentLength)
	}
	s := openStream[api.Event](t, resp)
	if s.streamID == "" {
		t.Fatal("no Mesos-Stream-Id")
	}
	ev := s.next(func(api.Event) bool { return true })
	sub := ev.Subscribed
	if ev.Type != api.EventSubscribed || sub == nil || !strings.HasPrefix(sub.FrameworkID.Value, tm.ID()+"-") {
		t.Fatalf("first event %+v", ev)
	}
	if sub.MasterInfo == nil || sub.MasterInfo.ID != tm.ID() || sub.HeartbeatIntervalSeconds == nil {
		t.Fatalf("SUBSCRIBED lacks master info or heartbeat interval: %+v", sub)
	}
	s.next(func(ev api.Event) bool { return ev.Type == api.EventHeartbeat })
}

func TestNewSubscriptionEndsOldStream(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:2;mem:1024")
	old := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 60})
	stale := old.offer()
	again := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", ID: &api.FrameworkID{Value: old.id}})
	// The offer the old stream held goes back and is made anew to the new
	// one: nothing stays held by an offer no subscriber knows.
	if o := again.offer(); o.ID == stale.ID || api.Resources(o.Resources).ScalarValue("cpus") != 2 {
		t.Fatalf("after the failover, offer %s of %v cpus; want a new offer of the whole agent", o.ID.Value, api.Resources(o.Resources).ScalarValue("cpus"))
	}
	if again.id != old.id {
		t.Fatalf("re-subscription got ID %s, want %s", again.id, old.id)
	}
	ev := old.next(func(api.Event) bool { return true })
	if ev.Type != api.EventError || ev.Error == nil || ev.Error.Message == "" {
		t.Fatalf("old stream got %+v, want ERROR", ev)
	}
	old.closed()
	if code, _ := old.call(api.Call{Type: api.CallRevive, Revive: &api.Revive{}}); code != http.StatusBadRequest {
		t.Errorf("call on the old stream ID: %d, want 400", code)
	}
	again.mustCall(api.Call{Type: api.CallRevive, Revive: &api.Revive{}})
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, FrameworkID: &api.FrameworkID{Value: old.id},
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f", Principal: "someone-else", ID: &api.FrameworkID{Value: old.id}}}})
	if ev := openStream[api.Event](t, resp).next(func(api.Event) bool { return true }); ev.Type != api.EventError || !strings.Contains(ev.Error.Message, "principal") {
		t.Fatalf("re-subscription under another principal: %+v, want ERROR", ev)
	}
}

func TestLaunchLifecycle(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	if o.URL == nil || o.URL.Address.Port != 5051 || o.URL.Address.Hostname == "" || o.URL.Address.IP != "127.0.0.1" {
		t.Errorf("offer URL %+v lacks the agent's address", o.URL)
	}
	if got := api.Resources(o.Resources).ScalarValue("cpus"); got != 2 {
		t.Errorf("offered cpus %v, want 2", got)
	}
	for _, r := range o.Resources {
		if r.Role != "*" || r.AllocationInfo != nil {
			t.Errorf("resource %+v: want role * and no allocation_info for a framework without MULTI_ROLE", r)
		}
	}
	accept := launch(o, commandTask("t1", o, 0.5, 128))
	accept.Accept.Filters = &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}
	fw.mustCall(accept)
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	if len(ev.Launch.Tasks) != 1 || ev.Launch.Tasks[0].TaskID.Value != "t1" || ev.Launch.FrameworkInfo.ID.Value != fw.id {
		t.Fatalf("agent LAUNCH %+v", ev.Launch)
	}
	// What the task leaves is offered again at once: the accept asked for
	// no refusal filter on the unused resources.
	rest := fw.offer()
	if got := api.Resources(rest.Resources).ScalarValue("cpus"); got != 1.5 {
		t.Errorf("re-offered cpus %v, want 1.5", got)
	}
	ag.send(fw.id, "t1", api.TaskRunning, 1)
	st := fw.update("t1")
	if st.State != api.TaskRunning || len(st.UUID) != 16 || st.AgentID == nil || st.AgentID.Value != ag.id {
		t.Fatalf("update %+v", st)
	}
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: ag.id}, TaskID: api.TaskID{Value: "t1"}, UUID: st.UUID}})
	ack := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	if !bytes.Equal(ack.Acknowledged.UUID, st.UUID) {
		t.Fatalf("agent got ack %+v", ack.Acknowledged)
	}
	ag.send(fw.id, "t1", api.TaskFinished, 2)
	st = fw.update("t1")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: ag.id}, TaskID: api.TaskID{Value: "t1"}, UUID: st.UUID}})
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	tm.mu.Lock()
	tasks := tm.tasksView()
	free := tm.agents[ag.id].total.Minus(tm.agents[ag.id].used)
	tm.mu.Unlock()
	if len(tasks.Tasks) != 0 || len(tasks.CompletedTasks) != 1 || tasks.CompletedTasks[0].State != api.TaskFinished {
		t.Fatalf("tasks after finish: %+v", tasks)
	}
	if free.ScalarValue("cpus") != 2 {
		t.Errorf("agent free cpus %v after the task finished, want 2", free.ScalarValue("cpus"))
	}
}

func TestInvalidLaunches(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	tests := []struct {
		name       string
		caps       []api.FrameworkCapability
		task       func(api.Offer) api.TaskInfo
		badOffer   bool
		wantState  api.TaskState
		wantReason api.StatusReason
		wantText   string
	}{
		{name: "more than offered", task: func(o api.Offer) api.TaskInfo { return commandTask("big", o, 4, 128) },
			wantState: api.TaskError, wantReason: api.ReasonTaskInvalid, wantText: "more resources"},
		{name: "no resources", task: func(o api.Offer) api.TaskInfo {
			t := commandTask("none", o, 1, 1)
			t.Resources = nil
			return t
		}, wantState: api.TaskError, wantReason: api.ReasonTaskInvalid},
		{name: "bad task id", task: func(o api.Offer) api.TaskInfo { return commandTask("a/b", o, 1, 1) },
			wantState: api.TaskError, wantReason: api.ReasonTaskInvalid},
		{name: "missing module", task: func(o api.Offer) api.TaskInfo {
			t := commandTask("wasm", o, 1, 1)
			t.Command = nil
			t.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: strings.Repeat("ab", 32)}}
			return t
		}, wantState: api.TaskError, wantReason: api.ReasonTaskInvalid, wantText: "module store"},
		{name: "unknown offer", badOffer: true, task: func(o api.Offer) api.TaskInfo { return commandTask("lost", o, 1, 1) },
			wantState: api.TaskLost, wantReason: api.ReasonInvalidOffers},
		{name: "unknown offer, partition-aware", badOffer: true, caps: []api.FrameworkCapability{{Type: api.CapPartitionAware}},
			task:      func(o api.Offer) api.TaskInfo { return commandTask("dropped", o, 1, 1) },
			wantState: api.TaskDropped, wantReason: api.ReasonInvalidOffers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: tt.name, Capabilities: tt.caps})
			o := fw.offer()
			task := tt.task(o)
			call := launch(o, task)
			if tt.badOffer {
				call.Accept.OfferIDs = []api.OfferID{{Value: "no-such-offer"}}
			}
			fw.mustCall(call)
			st := fw.update(task.TaskID.Value)
			if st.State != tt.wantState || st.Reason != tt.wantReason || len(st.UUID) != 0 || st.Source != api.SourceMaster {
				t.Fatalf("update %+v, want %s/%s from the master without a UUID", st, tt.wantState, tt.wantReason)
			}
			if !strings.Contains(st.Message, tt.wantText) {
				t.Errorf("message %q does not mention %q", st.Message, tt.wantText)
			}
			fw.mustCall(api.Call{Type: api.CallTeardown})
		})
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if used := tm.agents[ag.id].used; !used.Empty() {
		t.Errorf("agent has %s in use after only invalid launches", used)
	}
}

func TestDeclineFilters(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}}})
	o = fw.offer() // refuse_seconds 0: offered again at once
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(3600))}}})
	tm.allocatePass(time.Now(), true)
	tm.mu.Lock()
	n := len(tm.frameworks[fw.id].offers)
	tm.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d offers to a framework that refused the agent for an hour", n)
	}
	tm.allocatePass(time.Now().Add(time.Hour+time.Second), true)
	tm.mu.Lock()
	n = len(tm.frameworks[fw.id].offers)
	tm.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d offers once the filter expired, want 1", n)
	}
	fw.mustCall(api.Call{Type: api.CallSuppress, Suppress: &api.Suppress{}})
	o = fw.offer()
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}}})
	tm.allocatePass(time.Now(), true)
	tm.mu.Lock()
	n = len(tm.frameworks[fw.id].offers)
	tm.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d offers to a suppressed framework", n)
	}
	fw.mustCall(api.Call{Type: api.CallRevive, Revive: &api.Revive{}})
	fw.offer()
}

func TestUpdateResentAfterResubscribe(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 60})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	ag.send(fw.id, "t", api.TaskRunning, 7)
	first := fw.update("t")
	// The framework fails over before acknowledging.
	again := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", ID: &api.FrameworkID{Value: fw.id}})
	st := again.update("t")
	if !bytes.Equal(st.UUID, first.UUID) || st.State != api.TaskRunning {
		t.Fatalf("resent update %+v, want the unacknowledged one", st)
	}
	// An agent's retry of the same update is forwarded again too.
	ag.send(fw.id, "t", api.TaskRunning, 7)
	if st := again.update("t"); !bytes.Equal(st.UUID, first.UUID) {
		t.Fatalf("retry %+v", st)
	}
}

func TestTeardownKillsTasks(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	ag.send(fw.id, "t", api.TaskRunning, 1)
	fw.update("t")
	fw.mustCall(api.Call{Type: api.CallTeardown})
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventShutdownFramework })
	if ev.ShutdownFramework.FrameworkID.Value != fw.id {
		t.Fatalf("shutdown %+v", ev.ShutdownFramework)
	}
	fw.closed()
	tm.mu.Lock()
	frameworks := tm.frameworksView()
	used := tm.agents[ag.id].used
	tm.mu.Unlock()
	if len(frameworks.Frameworks) != 0 || len(frameworks.CompletedFrameworks) != 1 {
		t.Fatalf("frameworks after teardown: %+v", frameworks)
	}
	if !used.Empty() {
		t.Errorf("agent still has %s in use", used)
	}
	// The agent's late update for the removed framework is acknowledged on
	// its behalf so that the agent stops retrying.
	ag.send(fw.id, "t", api.TaskKilled, 2)
	ack := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	if ack.Acknowledged.TaskID.Value != "t" {
		t.Fatalf("ack %+v", ack.Acknowledged)
	}
	// A removed framework cannot come back.
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, FrameworkID: &api.FrameworkID{Value: fw.id},
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f", ID: &api.FrameworkID{Value: fw.id}}}})
	s := openStream[api.Event](t, resp)
	if ev := s.next(func(api.Event) bool { return true }); ev.Type != api.EventError {
		t.Fatalf("re-subscribing a removed framework: %+v, want ERROR", ev)
	}
}

func TestAgentUnreachable(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = 50 * time.Millisecond })
	ag := tm.agent(t, "cpus:2;mem:1024")
	aware := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "aware",
		Capabilities: []api.FrameworkCapability{{Type: api.CapPartitionAware}}})
	o := aware.offer()
	aware.mustCall(launch(o, commandTask("a", o, 1, 128)))
	legacy := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "legacy"})
	o = legacy.offer()
	legacy.mustCall(launch(o, commandTask("l", o, 1, 128)))
	ag.send(aware.id, "a", api.TaskRunning, 1)
	aware.update("a")
	ag.send(legacy.id, "l", api.TaskRunning, 2)
	legacy.update("l")
	watch := openStream[api.OperatorEvent](t, tm.post(t, "/api/v1", api.OperatorCall{Type: api.OperatorSubscribe}))
	watch.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventSubscribed })
	ag.resp.Body.Close() // the agent goes away
	if st := aware.update("a"); st.State != api.TaskUnreachable || st.Reason != api.ReasonAgentRemoved || st.UnreachableTime == nil || len(st.UUID) != 0 {
		t.Errorf("partition-aware framework got %+v, want TASK_UNREACHABLE without a UUID", st)
	}
	if st := legacy.update("l"); st.State != api.TaskLost || st.Reason != api.ReasonAgentRemoved || len(st.UUID) != 0 {
		t.Errorf("legacy framework got %+v, want TASK_LOST without a UUID", st)
	}
	if ev := aware.next(func(ev api.Event) bool { return ev.Type == api.EventFailure }); ev.Failure.AgentID == nil || ev.Failure.AgentID.Value != ag.id {
		t.Errorf("FAILURE %+v, want one naming the agent", ev.Failure)
	}
	if ev := watch.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventAgentRemoved }); ev.AgentRemoved.AgentID.Value != ag.id {
		t.Errorf("AGENT_REMOVED %+v", ev.AgentRemoved)
	}
	// Both tasks are listed as unreachable, the lost one too, as Mesos
	// lists them.
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetTasks})
	if live, away := r.GetTasks.Tasks, r.GetTasks.UnreachableTasks; len(live) != 0 || len(away) != 2 {
		t.Errorf("GET_TASKS with the agent unreachable: %d live, %d unreachable; want 0 and 2", len(live), len(away))
	}

	// The agent comes back, still running both tasks: the partition-aware
	// one goes on, the other — its framework was told it is lost — is
	// killed, as Mesos shuts such frameworks down on a returning agent.
	res, _ := api.ParseResources("cpus:2;mem:1024")
	running := func(fw *testFramework, id string) api.Task {
		return api.Task{TaskID: api.TaskID{Value: id}, FrameworkID: api.FrameworkID{Value: fw.id},
			AgentID: api.AgentID{Value: ag.id}, State: api.TaskRunning}
	}
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", ID: &api.AgentID{Value: ag.id}, Resources: res},
		Tasks:     []api.Task{running(aware, "a"), running(legacy, "l")},
	}})
	back := openStream[api.AgentEvent](t, resp)
	if ev := back.next(func(api.AgentEvent) bool { return true }); ev.Type != api.AgentEventSubscribed {
		t.Fatalf("first event to the returning agent: %s, want SUBSCRIBED", ev.Type)
	}
	if ev := back.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill }); ev.Kill.TaskID.Value != "l" {
		t.Fatalf("killed %+v, want the lost task l", ev.Kill)
	}
	if st := aware.update("a"); st.State != api.TaskRunning || len(st.UUID) != 0 {
		t.Errorf("partition-aware task after the agent came back: %+v, want TASK_RUNNING without a UUID", st)
	}
	if ev := watch.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventAgentAdded }); ev.AgentAdded.Agent.AgentInfo.ID.Value != ag.id {
		t.Errorf("AGENT_ADDED %+v", ev.AgentAdded)
	}
	tm.mu.Lock()
	_, stillLive := tm.frameworks[legacy.id].tasks["l"]
	used := tm.agents[ag.id].used.ScalarValue("cpus")
	tm.mu.Unlock()
	if stillLive || used != 1 {
		t.Errorf("after the agent came back: lost task still live %v, used cpus %v (want only the partition-aware task's 1)", stillLive, used)
	}
}

// TestAcknowledgeReachesTheTasksAgent acknowledges an update naming
// another agent than the task's: the task's agent hears of it, since
// another would drop it and the task's would resend the update for ever.
func TestAcknowledgeReachesTheTasksAgent(t *testing.T) {
	tm := startMaster(t)
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t1", o, 0.5, 128)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	other := tm.agent(t, "cpus:2;mem:1024")
	ag.send(fw.id, "t1", api.TaskRunning, 1)
	st := fw.update("t1")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: other.id}, TaskID: api.TaskID{Value: "t1"}, UUID: st.UUID}})
	ack := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventAcknowledged })
	if ack.Acknowledged.TaskID.Value != "t1" || !bytes.Equal(ack.Acknowledged.UUID, st.UUID) {
		t.Fatalf("the task's agent got ack %+v", ack.Acknowledged)
	}
}
