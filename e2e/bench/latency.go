//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/e2e/load"
)

// engines are the Wasm engines measured for item a.
var engines = []string{"wazero", "wasmtime"}

// itemLatency measures items a and c on one master and one agent: the
// time from ACCEPT sent to TASK_RUNNING received, one task at a time, for
// a cached Wasm module on each engine and for a native /bin/true, beside
// a bare fork+exec of /bin/true from this process.
func (s *suite) itemLatency(ctx context.Context) error {
	c, err := s.realCluster(ctx, "latency", "cpus:2;mem:4096")
	if err != nil {
		return err
	}
	defer c.stop()
	sha, err := s.module(ctx, c.addr, "./samples/modules/hello")
	if err != nil {
		return err
	}
	n := s.n(200, 30)
	for _, engine := range engines {
		lat, err := s.sequential(ctx, c, "a: "+engine, n, wasmTask(sha, engine))
		if err != nil {
			return err
		}
		s.rep.samples("a/"+engine, lat)
		p50, p99 := ms(percentile(lat, 50)), ms(percentile(lat, 99))
		note := fmt.Sprintf("%d tasks one at a time, hello module, compiled code cached", len(lat))
		s.rep.add(Row{Item: "a", Measure: "launch latency p50, " + engine, Value: p50, Unit: "ms", Target: "≤ 1 ms", Met: atMost(p50, 1), Note: note})
		s.rep.add(Row{Item: "a", Measure: "launch latency p99, " + engine, Value: p99, Unit: "ms", Target: "≤ 5 ms", Met: atMost(p99, 5), Note: note})
		s.prog.done("a: %s p50 %.2f ms, p99 %.2f ms", engine, p50, p99)
	}
	lat, err := s.sequential(ctx, c, "c: native", n, nativeTask)
	if err != nil {
		return err
	}
	fork, err := forkExec(n)
	if err != nil {
		return err
	}
	s.rep.samples("c/native", lat)
	s.rep.samples("c/fork+exec", fork)
	native, bare := ms(percentile(lat, 50)), ms(percentile(fork, 50))
	s.rep.add(Row{Item: "c", Measure: "native launch latency p50", Value: native, Unit: "ms", Target: fmt.Sprintf("≤ 2× fork+exec (%.2f ms)", 2*bare),
		Met: atMost(native, 2*bare), Note: fmt.Sprintf("%d tasks of /bin/true one at a time; p99 %.2f ms", len(lat), ms(percentile(lat, 99)))})
	s.rep.add(Row{Item: "c", Measure: "bare fork+exec+wait p50", Value: bare, Unit: "ms", Target: "-",
		Note: fmt.Sprintf("os/exec of /bin/true from the harness, %d times, same run; p99 %.2f ms", len(fork), ms(percentile(fork, 99)))})
	s.prog.done("c: native p50 %.2f ms beside fork+exec %.2f ms", native, bare)
	return nil
}

// sequential launches n tasks one at a time, after a few untimed ones
// that warm the compiled-code cache, and returns their latencies.
func (s *suite) sequential(ctx context.Context, c *cluster, label string, n int, task func(int) api.TaskInfo) ([]time.Duration, error) {
	if _, err := s.runLoad(ctx, label+" (warm-up)", load.Config{Master: c.addr, Tasks: 3, Task: task, Until: api.TaskFinished, MaxOutstanding: 1}); err != nil {
		return nil, err
	}
	res, err := s.runLoad(ctx, label, load.Config{Master: c.addr, Tasks: n, Task: task, Until: api.TaskFinished, MaxOutstanding: 1})
	if err != nil {
		return nil, err
	}
	return res.Latencies, nil
}

// forkExec times n runs of /bin/true with os/exec: fork, exec and wait.
func forkExec(n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			return nil, fmt.Errorf("fork+exec /bin/true: %w", err)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}
