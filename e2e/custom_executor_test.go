package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
	defer srv.Close()

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
						Command: &api.CommandInfo{Value: "customexec", Shell: api.Ptr(false), Arguments: []string{"customexec"},
							URIs: []api.CommandURI{{Value: srv.URL + "/customexec", Executable: api.Ptr(true)}}}},
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
