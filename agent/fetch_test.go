package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// hangServer is a download server that never answers: it reports each
// request as it arrives (started) and as its connection ends (ended).
type hangServer struct {
	*httptest.Server
	started, ended chan string
}

func newHangServer(t *testing.T) *hangServer {
	t.Helper()
	s := &hangServer{started: make(chan string, 16), ended: make(chan string, 16)}
	release := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.started <- r.URL.Path
		select {
		case <-r.Context().Done():
			s.ended <- r.URL.Path
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		s.Close()
	})
	return s
}

// await waits for a path on ch (started or ended).
func (s *hangServer) await(t *testing.T, ch chan string, what, path string) {
	t.Helper()
	select {
	case p := <-ch:
		if p != path {
			t.Fatalf("request for %s %s, want %s", p, what, path)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the request for %s never %s", path, what)
	}
}

// newFetchAgent returns a bare agent whose executors start and never
// subscribe, so that launches queue up for them.
func newFetchAgent(t *testing.T) *Agent {
	t.Helper()
	return newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"/bin/sleep", "60"}
		c.ExecutorShutdownGrace = 100 * time.Millisecond
	})
}

// launchCommand launches a command task of framework "fw" in its shared
// executor, fetching uris first.
func launchCommand(a *Agent, id string, uris ...string) {
	ti := api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, Command: &api.CommandInfo{Value: "true"}}
	for _, u := range uris {
		ti.Command.URIs = append(ti.Command.URIs, api.CommandURI{Value: u})
	}
	a.launch(&api.AgentLaunch{FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}}, Tasks: []api.TaskInfo{ti}})
}

// awaitStatus waits for a task's latest update to be in a terminal state
// and returns it.
func awaitStatus(t *testing.T, a *Agent, id string) api.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, ok := a.updates.latest()[taskKey{"fw", id}]; ok && st.State.IsTerminal() {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("task %s never ended", id)
	return api.TaskStatus{}
}

// TestLaunchOvertakesFetch launches a task whose URI never answers, then
// one without URIs in the same shared executor: the second is launched
// while the first still fetches (QA found it held up until the fetch
// timed out, ten minutes later).
func TestLaunchOvertakesFetch(t *testing.T) {
	srv := newHangServer(t)
	a := newFetchAgent(t)
	launchCommand(a, "slow", srv.URL+"/slow")
	srv.await(t, srv.started, "started", "/slow")
	launchCommand(a, "ready")
	queuedTask(t, a, "fw", "ready")
	a.mu.Lock()
	slow := a.taskIndex[taskKey{"fw", "slow"}].tasks["slow"]
	queued := slow.queued
	a.mu.Unlock()
	if queued {
		t.Fatal("the task whose fetch hangs was launched")
	}
}

// TestKillCancelsFetch kills a task while its URI is fetched, by a KILL
// and by shutting its framework down: the download's request ends at
// once, and the task ends TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH.
func TestKillCancelsFetch(t *testing.T) {
	tests := []struct {
		name string
		kill func(a *Agent)
	}{
		{"kill", func(a *Agent) {
			a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "slow"}})
		}},
		{"framework shutdown", func(a *Agent) { a.shutdownFramework("fw") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHangServer(t)
			a := newFetchAgent(t)
			launchCommand(a, "ready") // the shared executor runs
			queuedTask(t, a, "fw", "ready")
			launchCommand(a, "slow", srv.URL+"/slow")
			srv.await(t, srv.started, "started", "/slow")
			tt.kill(a)
			srv.await(t, srv.ended, "ended", "/slow")
			st := awaitStatus(t, a, "slow")
			if st.State != api.TaskKilled || st.Reason != api.ReasonTaskKilledDuringLaunch {
				t.Errorf("task ended %s %s (%s), want TASK_KILLED REASON_TASK_KILLED_DURING_LAUNCH", st.State, st.Reason, st.Message)
			}
		})
	}
}

// TestFetchStallFailsTask launches a task whose URI never answers on an
// agent with a short FetcherStallTimeout: the task fails, its update
// naming the URI.
func TestFetchStallFailsTask(t *testing.T) {
	srv := newHangServer(t)
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"/bin/sleep", "60"}
		c.ExecutorShutdownGrace = 100 * time.Millisecond
		c.FetcherStallTimeout = 100 * time.Millisecond
	})
	launchCommand(a, "slow", srv.URL+"/slow")
	st := awaitStatus(t, a, "slow")
	if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLaunchFailed {
		t.Errorf("task ended %s %s, want TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED", st.State, st.Reason)
	}
	if want := srv.URL + "/slow"; !strings.Contains(st.Message, want) || !strings.Contains(st.Message, "stalled") {
		t.Errorf("message %q, want one saying the download of %s stalled", st.Message, want)
	}
	srv.await(t, srv.ended, "ended", "/slow")
}

// TestKillCancelsModuleFetch launches two Wasm tasks of one module while
// the master never sends it, on wazero so that each has an executor of
// its own and both wait for the module at once, and kills them one by
// one: each ends TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH, the
// download going on while a task waits for it; once the last is killed,
// its request ends (it ran until the master client's timeout, 75 s
// later, holding the launches behind each task in its executor's line).
func TestKillCancelsModuleFetch(t *testing.T) {
	srv := newHangServer(t)
	a := newFetchAgent(t)
	a.mu.Lock()
	a.master = srv.URL
	a.mu.Unlock()
	sha := hashOf([]byte("never sent"))
	ids := []string{"w1", "w2"}
	for _, id := range ids {
		a.launch(&api.AgentLaunch{FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}}, Tasks: []api.TaskInfo{{
			Name: id, TaskID: api.TaskID{Value: id},
			Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha, Engine: "wazero"}},
		}}})
	}
	path := "/api/v1/modules/" + sha
	srv.await(t, srv.started, "started", path)
	awaitWaiters(t, a.modules, sha, len(ids))
	for i, id := range ids {
		a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: id}})
		st := awaitStatus(t, a, id)
		if st.State != api.TaskKilled || st.Reason != api.ReasonTaskKilledDuringLaunch {
			t.Errorf("task %s ended %s %s (%s), want TASK_KILLED REASON_TASK_KILLED_DURING_LAUNCH", id, st.State, st.Reason, st.Message)
		}
		if i < len(ids)-1 {
			awaitWaiters(t, a.modules, sha, len(ids)-i-1) // the download goes on for the others
		}
	}
	srv.await(t, srv.ended, "ended", path)
	select {
	case p := <-srv.started:
		t.Errorf("a second request, for %s, was made", p)
	default:
	}
}
