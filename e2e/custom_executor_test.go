package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// TestCustomExecutor launches a task under a framework's own executor: the
// agent fetches the executor binary from its URI into the sandbox, starts
// it with the v1 Executor API environment, and the executor's updates reach
// the framework.
func TestCustomExecutor(t *testing.T) {
	url := serveCustomExecutor(t)
	c := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := scheduler.New(scheduler.Config{Master: c.addr, Framework: api.FrameworkInfo{Name: "custom"}})
	var final api.TaskStatus
	launched := false
	errDone := errors.New("task ended")
	err := client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventOffers:
			for _, o := range ev.Offers.Offers {
				if launched {
					return client.Decline(ctx, 3600, o.ID)
				}
				launched = true
				task := api.TaskInfo{
					Name: "custom", TaskID: api.TaskID{Value: "custom-1"}, AgentID: o.AgentID,
					Resources: []api.Resource{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32)},
					Data:      []byte("payload-42"),
					Executor: &api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "my-executor"},
						Command: customExecutorCommand(url)},
				}
				return client.Launch(ctx, o.ID, task)
			}
		case api.EventUpdate:
			if st := ev.Update.Status; st.State.IsTerminal() {
				final = st
				return errDone
			}
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Run: %v; cluster logs:\n%s", err, c.logs)
	}
	// The executor, the framework's program, runs as the agent's default
	// task user (nobody for an agent running as root), not as the agent.
	uid := os.Getuid()
	if uid == 0 {
		uid = 65534
	}
	if want := fmt.Sprintf("custom executor ran: payload-42 as uid %d", uid); final.State != api.TaskFinished || final.Message != want {
		t.Fatalf("final update %s %q, want TASK_FINISHED with %q", final.State, final.Message, want)
	}
	if final.ExecutorID == nil || final.ExecutorID.Value != "my-executor" {
		t.Fatalf("update from executor %v, want my-executor", final.ExecutorID)
	}
}

// serveCustomExecutor builds testdata/customexec and serves it over HTTP
// until the test ends, returning its URL for an executor's URIs.
func serveCustomExecutor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "customexec")
	build := exec.Command("go", "build", "-o", bin, "./e2e/testdata/customexec")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the custom executor: %v\n%s", err, out)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/customexec" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, bin)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/customexec"
}

// customExecutorCommand runs customexec, fetched from url, with args.
func customExecutorCommand(url string, args ...string) *api.CommandInfo {
	return &api.CommandInfo{Value: "customexec", Shell: api.Ptr(false), Arguments: append([]string{"customexec"}, args...),
		URIs: []api.CommandURI{{Value: url, Executable: api.Ptr(true)}}}
}

