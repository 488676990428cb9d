package master

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// startMasters runs n masters over one real raft cluster on loopback,
// each serving its APIs on a test server, and waits until one leads.
func startMasters(t *testing.T, n int) []*replicatedMaster {
	t.Helper()
	var lns []net.Listener
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	var out []*replicatedMaster
	for _, ln := range lns {
		mux := registry.NewMux(ln)
		rcfg := registry.DefaultConfig()
		rcfg.Dir, rcfg.Addr, rcfg.Peers, rcfg.Transport = t.TempDir(), ln.Addr().String(), addrs, mux.Raft()
		reg, err := registry.Open(context.Background(), rcfg)
		if err != nil {
			mux.Close()
			t.Fatal(err)
		}
		out = append(out, runReplicated(t, rcfg.Dir, reg, mux))
	}
	waitUntil(t, "a master to lead", func() bool { return leaderAmong(out) != nil })
	return out
}

// leaderAmong returns the master of ms that leads, nil if none does.
func leaderAmong(ms []*replicatedMaster) *replicatedMaster {
	for _, m := range ms {
		if m.Leading() {
			return m
		}
	}
	return nil
}

// nextOperatorEvent returns the next event on an in-process operator
// stream for which keep is true, skipping heartbeats, and fails the test
// after a deadline or if the stream ends.
func nextOperatorEvent(t *testing.T, events <-chan api.OperatorEvent, what string, keep func(api.OperatorEvent) bool) api.OperatorEvent {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended waiting for %s", what)
			}
			if ev.Type != api.OperatorEventHeartbeat && keep(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within 20s", what)
		}
	}
}

