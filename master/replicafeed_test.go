package master

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
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
		cfg := DefaultConfig()
		cfg.WorkDir, cfg.AllocationBatch, cfg.Registry = rcfg.Dir, time.Millisecond, reg
		m, err := New(cfg)
		if err != nil {
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
		out = append(out, &replicatedMaster{testMaster: &testMaster{Master: m, url: srv.URL}, reg: reg, stop: stop})
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
	before := []registry.Command{
		registry.PutFramework(registry.Framework{ID: "f1", Info: api.FrameworkInfo{Name: "web", User: "alice"}}),
		registry.PutAgent(registry.Agent{ID: "a1", State: registry.AgentActive}),
		registry.LaunchTasks("L1", running("acked", 1, false), running("forgotten", 1, false), running("updated", 1, false)),
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
