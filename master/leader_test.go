package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// replicatedMaster is a master over a real registry of one member (bbolt
// files in dir, raft on a loopback listener), which the test can stop and
// start again on the same files.
type replicatedMaster struct {
	*testMaster
	reg  *registry.Registry
	stop func()
}

func startReplicatedMaster(t testing.TB, dir, raftAddr string) *replicatedMaster {
	t.Helper()
	ln, err := net.Listen("tcp", raftAddr)
	if err != nil {
		t.Fatal(err)
	}
	mux := registry.NewMux(ln)
	rcfg := registry.DefaultConfig()
	rcfg.Dir, rcfg.Addr, rcfg.Transport = dir, ln.Addr().String(), mux.Raft()
	reg, err := registry.Open(context.Background(), rcfg)
	if err != nil {
		t.Fatal(err)
	}
	rm := runReplicated(t, dir, reg, mux)
	deadline := time.Now().Add(30 * time.Second)
	for !rm.Leading() {
		if time.Now().After(deadline) {
			t.Fatal("the master did not become leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rm
}

// runReplicated runs a master over reg, its work directory dir, serving
// its APIs on a test server, until the test ends or stop is called, which
// closes reg and mux too.
func runReplicated(t testing.TB, dir string, reg *registry.Registry, mux *registry.Mux) *replicatedMaster {
	t.Helper()
	cfg := DefaultConfig()
	cfg.WorkDir, cfg.AllocationBatch, cfg.Registry = dir, time.Millisecond, reg
	m, err := New(cfg)
	if err != nil {
		reg.Close()
		mux.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		srv.CloseClientConnections()
		srv.Close()
		reg.Close()
		mux.Close()
	}
	t.Cleanup(stop)
	return &replicatedMaster{testMaster: &testMaster{Master: m, url: srv.URL}, reg: reg, stop: stop}
}

// waitRegistry polls the registry until cond holds for its state.
func waitRegistry(t *testing.T, reg *registry.Registry, what string, cond func(*registry.State) bool) *registry.State {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := reg.Load()
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the registry to hold %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// launchedTask gives rm an agent and a framework (failover timeout an
// hour) that has launched task t on it, as the agent has been told.
func launchedTask(t *testing.T, rm *replicatedMaster) (*testAgent, *testFramework) {
	t.Helper()
	ag := rm.agent(t, "cpus:2;mem:1024")
	fw := rm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600})
	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	return ag, fw
}

// TestLeaderLoadsRegistry stops a master with a framework that is
// disconnected within its failover timeout, a running task whose update
// is not acknowledged, an agent and a weight, and starts a new master on
// the same registry: it knows all of them, the failover deadline is the
// persisted one rather than a fresh timeout, and the framework gets the
// unacknowledged update again when it re-subscribes.
func TestLeaderLoadsRegistry(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag, fw := launchedTask(t, first)
	ag.send(fw.id, "t", api.TaskRunning, 7)
	fw.update("t") // not acknowledged
	if code, _, body := first.operator(t, api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
		WeightInfos: []api.WeightInfo{{Role: "web", Weight: 3}}}}); code != http.StatusOK {
		t.Fatalf("UPDATE_WEIGHTS: %d %s", code, body)
	}
	fw.resp.Body.Close() // the scheduler goes away within its failover timeout
	s := waitRegistry(t, first.reg, "the framework's failover deadline", func(s *registry.State) bool {
		return !s.Frameworks[fw.id].FailoverDeadline.IsZero() && s.Tasks[registry.TaskKey(fw.id, "t")].Pending != nil
	})
	deadline := s.Frameworks[fw.id].FailoverDeadline
	first.stop()

	second := startReplicatedMaster(t, dir, raftAddr)
	second.mu.Lock()
	f := second.frameworks[fw.id]
	var task *task
	if f != nil {
		task = f.tasks["t"]
	}
	a := second.agents[ag.id]
	weight := second.weights["web"]
	second.mu.Unlock()
	switch {
	case f == nil:
		t.Fatalf("the new leader does not know framework %s", fw.id)
	case !f.failoverDeadline.Equal(deadline):
		t.Errorf("failover deadline %v, want the persisted %v", f.failoverDeadline, deadline)
	case task == nil || task.state != api.TaskRunning || task.pending == nil || !bytes.Equal(task.pending.UUID, bytes.Repeat([]byte{7}, 16)):
		t.Errorf("task after the failover: %+v", task)
	case a == nil || a.connected():
		t.Errorf("agent after the failover: %+v, want known and disconnected", a)
	case weight != 3:
		t.Errorf("weight of web = %v, want 3", weight)
	}
	again := second.subscribe(t, api.FrameworkInfo{ID: &api.FrameworkID{Value: fw.id}, User: "u", Name: "f", FailoverTimeout: 3600})
	if st := again.update("t"); st.State != api.TaskRunning || !bytes.Equal(st.UUID, bytes.Repeat([]byte{7}, 16)) {
		t.Errorf("resent update %+v, want the unacknowledged TASK_RUNNING", st)
	}
}

