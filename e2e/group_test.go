package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// TestTaskGroupDefaultExecutor launches a task group on a real agent with
// the SDK: when one task fails, the default executor kills its sibling, as
// Mesos's does.
func TestTaskGroupDefaultExecutor(t *testing.T) {
	c := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := scheduler.New(scheduler.Config{Master: c.addr, Framework: api.FrameworkInfo{Name: "group-test"}})
	final := map[string]api.TaskStatus{}
	launched := false
	errDone := errors.New("both tasks ended")
	res := func(cpus, mem float64) []api.Resource {
		return []api.Resource{api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem)}
	}
	err := client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventOffers:
			for _, o := range ev.Offers.Offers {
				if launched {
					return client.Decline(ctx, 3600, o.ID)
				}
				launched = true
				tasks := []api.TaskInfo{
					scheduler.CommandTask("fails", "fails", o.AgentID.Value, "sleep 0.2; exit 4", res(0.1, 32)),
					scheduler.CommandTask("sleeps", "sleeps", o.AgentID.Value, "exec sleep 765432", res(0.1, 32)),
				}
				exec := api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "group"}, Resources: res(0.1, 32)}
				return client.Accept(ctx, []api.OfferID{o.ID}, []api.Operation{{Type: api.OpLaunchGroup,
					LaunchGroup: &api.LaunchGroup{Executor: exec, TaskGroup: api.TaskGroupInfo{Tasks: tasks}}}}, nil)
			}
		case api.EventUpdate:
			st := ev.Update.Status
			if st.State.IsTerminal() {
				final[st.TaskID.Value] = st
			}
			if len(final) == 2 {
				return errDone
			}
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Run: %v; cluster logs:\n%s", err, c.logs)
	}
	if st := final["fails"]; st.State != api.TaskFailed {
		t.Errorf("the failing task ended %s (%s), want TASK_FAILED", st.State, st.Message)
	}
	if st := final["sleeps"]; st.State != api.TaskKilled {
		t.Errorf("its sibling ended %s (%s), want TASK_KILLED by the default executor", st.State, st.Message)
	}
	waitFor(t, func() bool { return !processRunning(t, "sleep 765432") }, "the sibling's process to be gone")
}
