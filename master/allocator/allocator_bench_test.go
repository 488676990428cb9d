package allocator

import (
	"fmt"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// benchSizes are the cluster sizes of the issue: agents × frameworks.
var benchSizes = []struct{ agents, frameworks int }{
	{1000, 10}, {1000, 200}, {1000, 2000},
	{10000, 10}, {10000, 200}, {10000, 2000},
	{50000, 10}, {50000, 200}, {50000, 2000},
}

// benchRoles is how many roles the frameworks are spread over.
const benchRoles = 5

// benchCluster returns an allocator with agents of cpus:16;mem:65536;
// disk:1000000;ports:[31000-32000] and active frameworks spread over a
// handful of roles.
func benchCluster(b *testing.B, agents, frameworks int) *Allocator {
	b.Helper()
	total := res(b, "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]")
	attrs := []api.Attribute{{Name: "rack", Type: api.TEXT, Text: &api.Text{Value: "r1"}}}
	a := New(DefaultConfig())
	for i := range agents {
		a.AddAgent(fmt.Sprintf("agent-%06d", i), total, attrs)
	}
	for i := range frameworks {
		a.AddFramework(fmt.Sprintf("framework-%05d", i), roles(fmt.Sprintf("role-%d", i%benchRoles)))
	}
	return a
}

// BenchmarkAllocate measures a full pass in which every agent is free: the
// offers of the previous pass are recovered, untimed, before each pass.
func BenchmarkAllocate(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", size.agents, size.frameworks), func(b *testing.B) {
			a := benchCluster(b, size.agents, size.frameworks)
			now := t0
			offers := a.Allocate(now) // warm up scratch space and sorters
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				recoverAll(a, offers, 0, now)
				now = now.Add(time.Second)
				b.StartTimer()
				offers = a.Allocate(now)
			}
			b.StopTimer()
			if len(offers) != size.agents {
				b.Fatalf("%d offers, want one per agent (%d)", len(offers), size.agents)
			}
		})
	}
}

// BenchmarkAllocateFreedAgent measures the incremental pass after one task
// ends on a full cluster: every agent runs 16 one-cpu tasks; one ends, its
// resources are recovered (untimed) and AllocateAgents offers them; the
// offer becomes the next task there.
func BenchmarkAllocateFreedAgent(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", size.agents, size.frameworks), func(b *testing.B) {
			a := benchCluster(b, size.agents, size.frameworks)
			now := t0
			tasks := fillWithTasks(b, a, now)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				ag := fmt.Sprintf("agent-%06d", i%size.agents)
				list := tasks[ag]
				task := list[len(list)-1]
				a.Recover(task.Framework, ag, task.Role, task.Resources, 0, now)
				b.StartTimer()
				offers := a.AllocateAgents(now, ag)
				b.StopTimer()
				if len(offers) != 1 {
					b.Fatalf("%d offers after a task ended, want 1", len(offers))
				}
				tasks[ag] = append(list[:len(list)-1], offers[0])
			}
		})
	}
}

// fillWithTasks allocates every agent to 16 tasks of cpus:1;mem:4096;
// disk:62500;ports:1 each and returns them by agent.
func fillWithTasks(b *testing.B, a *Allocator, now time.Time) map[string][]Offer {
	b.Helper()
	tasks := map[string][]Offer{}
	for _, o := range a.Allocate(now) {
		a.Recover(o.Framework, o.Agent, o.Role, o.Resources, 0, now)
		for p := range 16 {
			port := api.Uint64(31000 + p)
			task := api.Resources{
				api.ScalarResource("cpus", 1), api.ScalarResource("mem", 4096),
				api.ScalarResource("disk", 62500), api.RangesResource("ports", api.Range{Begin: port, End: port}),
			}.Allocate(o.Role)
			a.Allocated(o.Framework, o.Agent, o.Role, task)
			tasks[o.Agent] = append(tasks[o.Agent], Offer{Framework: o.Framework, Agent: o.Agent, Role: o.Role, Resources: task})
		}
	}
	return tasks
}

// BenchmarkRecover measures declining one offer with a refusal filter, the
// call the master makes most often, on a 10,000-agent cluster.
func BenchmarkRecover(b *testing.B) {
	a := benchCluster(b, 10000, 200)
	now := t0
	offers := a.Allocate(now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o := offers[i%len(offers)]
		a.Recover(o.Framework, o.Agent, o.Role, o.Resources, 5*time.Second, now)
		b.StopTimer()
		a.Allocated(o.Framework, o.Agent, o.Role, o.Resources)
		b.StartTimer()
	}
}
