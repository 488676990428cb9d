package master

import (
	"fmt"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// BenchmarkTeardown measures TEARDOWN of a framework with many running
// tasks on a master with a registry of one: how long the master's lock is
// held (lock-ms: nothing else is served meanwhile) and how long until the
// registry has committed the removal (commit-ms).
func BenchmarkTeardown(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			var lock, commit time.Duration
			for range b.N {
				b.StopTimer()
				rm := startReplicatedMaster(b, b.TempDir(), "127.0.0.1:0")
				f := populate(b, rm.testMaster, 100, n)
				b.StartTimer()
				start := time.Now()
				rm.mu.Lock()
				rm.removeFramework(f, start)
				lock += time.Since(start)
				done := make(chan struct{})
				rm.afterCommit(func() { close(done) })
				rm.mu.Unlock()
				<-done
				commit += time.Since(start)
				b.StopTimer()
				rm.stop()
			}
			b.ReportMetric(float64(lock.Milliseconds())/float64(b.N), "lock-ms")
			b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit-ms")
		})
	}
}

// populate gives tm a framework running n tasks spread over agents
// agents, committed to the registry, as ACCEPTs would have made them.
func populate(tb testing.TB, tm *testMaster, agents, n int) *framework {
	tb.Helper()
	now := time.Now()
	tm.mu.Lock()
	f := newFramework("bench-framework", api.FrameworkInfo{Name: "bench", Roles: []string{"*"}}, now)
	tm.frameworks[f.id] = f
	tm.alloc.AddFramework(f.id, frameworkOptions(f.info, nil))
	var as []*agent
	for i := range agents {
		res, err := api.ParseResources(fmt.Sprintf("cpus:%d;mem:%d", n, 64*n))
		if err != nil {
			tb.Fatal(err)
		}
		a := tm.admitAgent(&api.AgentSubscribe{AgentInfo: api.AgentInfo{Hostname: fmt.Sprintf("agent-%d", i), Resources: res}}, now)
		tm.readmitAgent(a)
		as = append(as, a)
	}
	per := api.Resources{api.ScalarResource("cpus", 0.01), api.ScalarResource("mem", 1)}
	for i := 0; i < n; {
		a := as[i%agents]
		remaining := a.total.Minus(a.used)
		var batch []*task
		for j := 0; j < 500 && i < n; j, i = j+1, i+1 {
			ti := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: fmt.Sprintf("task-%d", i)},
				AgentID: api.AgentID{Value: a.id}, Resources: per,
				Command: &api.CommandInfo{Value: "true"}}
			t := tm.launch(f, a, "*", ti, &remaining, now)
			if t == nil {
				tb.Fatalf("task %d was not launched: %v", i, f.notes)
			}
			t.state = api.TaskRunning
			batch = append(batch, t)
		}
		tm.launchTasks(batch, func() {})
	}
	done := make(chan struct{})
	tm.afterCommit(func() { close(done) })
	tm.mu.Unlock()
	<-done
	return f
}

// TestTeardownRecordsCompletedTasks tears down a framework with more tasks
// than a framework keeps completed: the registry ends up holding exactly
// the kept ones, as completed TASK_KILLED records, and no others.
func TestTeardownRecordsCompletedTasks(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	rm.mu.Lock()
	rm.cfg.MaxCompletedTasks = 3
	rm.mu.Unlock()
	f := populate(t, rm.testMaster, 2, 10)
	rm.mu.Lock()
	rm.removeFramework(f, time.Now())
	kept := map[string]bool{}
	for _, task := range f.completed {
		kept[task.info.TaskID.Value] = true
	}
	rm.mu.Unlock()
	if len(kept) != 3 {
		t.Fatalf("the framework keeps %d completed tasks, want 3", len(kept))
	}
	s := waitRegistry(t, rm.reg, "the framework removed", func(s *registry.State) bool {
		return !s.Frameworks[f.id].Completed.IsZero()
	})
	var got []string
	for _, rec := range s.Tasks {
		id := rec.Info.TaskID.Value
		got = append(got, id)
		if !kept[id] || !rec.Completed || rec.State != api.TaskKilled {
			t.Errorf("registry holds task %s completed=%v state %s; kept %v", id, rec.Completed, rec.State, kept)
		}
	}
	if len(got) != 3 {
		t.Errorf("registry holds tasks %v, want the 3 kept", got)
	}
}