// TestElectedButNotRecovered serves the APIs of a master whose registry
// member leads but which has not loaded the state (its Run loop, which
// does that, is not started): they answer 503 "Master has not finished
// recovery", as an elected Mesos master does until its registry is read.
func TestElectedButNotRecovered(t *testing.T) {
	reg := registryMember(t)
	cfg := DefaultConfig()
	cfg.WorkDir, cfg.Registry = t.TempDir(), reg
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	tm := &testMaster{Master: m, url: srv.URL}
	waitUntil(t, "the registry member to lead", reg.IsLeader)
	for _, tt := range []struct {
		path string
		body any
	}{
		{"/api/v1/scheduler", api.Call{Type: api.CallSubscribe, Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f"}}}},
		{"/api/v1", api.OperatorCall{Type: api.OperatorUpdateWeights,
			UpdateWeights: &api.UpdateWeights{WeightInfos: []api.WeightInfo{{Role: "web", Weight: 2}}}}},
	} {
		if code, body := tm.status(t, tt.path, tt.body); code != http.StatusServiceUnavailable || body != "Master has not finished recovery\n" {
			t.Errorf("POST %s while recovering: %d %q, want 503 Master has not finished recovery", tt.path, code, body)
		}
	}
}

// TestNoLeaderAnswers runs a master whose two peers never start, so no
// leader can be elected: the APIs and GET_EXECUTORS answer 503 "No leader
// elected", while GET_HEALTH, /version and /metrics answer, and the other
// views come from the replica.
func TestNoLeaderAnswers(t *testing.T) {
	tm := leaderlessMaster(t)
	for _, call := range []api.OperatorCall{{Type: api.OperatorUpdateWeights,
		UpdateWeights: &api.UpdateWeights{WeightInfos: []api.WeightInfo{{Role: "web", Weight: 2}}}},
		// The registry holds no executors: a replica's answer would be wrong.
		{Type: api.OperatorGetExecutors}} {
		if code, _, body := tm.operator(t, call); code != http.StatusServiceUnavailable || body != "No leader elected\n" {
			t.Errorf("%s without a leader: %d %q, want 503 No leader elected", call.Type, code, body)
		}
	}
	// Views come from the replica, marked as such, with no leader named.
	for typ := range servedByStandbys {
		resp := tm.post(t, "/api/v1", api.OperatorCall{Type: typ})
		var answer api.OperatorResponse
		err := json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if h := resp.Header; resp.StatusCode != http.StatusOK || err != nil || answer.Type != typ ||
			h.Get(api.HeaderView) != api.ViewReplica || h.Get(api.HeaderLeader) != "" {
			t.Errorf("%s without a leader: %s %v (%v), want 200 marked %s without a leader", typ, resp.Status, h, err, api.ViewReplica)
		}
	}
	if code, body := tm.status(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f"}}}); code != http.StatusServiceUnavailable {
		t.Errorf("SUBSCRIBE without a leader: %d %s", code, body)
	}
	if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorGetHealth}); code != http.StatusOK {
		t.Errorf("GET_HEALTH: %d %s", code, body)
	}
	for _, path := range []string{"/version", "/metrics"} {
		resp, err := http.Get(tm.url + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}

// TestLeaderLoadsTaskGroup restarts a master while a task group runs: the
// new leader counts the group's default executor's resources as used until
// the group's last task ends, as the old leader did.
func TestLeaderLoadsTaskGroup(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag := first.agent(t, "cpus:2;mem:1024")
	fw := first.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600})
	o := fw.offer()
	exec := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "e"},
		Resources: []api.Resource{scalar("cpus", 0.25), scalar("mem", 32)}}
	fw.mustCall(api.Call{Type: api.CallAccept, Accept: &api.Accept{OfferIDs: []api.OfferID{o.ID},
		Operations: []api.Operation{{Type: api.OpLaunchGroup, LaunchGroup: &api.LaunchGroup{Executor: exec,
			TaskGroup: api.TaskGroupInfo{Tasks: []api.TaskInfo{commandTask("g1", o, 0.5, 64), commandTask("g2", o, 0.5, 64)}}}}}}})
	ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	first.stop()

	second := startReplicatedMaster(t, dir, raftAddr)
	second.mu.Lock()
	defer second.mu.Unlock()
	a := second.agents[ag.id]
	if a == nil {
		t.Fatal("agent unknown after the restart")
	}
	if got := a.used.ScalarValue("cpus"); got != 1.25 {
		t.Errorf("used cpus after the restart = %v, want 1.25 (two tasks and their executor)", got)
	}
	if g := a.executors[execID{fw.id, "e"}]; g == nil || g.live != 2 {
		t.Errorf("group executor after the restart: %+v, want 2 live tasks", g)
	}
}

