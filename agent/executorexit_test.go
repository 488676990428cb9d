package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// exitMaster is a fake master that records the EXECUTOR_EXITED calls it
// accepts. It refuses the first refuse calls with 503, as a master that is
// busy or changing leaders does, and counts every call.
type exitMaster struct {
	*httptest.Server
	mu     sync.Mutex
	exits  []api.AgentExecutorExited
	calls  int
	refuse int
}

func newExitMaster(t *testing.T, refuse int) *exitMaster {
	t.Helper()
	m := &exitMaster{refuse: refuse}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		call, err := api.DecodeAgentCall(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			t.Error(err)
			return
		}
		if call.Type != api.AgentCallExecutorExited {
			w.WriteHeader(http.StatusAccepted) // the tasks' updates
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls++
		if m.calls <= m.refuse {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		m.exits = append(m.exits, *call.ExecutorExited)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(m.Close)
	return m
}

// reported returns the exits the master accepted and how many calls it
// had.
func (m *exitMaster) reported() ([]api.AgentExecutorExited, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.exits), m.calls
}

// TestExecutorExitReported checks which executors' exits an agent reports
// to its master (EXECUTOR_EXITED), with what status, and that a report the
// master refuses is sent again: the master holds a named executor's
// resources until it hears, and counts none for a task's own executor.
func TestExecutorExitReported(t *testing.T) {
	custom := func(cmd string) *api.ExecutorInfo {
		return &api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "x"},
			FrameworkID: &api.FrameworkID{Value: "fw"}, Command: &api.CommandInfo{Value: cmd}}
	}
	task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "true"}}
	tests := []struct {
		name        string
		refuse      int  // calls the master refuses first
		allowNative bool // false: the agent refuses custom executors
		info        *api.ExecutorInfo
		named       bool // the task names info (else it is the task's own executor)
		grouped     bool
		reported    bool       // the exit is reported
		want        *api.Int64 // with this status; nil: none
	}{
		{name: "custom executor exits 3", allowNative: true, info: custom("exit 3"), named: true,
			reported: true, want: api.Ptr(api.Int64(3 << 8))},
		{name: "killed by a signal", allowNative: true, info: custom("kill -9 $$"), named: true,
			reported: true, want: api.Ptr(api.Int64(9))},
		{name: "reported once the master takes it", refuse: 2, allowNative: true, info: custom("exit 0"), named: true,
			reported: true, want: api.Ptr(api.Int64(0))},
		{name: "a task group's executor", allowNative: true, info: &api.ExecutorInfo{Type: api.ExecutorDefault,
			ExecutorID: api.ExecutorID{Value: "x"}, FrameworkID: &api.FrameworkID{Value: "fw"}}, grouped: true,
			reported: true, want: api.Ptr(api.Int64(1 << 8))}, // the bare agent's executor is /bin/false
		{name: "refused, never started", info: custom("exit 0"), named: true, reported: true},
		{name: "a task's own executor", allowNative: true, info: &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "t"},
			FrameworkID: &api.FrameworkID{Value: "fw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newExitMaster(t, tt.refuse)
			a := newBareAgent(t, func(c *Config) {
				c.AllowNative = tt.allowNative
				c.StatusRetryMin, c.StatusRetryMax = 10*time.Millisecond, 20*time.Millisecond
			})
			a.mu.Lock()
			a.master, a.streamID, a.agentID = m.URL, "s1", "a1"
			a.mu.Unlock()
			ti := task
			if tt.named && !tt.grouped {
				ti.Executor = tt.info
			}
			launch := &api.AgentLaunch{FrameworkInfo: api.FrameworkInfo{Name: "f", ID: &api.FrameworkID{Value: "fw"}},
				Tasks: []api.TaskInfo{ti}}
			if tt.grouped {
				launch = &api.AgentLaunch{FrameworkInfo: launch.FrameworkInfo, Executor: tt.info,
					TaskGroup: &api.TaskGroupInfo{Tasks: []api.TaskInfo{task}}}
			}
			if tt.named || tt.grouped || !tt.allowNative {
				a.launch(launch)
			} else {
				// A task's own executor, as launch makes one for a wazero task.
				a.launchTasks("fw", launch.FrameworkInfo, tt.info, []api.TaskInfo{task}, false)
			}
			// The task's end comes with its executor's exit, and the
			// report, if any, right after.
			deadline := time.Now().Add(20 * time.Second)
			for !a.updates.latest()[taskKey{"fw", "t"}].State.IsTerminal() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !tt.reported {
				time.Sleep(300 * time.Millisecond) // a report would have been made by now
				if exits, calls := m.reported(); calls > 0 {
					t.Fatalf("reported %+v for an executor the master does not count", exits)
				}
				return
			}
			exits, calls := m.reported()
			for len(exits) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				exits, calls = m.reported()
			}
			if len(exits) != 1 {
				t.Fatalf("reported %+v, want one exit of fw's x", exits)
			}
			got := exits[0]
			if got.FrameworkID.Value != "fw" || got.ExecutorID.Value != "x" || !equalStatus(got.Status, tt.want) {
				t.Errorf("reported %+v (status %v), want fw's x with status %v", got, statusText(got.Status), statusText(tt.want))
			}
			if calls != tt.refuse+1 {
				t.Errorf("%d calls for %d refusals, want one more", calls, tt.refuse)
			}
		})
	}
}