// TestCustomExecutorIdleShutDown runs a custom executor that stays once
// its only task has finished and been acknowledged, so that the master
// knows of no task on it, and checks that it is shut down — sent
// SHUTDOWN, and its process gone — when its framework is torn down, as
// every agent is told to shut the framework's executors down, and when
// the framework's SHUTDOWN call names it.
func TestCustomExecutorIdleShutDown(t *testing.T) {
	url := serveCustomExecutor(t)
	tests := []struct {
		name     string
		shutdown func(ctx context.Context, client *scheduler.Client, agentID string) error
	}{
		{"teardown", func(ctx context.Context, client *scheduler.Client, _ string) error {
			return client.Teardown(ctx)
		}},
		{"shutdown call", func(ctx context.Context, client *scheduler.Client, agentID string) error {
			return client.Shutdown(ctx, "lingering", agentID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			workDir := t.TempDir()
			c := startDevIn(t, workDir)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			client := scheduler.New(scheduler.Config{Master: c.addr, Framework: api.FrameworkInfo{Name: "lingering"}})
			finished := make(chan string, 1) // the agent's ID
			failed := make(chan *api.Failure, 1)
			runCtx, stopRun := context.WithCancel(ctx)
			ran := make(chan error, 1)
			launched := false
			go func() {
				ran <- client.Run(runCtx, func(ctx context.Context, ev *api.Event) error {
					switch ev.Type {
					case api.EventOffers:
						for _, o := range ev.Offers.Offers {
							if launched {
								return client.Decline(ctx, 3600, o.ID)
							}
							launched = true
							return client.Launch(ctx, o.ID, api.TaskInfo{
								Name: "short", TaskID: api.TaskID{Value: "short-1"}, AgentID: o.AgentID,
								Resources: []api.Resource{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32)},
								Executor: &api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "lingering"},
									Command: customExecutorCommand(url, "linger")},
							})
						}
					case api.EventFailure:
						select {
						case failed <- ev.Failure:
						default:
						}
					case api.EventUpdate:
						if st := ev.Update.Status; st.State == api.TaskFinished {
							select {
							case finished <- st.AgentID.Value:
							default: // a retry of the update
							}
						} else if st.State.IsTerminal() {
							return fmt.Errorf("task ended %s: %s", st.State, st.Message)
						}
					}
					return nil
				})
			}()
			var agentID string
			select {
			case agentID = <-finished:
			case err := <-ran:
				c.stop(t)
				t.Fatalf("Run: %v; cluster logs:\n%s", err, c.logs)
			case <-ctx.Done():
				c.stop(t)
				t.Fatalf("the task never finished; cluster logs:\n%s", c.logs)
			}
			// Idle: its update acknowledged, the master holds no task on it.
			idle := waitForFile(t, workDir, "customexec.idle")
			pid, err := os.ReadFile(filepath.Join(filepath.Dir(idle), "customexec.pid"))
			if err != nil {
				t.Fatal(err)
			}
			// The master holds it, and its resources, though no task is left.
			if got := executorsListed(t, c); len(got) != 1 || got[0] != "lingering on "+agentID {
				t.Fatalf("GET_EXECUTORS lists %q with the executor idle, want lingering on %s", got, agentID)
			}
			if err := tt.shutdown(ctx, client, agentID); err != nil {
				t.Fatalf("shut down: %v", err)
			}
			waitForFile(t, workDir, "customexec.shutdown")
			waitGone(t, string(pid))
			if tt.name == "shutdown call" { // a framework torn down hears nothing more
				select {
				case f := <-failed:
					if f.ExecutorID == nil || f.ExecutorID.Value != "lingering" || f.AgentID == nil || f.AgentID.Value != agentID || f.Status == nil {
						t.Errorf("FAILURE %+v, want executor lingering on %s with its exit status", f, agentID)
					}
				case <-ctx.Done():
					t.Fatal("no FAILURE event for the executor's exit")
				}
			}
			for len(executorsListed(t, c)) > 0 {
				if ctx.Err() != nil {
					t.Fatalf("GET_EXECUTORS still lists %q after the executor exited", executorsListed(t, c))
				}
				time.Sleep(20 * time.Millisecond)
			}
			stopRun()
			if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

// waitForFile waits for a file of that name to appear anywhere under dir
// and returns its path.
func waitForFile(t *testing.T, dir, name string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found string
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == name {
				found = path
				return fs.SkipAll
			}
			return nil
		})
		if found != "" {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s under %s after 30s", name, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGone waits for the process of ID pid to be gone.
func waitGone(t *testing.T, pid string) {
	t.Helper()
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 1 {
		t.Fatalf("bad pid %q", pid)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !errors.Is(syscall.Kill(n, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs 30s after its executor was shut down", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// executorsListed is what `mezzo executors` lists, as "executor on
// agent" strings; its table must name each.
func executorsListed(t *testing.T, c *devCluster) []string {
	t.Helper()
	stdout, stderr, code := c.mezzo(t, "executors", "-o", "json")
	var resp api.GetExecutorsResponse
	if code != 0 || json.Unmarshal([]byte(stdout), &resp) != nil {
		t.Fatalf("mezzo executors -o json: exit %d\n%s%s", code, stdout, stderr)
	}
	table, _, _ := c.mezzo(t, "executors")
	var out []string
	for _, e := range resp.Executors {
		out = append(out, e.ExecutorInfo.ExecutorID.Value+" on "+e.AgentID.Value)
		if !strings.Contains(table, e.ExecutorInfo.ExecutorID.Value) || !strings.Contains(table, "CUSTOM") {
			t.Errorf("mezzo executors does not show %s, CUSTOM:\n%s", e.ExecutorInfo.ExecutorID.Value, table)
		}
	}
	return out
}
