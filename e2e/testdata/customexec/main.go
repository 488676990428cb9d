// Command customexec is a framework's own executor, for the end-to-end
// tests of custom executors: for every task it launches it reports
// TASK_RUNNING, then TASK_FINISHED with the task's data in the message,
// and it exits once the agent has acknowledged everything. It is built on
// sdk/executor, as a framework author's executor would be.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor"
)

var errDone = errors.New("done")

func main() {
	cfg, err := executor.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "customexec:", err)
		os.Exit(2)
	}
	c := executor.New(cfg)
	finished := 0
	err = c.Run(context.Background(), func(ctx context.Context, ev *api.ExecutorEvent) error {
		switch ev.Type {
		case api.ExecutorEventLaunch:
			t := ev.Launch.Task
			if err := c.Update(ctx, api.TaskStatus{TaskID: t.TaskID, State: api.TaskRunning}); err != nil {
				return err
			}
			finished++
			return c.Update(ctx, api.TaskStatus{TaskID: t.TaskID, State: api.TaskFinished,
				Message: fmt.Sprintf("custom executor ran: %s as uid %d", t.Data, os.Getuid())})
		case api.ExecutorEventAcknowledged:
			if _, updates := c.Unacknowledged(); finished > 0 && len(updates) == 0 {
				return errDone
			}
		case api.ExecutorEventShutdown:
			return errDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		fmt.Fprintln(os.Stderr, "customexec:", err)
		os.Exit(1)
	}
}
