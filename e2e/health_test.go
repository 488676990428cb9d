package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// TestHealthCheck runs a task whose COMMAND health check passes while a
// file exists: the framework hears healthy, then unhealthy, then the task
// is killed for failing its check — Mesos's health check behaviour, on a
// real agent.
func TestHealthCheck(t *testing.T) {
	c := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := scheduler.New(scheduler.Config{Master: c.addr, Framework: api.FrameworkInfo{Name: "health-test"}})
	var healthy []bool
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
				task := scheduler.CommandTask("checked", "checked", o.AgentID.Value,
					"touch ready; sleep 1; rm ready; exec sleep 654987",
					[]api.Resource{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32)})
				// The grace period covers the moment before the task creates
				// its file: failures then do not count until the first success.
				zero, grace, interval := api.Float64(0), api.Float64(30), api.Float64(0.1)
				task.HealthCheck = &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{Value: "test -f ready"},
					DelaySeconds: &zero, GracePeriodSeconds: &grace, IntervalSeconds: &interval,
					ConsecutiveFailures: api.Ptr(api.Uint64(2))}
				return client.Launch(ctx, o.ID, task)
			}
		case api.EventUpdate:
			st := ev.Update.Status
			if st.Reason == api.ReasonTaskHealthCheckStatusUpdated && st.Healthy != nil {
				healthy = append(healthy, *st.Healthy)
			}
			if st.State.IsTerminal() {
				final = st
				return errDone
			}
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Run: %v; cluster logs:\n%s", err, c.logs)
	}
	if len(healthy) < 2 || !healthy[0] || healthy[len(healthy)-1] {
		t.Fatalf("health updates %v, want healthy first and unhealthy last", healthy)
	}
	if final.State != api.TaskKilled {
		t.Fatalf("the unhealthy task ended %s (%s), want TASK_KILLED", final.State, final.Message)
	}
	// As Mesos's: healthy false and no reason; the message says why, and
	// how the task's process ended (sleep dies of the kill's SIGTERM).
	const want = "Task killed after failing its health check: Command terminated with signal Terminated"
	if final.Healthy == nil || *final.Healthy || final.Message != want {
		t.Errorf("the unhealthy task's end: healthy %v, message %q; want false and %q", final.Healthy, final.Message, want)
	}
	waitFor(t, func() bool { return !processRunning(t, "sleep 654987") }, "the unhealthy task's process to be gone")
}
