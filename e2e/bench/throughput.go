//go:build linux

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/e2e/load"
)

// itemThroughput measures items b and h, and the agent's memory after
// many completed tasks (g): trivial tasks launched, finished and
// acknowledged as fast as one master and one real agent take them, and
// the CPU the platform spent per task, for Wasm (hello, on the agent's
// default engine) and native (/bin/true) tasks, each on a fresh cluster.
func (s *suite) itemThroughput(ctx context.Context, kind string) error {
	// cpus:8 with 0.1 per task: at most 80 tasks at once, in the
	// framework's shared executor.
	c, err := s.realCluster(ctx, "throughput-"+kind, "cpus:8;mem:16384")
	if err != nil {
		return err
	}
	defer c.stop()
	task := nativeTask
	n := s.n(1000, 100)
	if kind == "wasm" {
		sha, err := s.module(ctx, c.addr, "./samples/modules/hello")
		if err != nil {
			return err
		}
		task = wasmTask(sha, "")
		n = s.n(5000, 200)
	}
	if _, err := s.runLoad(ctx, "b: "+kind+" (warm-up)", load.Config{Master: c.addr, Tasks: 5, Task: task, Until: api.TaskFinished}); err != nil {
		return err
	}
	waitExecutors(c, 10*time.Second)
	idle, err := rss(c.agent.pid())
	if err != nil {
		return err
	}
	cpu0, err := platformCPU(c)
	if err != nil {
		return err
	}
	res, err := s.runLoad(ctx, "b: "+kind, load.Config{Master: c.addr, Tasks: n, Task: task, Until: api.TaskFinished, Launchers: 4, Ackers: 16})
	if err != nil {
		return err
	}
	left := waitExecutors(c, 30*time.Second)
	cpu1, err := platformCPU(c)
	if err != nil {
		return err
	}
	after, err := rss(c.agent.pid())
	if err != nil {
		return err
	}
	rate := res.Rate(n)
	perTask := ms(cpu1-cpu0) / float64(n)
	note := fmt.Sprintf("%d tasks in %.1f s; launch to TASK_RUNNING p50 %.1f ms, p99 %.1f ms under load", n, res.Elapsed.Seconds(),
		ms(percentile(res.Latencies, 50)), ms(percentile(res.Latencies, 99)))
	if kind == "wasm" {
		s.rep.add(Row{Item: "b", Measure: "throughput, trivial Wasm tasks", Value: rate, Unit: "tasks/s", Target: "≥ 5,000 tasks/s", Met: atLeast(rate, 5000), Note: note})
		s.rep.add(Row{Item: "h", Measure: "platform CPU per Wasm task", Value: perTask, Unit: "ms", Target: "≤ 0.2 ms", Met: atMost(perTask, 0.2),
			Note: "master + agent + executors, from /proc/<pid>/stat over the b run"})
		grown := float64(after-idle) / (1 << 20)
		s.rep.add(Row{Item: "g", Measure: fmt.Sprintf("agent RSS growth after %d completed tasks", n), Value: grown, Unit: "MB", Target: "≤ idle + 50 MB",
			Met: atMost(grown, 50), Note: fmt.Sprintf("idle %.1f MB, after %.1f MB (agent process only)", float64(idle)/(1<<20), float64(after)/(1<<20))})
	} else {
		s.rep.add(Row{Item: "b", Measure: "throughput, native /bin/true tasks", Value: rate, Unit: "tasks/s", Target: "≥ 500 tasks/s", Met: atLeast(rate, 500), Note: note})
		s.rep.add(Row{Item: "h", Measure: "platform CPU per native task", Value: perTask, Unit: "ms", Target: "≤ 2 ms", Met: atMost(perTask, 2),
			Note: "master + agent + executors + the task's own /bin/true, from /proc/<pid>/stat"})
	}
	if left > 0 {
		s.rep.add(Row{Item: "h", Measure: "executors still running when CPU was read (" + kind + ")", Value: float64(left), Unit: "processes", Target: "-",
			Note: "their CPU so far is counted; their exit is not"})
	}
	s.prog.done("b: %s %.0f tasks/s; h: %.2f ms CPU per task", kind, rate, perTask)
	return nil
}

// itemWasmMemory measures the agent's memory per running Wasm task (g):
// long-running tasks (waitfile, which polls for a file that never comes)
// are placed, and the agent with its executors is weighed before and
// after.
func (s *suite) itemWasmMemory(ctx context.Context) error {
	c, err := s.realCluster(ctx, "memory-wasm", "cpus:8;mem:16384")
	if err != nil {
		return err
	}
	defer c.stop()
	sha, err := s.module(ctx, c.addr, "./e2e/testdata/waitfile")
	if err != nil {
		return err
	}
	idleAgent, err := rss(c.agent.pid())
	if err != nil {
		return err
	}
	n := s.n(50, 10)
	var measureErr error
	var tree, agentOnly int64
	var procs int
	_, err = s.runLoad(ctx, "g: running Wasm tasks", load.Config{
		Master: c.addr, Tasks: n, Task: wasmTask(sha, "", "never-created"), Until: api.TaskRunning,
		BeforeTeardown: func() {
			time.Sleep(time.Second) // let the modules reach their polling loop
			tree, procs, measureErr = treeRSS(c.agent.pid())
			if measureErr == nil {
				agentOnly, measureErr = rss(c.agent.pid())
			}
		},
	})
	if err != nil {
		return err
	}
	if measureErr != nil {
		return measureErr
	}
	per := float64(tree-idleAgent) / float64(n) / (1 << 20)
	s.rep.add(Row{Item: "g", Measure: "agent RSS per running Wasm task", Value: per, Unit: "MB", Target: "≤ 1 MB + module memory",
		Note: fmt.Sprintf("%d waitfile tasks (Go wasip1, default engine): agent %.1f → %.1f MB, plus %d executor processes; total %.1f MB",
			n, float64(idleAgent)/(1<<20), float64(agentOnly)/(1<<20), procs, float64(tree)/(1<<20))})
	s.prog.done("g: %.2f MB per running Wasm task (agent and executors)", per)
	return nil
}