// TestAgentRemovalLimit disconnects three of four agents at once: with the
// default limit of 30 % only one may be marked unreachable within a
// re-registration timeout; the master refuses the others and counts the
// refusals.
func TestAgentRemovalLimit(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AgentReregisterTimeout = time.Second })
	var agents []*testAgent
	for range 4 {
		agents = append(agents, tm.agent(t, "cpus:1;mem:128"))
	}
	for _, a := range agents[:3] {
		a.resp.Body.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		tm.mu.Lock()
		refused := testutil.ToFloat64(tm.metrics.removalsRefused)
		unreachable := 0
		for _, a := range tm.agents {
			if a.unreachable {
				unreachable++
			}
		}
		tm.mu.Unlock()
		if refused >= 2 {
			// Both refusals happen in the first window, before any retry.
			if unreachable != 1 {
				t.Fatalf("%d agents unreachable after %v refusals, want 1", unreachable, refused)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("refusals %v, unreachable %d: the limit did not hold", refused, unreachable)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStatusHistorySurvivesFailover restarts a master on its registry
// after a task went through several states: the new leader shows the same
// status history in GET_TASKS, not only the latest status.
func TestStatusHistorySurvivesFailover(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag, fw := launchedTask(t, first)
	for i, state := range []api.TaskState{api.TaskStarting, api.TaskRunning, api.TaskFinished} {
		ag.send(fw.id, "t", state, byte(i+1))
	}
	waitRegistry(t, first.reg, "the task's three statuses", func(s *registry.State) bool {
		return len(s.Tasks[registry.TaskKey(fw.id, "t")].Statuses) == 3
	})
	history := func(tm *testMaster) []api.TaskState {
		t.Helper()
		code, resp, body := tm.operator(t, api.OperatorCall{Type: api.OperatorGetTasks})
		if code != http.StatusOK || resp.GetTasks == nil {
			t.Fatalf("GET_TASKS: %d %s", code, body)
		}
		var states []api.TaskState
		for _, list := range [][]api.Task{resp.GetTasks.Tasks, resp.GetTasks.CompletedTasks} {
			for _, task := range list {
				for _, st := range task.Statuses {
					states = append(states, st.State)
				}
			}
		}
		return states
	}
	before := history(first.testMaster)
	want := []api.TaskState{api.TaskStarting, api.TaskRunning, api.TaskFinished}
	if !slices.Equal(before, want) {
		t.Fatalf("history before the failover: %v, want %v", before, want)
	}
	first.stop()
	second := startReplicatedMaster(t, dir, raftAddr)
	if after := history(second.testMaster); !slices.Equal(after, want) {
		t.Errorf("history after the failover: %v, want %v", after, want)
	}
}

// TestUnchangedAgentRecordNotWritten fails a master over with an agent in
// the registry: saving the agent's record unchanged — what every agent's
// re-registration does after a failover — queues no registry write, while
// a change does.
func TestUnchangedAgentRecordNotWritten(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag := first.agent(t, "cpus:2;mem:1024")
	waitRegistry(t, first.reg, "the agent", func(s *registry.State) bool { return s.Agents[ag.id].ID != "" })
	first.stop()

	second := startReplicatedMaster(t, dir, raftAddr)
	second.mu.Lock()
	defer second.mu.Unlock()
	a := second.agents[ag.id]
	if a == nil {
		t.Fatal("the new leader does not know the agent")
	}
	tests := []struct {
		name   string
		change func()
		writes int
	}{
		{name: "unchanged", change: func() {}, writes: 0},
		{name: "deactivated", change: func() { a.deactivated = true }, writes: 1},
		{name: "unchanged again", change: func() {}, writes: 0},
	}
	for _, tt := range tests {
		before := len(second.writes)
		tt.change()
		second.saveAgent(a)
		if got := len(second.writes) - before; got != tt.writes {
			t.Errorf("%s: saving the agent queued %d writes, want %d", tt.name, got, tt.writes)
		}
	}
}

// TestOperatorWritesAnswerOnceCommitted makes operator changes on a
// master with a real registry, over HTTP and through the console's Call:
// when the answer arrives the registry already holds the change, so an
// acknowledged change survives the leader's death.
func TestOperatorWritesAnswerOnceCommitted(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	weights := func(role string, w float64) api.OperatorCall {
		return api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
			WeightInfos: []api.WeightInfo{{Role: role, Weight: api.Float64(w)}}}}
	}
	tests := []struct {
		name string
		role string
		call func(api.OperatorCall) error
	}{
		{"HTTP", "over-http", func(c api.OperatorCall) error {
			if code, _, body := rm.operator(t, c); code != http.StatusOK {
				return fmt.Errorf("%d %s", code, body)
			}
			return nil
		}},
		{"console", "from-console", func(c api.OperatorCall) error {
			_, err := rm.Call(context.Background(), &c)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(weights(tt.role, 4)); err != nil {
				t.Fatalf("UPDATE_WEIGHTS: %v", err)
			}
			s, err := rm.reg.Load()
			if err != nil {
				t.Fatal(err)
			}
			if s.Weights[tt.role] != 4 {
				t.Errorf("the registry holds weight %v for %s when the change is answered, want 4", s.Weights[tt.role], tt.role)
			}
		})
	}
}

// leaderlessMaster runs a master with a registry whose two peers never
// start, so that no leader can be elected.
func leaderlessMaster(t *testing.T) *testMaster {
	t.Helper()
	// The peers' ports stay taken until this member has its own: closed
	// before, the kernel could hand one of them to the member, which
	// would then count itself among its peers (a CI run failed so, with
	// "2 masters cannot keep a majority").
	var peers []string
	var held []net.Listener
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, ln.Addr().String())
		held = append(held, ln)
	}
	reg := registryMember(t, peers...)
	for _, ln := range held {
		ln.Close()
	}
	return startMaster(t, func(c *Config) { c.Registry = reg })
}

// registryMember opens a registry member on a loopback listener, with
// its files in a temporary directory and the other members at peers; it
// is closed when the test ends.
func registryMember(t *testing.T, peers ...string) *registry.Registry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := registry.NewMux(ln)
	t.Cleanup(func() { mux.Close() })
	rcfg := registry.DefaultConfig()
	rcfg.Dir, rcfg.Addr, rcfg.Peers, rcfg.Transport = t.TempDir(), ln.Addr().String(), peers, mux.Raft()
	reg, err := registry.Open(context.Background(), rcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}
