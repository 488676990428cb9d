package load_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/e2e/load"
	"github.com/mezzo-cluster/mezzo/e2e/simagent"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// startMaster runs a real master in-process on a loopback server and
// returns its HOST:PORT.
func startMaster(t *testing.T) string {
	t.Helper()
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	cfg.AllocationBatch = time.Millisecond
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Served as mezzo master serves: HTTP/1.1 and HTTP/2 without TLS.
	srv := httptest.NewUnstartedServer(m.Handler())
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.CloseClientConnections()
		srv.Close()
	})
	return strings.TrimPrefix(srv.URL, "http://")
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunOnSimulatedAgents drives a real master with simulated agents
// and checks that every count adds up on both sides: the framework's and
// the agents'.
func TestRunOnSimulatedAgents(t *testing.T) {
	tests := []struct {
		name     string
		agents   int
		tasks    int
		duration time.Duration
		until    api.TaskState
		maxOut   int
		http2    bool
	}{
		{name: "finish at once", agents: 50, tasks: 300, duration: 0, until: api.TaskFinished},
		{name: "run 20ms", agents: 10, tasks: 100, duration: 20 * time.Millisecond, until: api.TaskFinished},
		{name: "one at a time", agents: 3, tasks: 20, duration: 0, until: api.TaskFinished, maxOut: 1},
		{name: "stay placed", agents: 20, tasks: 200, duration: simagent.Forever, until: api.TaskRunning},
		{name: "over HTTP/2", agents: 30, tasks: 200, duration: 5 * time.Millisecond, until: api.TaskFinished, http2: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startMaster(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := api.ParseResources("cpus:4;mem:4096")
			if err != nil {
				t.Fatal(err)
			}
			fleet, err := simagent.Start(ctx, simagent.Config{
				Master: addr, Agents: tt.agents, Resources: res, TaskDuration: tt.duration, UpdateRetry: time.Second, HTTP2: tt.http2,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer fleet.Close()
			if s := fleet.Stats(); s.Subscribed != int64(tt.agents) {
				t.Fatalf("%d agents subscribed, want %d", s.Subscribed, tt.agents)
			}
			taskRes := api.Resources{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32)}
			got, err := load.Run(ctx, load.Config{
				Master: addr, Tasks: tt.tasks, Until: tt.until, MaxOutstanding: tt.maxOut,
				Task: func(i int) api.TaskInfo { return scheduler.CommandTask("", "", "", "true", taskRes) },
			})
			if err != nil {
				t.Fatal(err)
			}
			n := int64(tt.tasks)
			if got.Launched != n || got.Running != n || got.Failed != 0 || len(got.Latencies) != tt.tasks {
				t.Errorf("framework saw %+v and %d latencies, want %d launched and running, none failed", got.Counts, len(got.Latencies), n)
			}
			if tt.until == api.TaskFinished && (got.Finished != n || got.Acknowledged < 2*n) {
				t.Errorf("framework saw %+v, want %d finished and at least %d acknowledged", got.Counts, n, 2*n)
			}
			// Run tore the framework down: whatever still ran is killed,
			// and every update ends acknowledged. An update's
			// acknowledgement may come down the agent's event stream
			// before the master's 202 for the update itself reaches the
			// sender that counts it sent: wait for both counts.
			waitFor(t, "every update sent and acknowledged", func() bool {
				s := fleet.Stats()
				return s.Running == 0 && s.Unacknowledged == 0 && s.UpdatesSent >= 2*n
			})
			s := fleet.Stats()
			if s.Launched != n || s.Finished+s.Killed != n {
				t.Errorf("agents saw %+v, want %d launched, finished or killed", s, n)
			}
			if tt.duration == simagent.Forever && s.Killed != n {
				t.Errorf("agents killed %d tasks on teardown, want %d", s.Killed, n)
			}
			if s.Acknowledged != 2*n || s.UpdatesSent < 2*n {
				t.Errorf("agents had %d of %d updates acknowledged, sent %d", s.Acknowledged, 2*n, s.UpdatesSent)
			}
		})
	}
}
