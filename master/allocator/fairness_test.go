package allocator

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// cluster is a simulated cluster: frameworks with endless demand launch
// tasks of a fixed size from their offers and decline the rest; tasks end
// after a few passes.
type cluster struct {
	t       *testing.T
	a       *Allocator
	now     time.Time
	task    map[string]api.Resources // task size by framework
	limit   map[string]int           // tasks per offer by framework; 0 = as many as fit
	count   map[string]int           // tasks running by framework
	running []task
	passes  int
	seq     uint64
}

// task is a running task of the simulation.
type task struct {
	framework, agent, role string
	resources              api.Resources
	ends                   int // pass at which it ends; 0 = never
}

func newCluster(t *testing.T, a *Allocator, agents int, total string) *cluster {
	t.Helper()
	r := res(t, total)
	for i := range agents {
		a.AddAgent(fmt.Sprintf("a%03d", i), r, nil)
	}
	return &cluster{t: t, a: a, now: t0, task: map[string]api.Resources{},
		limit: map[string]int{}, count: map[string]int{}}
}

// framework adds a framework in role that launches tasks of size task, at
// most perOffer from one offer (0: as many as fit).
func (c *cluster) framework(id, role, task string, perOffer int) {
	c.a.AddFramework(id, roles(role))
	c.task[id] = res(c.t, task)
	c.limit[id] = perOffer
}

// pass ends the tasks due, runs one full pass and launches tasks. Tasks
// last between minLife and maxLife passes (0: forever). A framework that
// launches nothing from an offer declines it for two seconds, as real
// schedulers do; the rest of an offer it used is declined without a
// filter. It returns how many tasks were launched.
func (c *cluster) pass(minLife, maxLife int) int {
	c.passes++
	c.now = c.now.Add(time.Second)
	c.endTasks()
	launched := 0
	for _, o := range c.a.Allocate(c.now) {
		left, n := o.Resources.Unallocated(), 0
		size := c.task[o.Framework]
		for left.Contains(size) && (c.limit[o.Framework] == 0 || n < c.limit[o.Framework]) {
			left = left.Minus(size)
			c.start(o, size, minLife, maxLife)
			n++
		}
		refuse := time.Duration(0)
		if n == 0 {
			refuse = 2 * time.Second
		}
		c.a.Recover(o.Framework, o.Agent, o.Role, left.Allocate(o.Role), refuse, c.now)
		launched += n
	}
	return launched
}

// start records a task launched from offer o.
func (c *cluster) start(o Offer, size api.Resources, minLife, maxLife int) {
	tk := task{framework: o.Framework, agent: o.Agent, role: o.Role, resources: size.Allocate(o.Role)}
	if maxLife > 0 {
		c.seq++
		tk.ends = c.passes + minLife + int(mix64(c.seq)%uint64(maxLife-minLife+1))
	}
	c.running = append(c.running, tk)
	c.count[o.Framework]++
}

// endTasks recovers the tasks that end at this pass.
func (c *cluster) endTasks() {
	kept := c.running[:0]
	for _, tk := range c.running {
		if tk.ends != 0 && tk.ends <= c.passes {
			c.a.Recover(tk.framework, tk.agent, tk.role, tk.resources, 0, c.now)
			c.count[tk.framework]--
			continue
		}
		kept = append(kept, tk)
	}
	c.running = kept
}

// fill runs passes of tasks that never end until one launches nothing.
func (c *cluster) fill(maxPasses int) {
	for range maxPasses {
		if c.pass(0, 0) == 0 {
			return
		}
	}
	c.t.Fatalf("still launching tasks after %d passes", maxPasses)
}

func TestDRFConvergence(t *testing.T) {
	tests := []struct {
		name     string
		perOffer int
	}{
		{name: "one task per offer", perOffer: 1},
		{name: "two tasks per offer", perOffer: 2},
		{name: "as many tasks as fit", perOffer: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// DRF's answer: equal dominant shares, cpus for one and memory
			// for the other, reached when both resources run out together
			// (each task is a quarter of an agent in its dominant resource).
			c := newCluster(t, New(DefaultConfig()), 50, "cpus:8;mem:8192")
			c.framework("cpu-heavy", "r", "cpus:2;mem:512", tt.perOffer)
			c.framework("mem-heavy", "r", "cpus:0.5;mem:2048", tt.perOffer)
			var cpu, mem float64
			const passes, measured = 300, 100
			for i := range passes {
				c.pass(3, 12)
				if i >= passes-measured {
					cpu += c.a.Share("cpu-heavy") / measured
					mem += c.a.Share("mem-heavy") / measured
				}
			}
			t.Logf("mean dominant shares: cpu-heavy %.3f, mem-heavy %.3f", cpu, mem)
			if math.Abs(cpu-mem) > 0.05 {
				t.Errorf("mean dominant shares over the last %d passes: %.3f (cpu-heavy) and %.3f (mem-heavy), want equal within 0.05",
					measured, cpu, mem)
			}
			if cpu+mem < 1.2 {
				t.Errorf("mean dominant shares %.3f and %.3f: the cluster is mostly idle", cpu, mem)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	tests := []struct {
		name         string
		heavy, light float64
		wantRatio    float64
	}{
		{name: "2:1", heavy: 2, light: 1, wantRatio: 2},
		{name: "3:1", heavy: 3, light: 1, wantRatio: 3},
		{name: "equal", heavy: 1, light: 1, wantRatio: 1},
		{name: "weights below one", heavy: 0.5, light: 0.25, wantRatio: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.SetWeight("heavy", tt.heavy)
			a.SetWeight("light", tt.light)
			c := newCluster(t, a, 60, "cpus:4;mem:4096")
			c.framework("h", "heavy", "cpus:1;mem:1024", 1)
			c.framework("l", "light", "cpus:1;mem:1024", 1)
			c.fill(1000)
			got := float64(c.count["h"]) / float64(c.count["l"])
			if math.Abs(got-tt.wantRatio) > 0.1*tt.wantRatio {
				t.Errorf("tasks %d (heavy) : %d (light) = %.2f, want %.2f", c.count["h"], c.count["l"], got, tt.wantRatio)
			}
			if rh, rl := a.RoleShare("heavy"), a.RoleShare("light"); math.Abs(rh-rl) > 0.02 {
				t.Errorf("weighted role shares %.3f and %.3f, want about equal", rh, rl)
			}
		})
	}
}

func TestFrameworksWithinRoleShareByDRF(t *testing.T) {
	a := New(DefaultConfig())
	c := newCluster(t, a, 40, "cpus:4;mem:4096")
	for _, id := range []string{"f1", "f2", "f3", "f4"} {
		c.framework(id, "r", "cpus:1;mem:1024", 1)
	}
	c.fill(1000)
	for _, id := range []string{"f1", "f2", "f3", "f4"} {
		if c.count[id] < 38 || c.count[id] > 42 {
			t.Errorf("%s launched %d tasks, want about 40 (a quarter of 160)", id, c.count[id])
		}
	}
}
