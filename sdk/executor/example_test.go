package executor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

// An executor that "runs" each task it is given by reporting it running
// and then finished, and exits once the agent has acknowledged
// everything. A stand-in agent from executortest plays the agent.
func ExampleClient_Run() {
	agent := executortest.NewAgent(executortest.Options{})
	defer agent.Close()

	// A real executor gets this from executor.ConfigFromEnv(os.Getenv).
	cfg := executor.Config{AgentEndpoint: agent.Endpoint(), FrameworkID: "fw", ExecutorID: "hello"}
	c := executor.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ctx context.Context, ev *api.ExecutorEvent) error {
			switch ev.Type {
			case api.ExecutorEventLaunch:
				id := ev.Launch.Task.TaskID
				go func() {
					c.Update(ctx, api.TaskStatus{TaskID: id, State: api.TaskRunning})
					c.Update(ctx, api.TaskStatus{TaskID: id, State: api.TaskFinished, Message: "done"})
				}()
			case api.ExecutorEventAcknowledged:
				if tasks, updates := c.Unacknowledged(); len(tasks) == 0 && len(updates) == 0 {
					cancel() // nothing left to do: exit
				}
			}
			return nil
		})
	}()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	agent.Wait(wait, agent.Connected)
	agent.Launch(api.TaskInfo{Name: "greet", TaskID: api.TaskID{Value: "greet-1"}})
	fmt.Println("Run:", <-done)
	for _, s := range agent.Updates() {
		fmt.Println(s.TaskID.Value, s.State, s.Source)
	}
	// Output:
	// Run: <nil>
	// greet-1 TASK_RUNNING SOURCE_EXECUTOR
	// greet-1 TASK_FINISHED SOURCE_EXECUTOR
}
