package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// tinyModule is sandbox/testdata/tiny.wat: an entry point that returns at
// once, the smallest task.
var tinyModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
	0x00, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x03, 0x03, 0x02, 0x00, 0x01, 0x07,
	0x17, 0x02, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a,
	0x77, 0x69, 0x74, 0x68, 0x5f, 0x70, 0x61, 0x72, 0x61, 0x6d, 0x00, 0x01,
	0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b,
}

// BenchmarkTaskThroughput measures how many trivial Wasm tasks (tinyModule
// on the default engine) one agent of a real dev cluster launches, runs to
// TASK_FINISHED and has acknowledged per second: a framework packs every
// offer with tasks and the SDK acknowledges each update. It reports
// tasks/s as a custom metric; ns/op is the time per task.
//
//	go test -run '^$' -bench BenchmarkTaskThroughput -benchtime 5000x ./e2e
func BenchmarkTaskThroughput(b *testing.B) {
	c := startDev(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m, err := operator.New(c.addr).PushModule(ctx, tinyModule)
	if err != nil {
		b.Fatalf("upload the tiny module: %v", err)
	}
	res := api.Resources{api.ScalarResource("cpus", 0.01), api.ScalarResource("mem", 1)}
	var mu sync.Mutex
	next, target, done := 0, 0, 0
	finished := make(chan struct{}, 1)
	failed := ""
	// Updates are acknowledged by a pool of goroutines: the SDK's own
	// acknowledgement, one call at a time on the event goroutine, would
	// measure the framework rather than the agent.
	client := scheduler.New(scheduler.Config{Master: c.addr, ManualAcknowledge: true,
		Framework: api.FrameworkInfo{Name: "throughput"}})
	acks := make(chan api.TaskStatus, 4096)
	for range 16 {
		go func() {
			for {
				select {
				case st := <-acks:
					if err := client.Acknowledge(ctx, st.AgentID.Value, st.TaskID.Value, st.UUID); err != nil && ctx.Err() == nil {
						b.Errorf("acknowledge: %v", err)
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// Where a task's time goes: from its launch call to each update.
	last := map[string]time.Time{}
	stages := map[api.TaskState]time.Duration{}
	inFlight, maxInFlight := 0, 0
	go client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventOffers:
			for _, o := range ev.Offers.Offers {
				mu.Lock()
				var queue []api.TaskInfo
				for ; next < target && len(queue) < 1000; next++ {
					id := fmt.Sprintf("t%d", next)
					queue = append(queue, scheduler.WasmTask(id, id, o.AgentID.Value, m.SHA256, nil, res))
				}
				launch, rest := scheduler.Pack(o, queue)
				next -= len(rest)
				now := time.Now()
				for _, ti := range launch {
					last[ti.TaskID.Value] = now
				}
				inFlight += len(launch)
				maxInFlight = max(maxInFlight, inFlight)
				mu.Unlock()
				refuse := &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}
				if len(launch) == 0 {
					client.Decline(ctx, 0, o.ID)
					continue
				}
				if err := client.Accept(ctx, []api.OfferID{o.ID}, []api.Operation{{Type: api.OpLaunch,
					Launch: &api.LaunchOperation{TaskInfos: launch}}}, refuse); err != nil {
					return err
				}
			}
		case api.EventUpdate:
			st := ev.Update.Status
			if len(st.UUID) > 0 && st.AgentID != nil {
				acks <- st
			}
			mu.Lock()
			if t0, ok := last[st.TaskID.Value]; ok {
				stages[st.State] += time.Since(t0)
				last[st.TaskID.Value] = time.Now()
			}
			if !st.State.IsTerminal() {
				mu.Unlock()
				return nil
			}
			delete(last, st.TaskID.Value)
			inFlight--
			if st.State != api.TaskFinished && failed == "" {
				failed = fmt.Sprintf("%s ended %s %s: %s", st.TaskID.Value, st.State, st.Reason, st.Message)
			}
			done++
			if done == target {
				finished <- struct{}{}
			}
			mu.Unlock()
		}
		return nil
	})
	run := func(n int) {
		mu.Lock()
		target += n
		mu.Unlock()
		client.Revive(ctx)
		select {
		case <-finished:
		case <-ctx.Done():
			b.Fatalf("%d of %d tasks ended", done, target)
		}
		mu.Lock()
		defer mu.Unlock()
		if failed != "" {
			b.Fatal(failed)
		}
	}
	run(20) // starts the shared executor and compiles the module
	mu.Lock()
	clear(stages)
	maxInFlight = 0
	mu.Unlock()
	b.ResetTimer()
	began := time.Now()
	run(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "tasks/s")
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(maxInFlight), "max-in-flight")
	// A cached module's tasks skip TASK_STARTING: no such stage then.
	for state, name := range map[api.TaskState]string{api.TaskStarting: "ms-to-starting", api.TaskRunning: "ms-to-running", api.TaskFinished: "ms-to-finished"} {
		if d, ok := stages[state]; ok {
			b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), name)
		}
	}
}