// TestSubscribeOnStandby checks the event stream a standby gives its
// console, with three masters over real raft: its snapshot is its
// replica's, and a framework, a task launched and its status updates
// through the leader afterwards reach it as the events the leader
// publishes, the framework's user included (the console counts each
// viewer's tasks by it), while an acknowledgement, which changes the
// task's record but not its state, makes none. Once the master leads, it
// publishes for itself: the stream of the standby that took over ends,
// and its registry tracks nothing. A standby's stream used to be its own
// empty memory's, silent but for heartbeats, so that its console's counts
// and running-tasks chart stayed at zero.
func TestSubscribeOnStandby(t *testing.T) {
	ms := startMasters(t, 3)
	leader := leaderAmong(ms)
	var standbys []*replicatedMaster
	for _, m := range ms {
		if m != leader {
			standbys = append(standbys, m)
		}
	}
	ag := leader.agent(t, "cpus:2;mem:1024")
	for _, s := range standbys {
		waitRegistry(t, s.reg, "the agent", func(st *registry.State) bool { return len(st.Agents) == 1 })
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams := map[*replicatedMaster]<-chan api.OperatorEvent{}
	for _, s := range standbys {
		events, err := s.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		streams[s] = events
	}
	standby, events := standbys[0], streams[standbys[0]]

	first := nextOperatorEvent(t, events, "SUBSCRIBED", func(api.OperatorEvent) bool { return true })
	if first.Type != api.OperatorEventSubscribed || first.Subscribed.GetState == nil ||
		len(first.Subscribed.GetState.GetAgents.Agents) != 1 || !first.Subscribed.GetState.GetAgents.Agents[0].Active {
		t.Fatalf("first event %+v, want SUBSCRIBED with the replica's active agent", first)
	}

	fw := leader.subscribe(t, api.FrameworkInfo{User: "alice", Name: "f", FailoverTimeout: 3600})
	added := nextOperatorEvent(t, events, "FRAMEWORK_ADDED", func(ev api.OperatorEvent) bool {
		return ev.Type == api.OperatorEventFrameworkAdded
	})
	if info := added.FrameworkAdded.Framework.FrameworkInfo; info.ID == nil || info.ID.Value != fw.id || info.User != "alice" {
		t.Errorf("FRAMEWORK_ADDED %+v, want framework %s of alice", info, fw.id)
	}

	o := fw.offer()
	fw.mustCall(launch(o, commandTask("t", o, 1, 128)))
	isTask := func(ev api.OperatorEvent) bool { return ev.TaskAdded != nil || ev.TaskUpdated != nil }
	ev := nextOperatorEvent(t, events, "TASK_ADDED", isTask)
	if ev.TaskAdded == nil || ev.TaskAdded.Task.TaskID.Value != "t" || ev.TaskAdded.Task.FrameworkID.Value != fw.id ||
		ev.TaskAdded.Task.State != api.TaskStaging || ev.TaskAdded.Task.AgentID.Value != ag.id {
		t.Fatalf("first task event %+v, want TASK_ADDED of t, staging on %s", ev, ag.id)
	}

	ag.send(fw.id, "t", api.TaskRunning, 1)
	st := fw.update("t")
	ev = nextOperatorEvent(t, events, "TASK_UPDATED", isTask)
	if ev.TaskUpdated == nil || ev.TaskUpdated.State != api.TaskRunning || ev.TaskUpdated.Status.TaskID.Value != "t" ||
		ev.TaskUpdated.FrameworkID.Value != fw.id || ev.TaskUpdated.Status.UUID != nil {
		t.Fatalf("task event %+v, want TASK_UPDATED of t to TASK_RUNNING, without the update's UUID", ev)
	}
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	waitRegistry(t, standby.reg, "the acknowledgement", func(s *registry.State) bool {
		return s.Tasks[registry.TaskKey(fw.id, "t")].Acknowledged != nil
	})
	ag.send(fw.id, "t", api.TaskFinished, 2)
	ev = nextOperatorEvent(t, events, "TASK_UPDATED", isTask)
	if ev.TaskUpdated == nil || ev.TaskUpdated.State != api.TaskFinished {
		t.Fatalf("task event after the acknowledgement %+v, want TASK_UPDATED to TASK_FINISHED and nothing for the acknowledgement", ev)
	}

	leader.stop()
	var next *replicatedMaster
	waitUntil(t, "a new leader", func() bool { next = leaderAmong(standbys); return next != nil })
	for {
		select {
		case _, ok := <-streams[next]:
			if ok {
				continue
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the stream of the standby that took over is still open")
		}
		break
	}
	waitUntil(t, "the new leader to stop following its replica", func() bool {
		next.feed.mu.Lock()
		defer next.feed.mu.Unlock()
		return !next.feed.on
	})
	// The other standby follows its replica for as long as a stream reads
	// it, and no longer: its registry then tracks nothing.
	other := standbys[0]
	if other == next {
		other = standbys[1]
	}
	other.feed.mu.Lock()
	following := other.feed.on
	other.feed.mu.Unlock()
	if !following {
		t.Fatal("a standby whose console's stream is open does not follow its replica")
	}
	cancel()
	waitUntil(t, "the standby whose streams all ended to stop following its replica", func() bool {
		other.feed.mu.Lock()
		defer other.feed.mu.Unlock()
		return !other.feed.on
	})
}

// TestFeedChanges checks the events the feed makes of the records the
// replica changed, whether the registry listed the changes or the feed
// had to compare every record (too many changes between two steps, or a
// snapshot installed): the same events, in the order the leader
// publishes them, and none for an acknowledgement or for a completed
// task the leader forgets, whose mark goes with it.
func TestFeedChanges(t *testing.T) {
	running := func(id string, at float64, acked bool) registry.Task {
		st := api.TaskStatus{TaskID: api.TaskID{Value: id}, State: api.TaskRunning, Timestamp: api.Float64(at)}
		rec := registry.Task{Framework: "f1", Agent: "a1", Role: "*", State: api.TaskRunning,
			Info: api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}}, Statuses: []api.TaskStatus{st}}
		if acked {
			rec.Acknowledged = &st
		}
		return rec
	}
	// A task that ended long ago, among the framework's completed tasks,
	// evicted from them in the step (MaxCompletedTasks).
	forgotten := running("forgotten", 1, false)
	forgotten.State, forgotten.Statuses[0].State, forgotten.Completed = api.TaskFinished, api.TaskFinished, true
	before := []registry.Command{
		registry.PutFramework(registry.Framework{ID: "f1", Info: api.FrameworkInfo{Name: "web", User: "alice"}}),
		registry.PutAgent(registry.Agent{ID: "a1", State: registry.AgentActive}),
		registry.LaunchTasks("L1", running("acked", 1, false), forgotten, running("updated", 1, false)),
	}
	after := []registry.Command{
		registry.PutFramework(registry.Framework{ID: "f2", Info: api.FrameworkInfo{Name: "batch", User: "bob"}}),
		registry.PutTask(running("acked", 1, true)),
		registry.DeleteTask("f1", "forgotten"),
		registry.PutTask(func() registry.Task {
			r := running("updated", 2, false)
			r.State, r.Statuses[0].State = api.TaskFinished, api.TaskFinished
			return r
		}()),
		registry.LaunchTasks("L2", running("new", 2, false)),
		registry.PutAgent(registry.Agent{ID: "a1", State: registry.AgentUnreachable}),
		registry.PutFramework(registry.Framework{ID: "f1", Info: api.FrameworkInfo{Name: "web", User: "alice"}, Completed: time.Now()}),
	}
	want := []string{
		"FRAMEWORK_ADDED f2 bob", "AGENT_REMOVED a1", "TASK_ADDED new TASK_RUNNING",
		"TASK_UPDATED updated TASK_FINISHED", "FRAMEWORK_REMOVED f1 alice",
	}
	tests := []struct {
		name    string
		changes func(reg *registry.Registry) registry.Changes
	}{
		{"listed", func(reg *registry.Registry) registry.Changes { return reg.TakeChanges() }},
		{"compared", func(*registry.Registry) registry.Changes { return registry.Changes{All: true} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := registryMember(t) // a cluster of one, which elects itself
			waitUntil(t, "the registry to lead", reg.IsLeader)
			apply := func(cmds []registry.Command) {
				for _, c := range cmds {
					if err := reg.Apply(context.Background(), c); err != nil {
						t.Fatal(err)
					}
				}
			}
			apply(before)
			m := &Master{reg: reg, log: slog.Default()}
			m.feed.mu.Lock()
			defer m.feed.mu.Unlock()
			if err := m.startFeed(); err != nil {
				t.Fatal(err)
			}
			defer m.stopFeed()
			apply(after)
			events, err := m.feedChanges(tt.changes(reg))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range events {
				got = append(got, describe(ev))
			}
			if !slices.Equal(got, want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if _, kept := m.feed.tasks[registry.TaskKey("f1", "forgotten")]; kept || len(m.feed.tasks) != 3 {
				t.Errorf("the feed marks %d tasks, the forgotten one among them: %v; want the 3 the replica holds", len(m.feed.tasks), kept)
			}
			if m.feed.outOfStep {
				t.Error("the feed took the eviction of a task whose end it saw for one whose end it missed")
			}
		})
	}
}

// describe names an operator event and what it is about.
func describe(ev api.OperatorEvent) string {
	switch {
	case ev.FrameworkAdded != nil:
		i := ev.FrameworkAdded.Framework.FrameworkInfo
		return fmt.Sprintf("%s %s %s", ev.Type, i.ID.Value, i.User)
	case ev.FrameworkUpdated != nil:
		i := ev.FrameworkUpdated.Framework.FrameworkInfo
		return fmt.Sprintf("%s %s %s", ev.Type, i.ID.Value, i.User)
	case ev.FrameworkRemoved != nil:
		i := ev.FrameworkRemoved.FrameworkInfo
		return fmt.Sprintf("%s %s %s", ev.Type, i.ID.Value, i.User)
	case ev.AgentAdded != nil:
		return fmt.Sprintf("%s %s", ev.Type, ev.AgentAdded.Agent.AgentInfo.ID.Value)
	case ev.AgentRemoved != nil:
		return fmt.Sprintf("%s %s", ev.Type, ev.AgentRemoved.AgentID.Value)
	case ev.TaskAdded != nil:
		return fmt.Sprintf("%s %s %s", ev.Type, ev.TaskAdded.Task.TaskID.Value, ev.TaskAdded.Task.State)
	case ev.TaskUpdated != nil:
		return fmt.Sprintf("%s %s %s", ev.Type, ev.TaskUpdated.Status.TaskID.Value, ev.TaskUpdated.State)
	}
	return string(ev.Type)
}

// lonelyStandby is a master over a registry of one member, which leads
// the raft cluster, while the master believes it does not lead, as a
// standby does; Run is not started, so the test steps the feed itself.
func lonelyStandby(t *testing.T) (*Master, *registry.Registry) {
	t.Helper()
	reg := registryMember(t)
	waitUntil(t, "the registry to lead", reg.IsLeader)
	cfg := DefaultConfig()
	cfg.WorkDir, cfg.Registry = t.TempDir(), reg
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// applyAll applies commands to reg, one entry each.
func applyAll(t *testing.T, reg *registry.Registry, cmds ...registry.Command) {
	t.Helper()
	for _, c := range cmds {
		if err := reg.Apply(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

// feedTask is a task record of framework f1 on agent a1.
func feedTask(id string, state api.TaskState, completed bool) registry.Task {
	st := api.TaskStatus{TaskID: api.TaskID{Value: id}, State: state, Timestamp: api.Float64(float64(time.Now().UnixNano()) / 1e9)}
	return registry.Task{Framework: "f1", Agent: "a1", Role: "*", State: state, Completed: completed,
		Info: api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}}, Statuses: []api.TaskStatus{st}}
}

var feedAgent = registry.Agent{ID: "a1", State: registry.AgentActive, Info: api.AgentInfo{Hostname: "h1", ID: &api.AgentID{Value: "a1"}}}

// TestFeedResyncsOnUnseenEnd checks what a standby's stream does when a
// step finds a running task's record deleted: the leader published the
// task's end, but the replica no longer says which it was (a running task
// marked gone and evicted from its framework's completed tasks at once,
// or one that ended and was evicted between two steps). The stream is
// closed, and the next subscription's snapshot holds no such task. The
// feed used to publish nothing, and the console kept the task running.
func TestFeedResyncsOnUnseenEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  []registry.Command
	}{
		{"ended and evicted in one step", []registry.Command{registry.PutTask(feedTask("t", api.TaskFinished, true)), registry.DeleteTask("f1", "t")}},
		{"deleted while running", []registry.Command{registry.DeleteTask("f1", "t")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, reg := lonelyStandby(t)
			applyAll(t, reg, registry.PutFramework(registry.Framework{ID: "f1", Info: api.FrameworkInfo{Name: "web", User: "alice"}}),
				registry.PutAgent(feedAgent), registry.LaunchTasks("L1", feedTask("t", api.TaskRunning, false)))
			events, err := m.Subscribe(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if first := <-events; len(first.Subscribed.GetState.GetTasks.Tasks) != 1 {
				t.Fatalf("snapshot %+v, want the running task", first.Subscribed.GetState.GetTasks)
			}
			applyAll(t, reg, tc.end...)
			m.stepFeed()
			for closed := false; !closed; {
				select {
				case ev, ok := <-events:
					closed = !ok
					if ok && ev.Type != api.OperatorEventHeartbeat {
						t.Errorf("an event %s before the stream closed", ev.Type)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the stream is still open: its reader would keep the task running")
				}
			}
			again, err := m.Subscribe(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if first := <-again; len(first.Subscribed.GetState.GetTasks.Tasks) != 0 {
				t.Errorf("the new snapshot still lists running tasks: %+v", first.Subscribed.GetState.GetTasks.Tasks)
			}
		})
	}
}

// TestSubscribeRacesStepDown subscribes on a master that leads as it
// steps down: the look at whether it leads passes, then its memory is
// emptied before the subscription takes its lock. The stream must follow
// the replica, not start from the emptied memory and stay silent.
func TestSubscribeRacesStepDown(t *testing.T) {
	m, reg := lonelyStandby(t)
	applyAll(t, reg, registry.PutAgent(feedAgent))
	m.leading.Store(true)
	m.mu.Lock()
	type subscription struct {
		events <-chan api.OperatorEvent
		err    error
	}
	done := make(chan subscription, 1)
	go func() { ev, err := m.Subscribe(t.Context()); done <- subscription{ev, err} }()
	time.Sleep(100 * time.Millisecond) // for Subscribe to look at leading and wait for m.mu
	m.leading.Store(false)             // watchLeadership, then stepDown
	m.resetState()
	m.mu.Unlock()
	s := <-done
	if s.err != nil {
		t.Fatal(s.err)
	}
	if first := <-s.events; len(first.Subscribed.GetState.GetAgents.Agents) != 1 {
		t.Errorf("snapshot lists %d agents, want the replica's one", len(first.Subscribed.GetState.GetAgents.Agents))
	}
	m.feed.mu.Lock()
	defer m.feed.mu.Unlock()
	if !m.feed.on {
		t.Error("the stream is open but the feed that would follow the replica is not running")
	}
}

// TestSubscribeOnStoppedStandby checks that a subscription refused
// because the master has stopped leaves the registry tracking nothing:
// nothing would ever stop it.
func TestSubscribeOnStoppedStandby(t *testing.T) {
	m, _ := lonelyStandby(t)
	m.stopped.Store(true)
	if _, err := m.Subscribe(t.Context()); err == nil {
		t.Fatal("subscribed on a stopped master")
	}
	m.feed.mu.Lock()
	defer m.feed.mu.Unlock()
	if m.feed.on {
		t.Error("the feed, and the registry's tracking, run after a refused subscription on a stopped master")
	}
}

// TestReplicaViewReused checks that a standby builds its views' state
// (a load of the whole registry) at most once per replicaViewAge while
// the replica moves on, except for a caller that needs a newer one.
func TestReplicaViewReused(t *testing.T) {
	defer func(age time.Duration) { replicaViewAge = age }(replicaViewAge)
	replicaViewAge = time.Hour
	m, reg := lonelyStandby(t)
	first, at, err := m.replicaState()
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, reg, registry.PutAgent(feedAgent))
	if again, _, err := m.replicaState(); err != nil || again != first {
		t.Errorf("the state was built again (%v) though the last is younger than replicaViewAge", err)
	}
	newer, since, err := m.replicaStateSince(at + 1)
	if err != nil || newer == first || since <= at {
		t.Fatalf("replicaStateSince(%d) = index %d, rebuilt %v, err %v: want a state built anew", at+1, since, newer != first, err)
	}
	newer.mu.Lock()
	defer newer.mu.Unlock()
	if len(newer.agents) != 1 {
		t.Errorf("the state built anew holds %d agents, want 1", len(newer.agents))
	}
}
