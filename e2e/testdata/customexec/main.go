// Command customexec is a framework's own executor, for the end-to-end
// tests of custom executors: for every task it launches it reports
// TASK_RUNNING, then TASK_FINISHED with the task's data in the message,
// and it exits once the agent has acknowledged everything. It is built on
// sdk/executor, as a framework author's executor would be.
//
// Run with the argument "linger", it stays subscribed once its tasks are
// done, as a framework's long-lived executor does, until the agent sends
// it SHUTDOWN. It then leaves files in its sandbox for the tests to see:
// customexec.pid (its process ID) at start, customexec.idle once its
// updates are all acknowledged, and customexec.shutdown when SHUTDOWN
// comes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

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
	linger := slices.Contains(os.Args[1:], "linger")
	mark := func(name, content string) error {
		if !linger {
			return nil
		}
		if err := os.WriteFile(filepath.Join(os.Getenv("MESOS_SANDBOX"), name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	}
	if err := mark("customexec.pid", strconv.Itoa(os.Getpid())); err != nil {
		fmt.Fprintln(os.Stderr, "customexec:", err)
		os.Exit(1)
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
				if linger {
					return mark("customexec.idle", "")
				}
				return errDone
			}
		case api.ExecutorEventShutdown:
			if err := mark("customexec.shutdown", ""); err != nil {
				return err
			}
			return errDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		fmt.Fprintln(os.Stderr, "customexec:", err)
		os.Exit(1)
	}
}