func equalStatus(a, b *api.Int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func statusText(p *api.Int64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// TestSubscribeListsNamedExecutors checks that an agent's SUBSCRIBE lists
// the executors frameworks named, each with its framework, and neither a
// shared executor nor a task's own: the master counts only the former.
func TestSubscribeListsNamedExecutors(t *testing.T) {
	a := newBareAgent(t, nil)
	a.mu.Lock()
	for _, info := range []api.ExecutorInfo{
		{ExecutorID: api.ExecutorID{Value: "custom"}, FrameworkID: &api.FrameworkID{Value: "fw1"}, Command: &api.CommandInfo{Value: "./x"}},
		{ExecutorID: api.ExecutorID{Value: "own"}, FrameworkID: &api.FrameworkID{Value: "fw1"}},
		{ExecutorID: api.ExecutorID{Value: "group"}, FrameworkID: &api.FrameworkID{Value: "fw2"}, Type: api.ExecutorDefault},
	} {
		r := a.newRun(info.FrameworkID.Value, api.FrameworkInfo{Name: "f"}, info)
		a.executors[r.key] = r
	}
	shared := a.newRunFor("fw1", api.FrameworkInfo{Name: "fw1"}, nil)
	a.mu.Unlock()
	call := a.subscribeCall()
	a.mu.Lock()
	clear(a.executors) // never started: nothing to shut down
	delete(a.shared, shared.key.framework)
	a.mu.Unlock()

	var got []string
	for _, e := range call.Subscribe.Executors {
		if e.FrameworkID == nil {
			t.Fatalf("executor %s listed without its framework", e.ExecutorID.Value)
		}
		got = append(got, e.FrameworkID.Value+"/"+e.ExecutorID.Value)
	}
	slices.Sort(got)
	if want := []string{"fw1/custom", "fw2/group"}; !slices.Equal(got, want) {
		t.Fatalf("SUBSCRIBE lists executors %q, want %q", got, want)
	}
}

// TestExitReportOutlivesSubscription checks that an executor's exit that
// the master did not take (the agent was between subscriptions, or the
// master refused it as the agent re-subscribed) is reported after the
// next subscription, and that a new run of the executor, which the master
// is to count, drops it.
func TestExitReportOutlivesSubscription(t *testing.T) {
	tests := []struct {
		name string
		// before runs between the exit and the subscription that is to
		// carry its report.
		before   func(a *Agent)
		reported bool
	}{
		{"exit between subscriptions", func(*Agent) {}, true},
		{"a new run of the executor meanwhile", func(a *Agent) {
			a.mu.Lock()
			r := a.newRunFor("fw", api.FrameworkInfo{Name: "f"}, &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "x"},
				Command: &api.CommandInfo{Value: "./x"}})
			delete(a.executors, r.key) // never started: nothing to shut down
			a.mu.Unlock()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newExitMaster(t, 0)
			a := newBareAgent(t, nil)
			a.reportExecutorExited(execKey{"fw", "x"}, api.Ptr(api.Int64(0))) // not subscribed: kept
			tt.before(a)
			a.subscribed(m.URL, "s1", &api.AgentSubscribed{AgentID: api.AgentID{Value: "a1"}})
			deadline := time.Now().Add(10 * time.Second)
			exits, _ := m.reported()
			for tt.reported && len(exits) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				exits, _ = m.reported()
			}
			if !tt.reported {
				time.Sleep(300 * time.Millisecond) // a report would have been made by now
				exits, _ = m.reported()
			}
			if got := len(exits) == 1 && exits[0].ExecutorID.Value == "x"; got != tt.reported || len(exits) > 1 {
				t.Fatalf("reported %+v; want x reported: %v", exits, tt.reported)
			}
		})
	}
}

// TestExitReportFollowsTheStream has the master refuse an exit report as
// the agent re-subscribes: the report goes again on the new stream.
func TestExitReportFollowsTheStream(t *testing.T) {
	m := newExitMaster(t, 1)
	a := newBareAgent(t, func(c *Config) { c.StatusRetryMin, c.StatusRetryMax = time.Hour, time.Hour })
	a.subscribed(m.URL, "s1", &api.AgentSubscribed{AgentID: api.AgentID{Value: "a1"}})
	a.reportExecutorExited(execKey{"fw", "x"}, nil)
	deadline := time.Now().Add(10 * time.Second)
	for _, calls := m.reported(); calls == 0 && time.Now().Before(deadline); _, calls = m.reported() {
		time.Sleep(10 * time.Millisecond)
	}
	a.subscribed(m.URL, "s2", &api.AgentSubscribed{AgentID: api.AgentID{Value: "a1"}})
	exits, _ := m.reported()
	for len(exits) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		exits, _ = m.reported()
	}
	if len(exits) != 1 || exits[0].ExecutorID.Value != "x" {
		t.Fatalf("reported %+v after the refusal and a new stream, want x (the retry waits an hour: only the new stream sends it)", exits)
	}
}
