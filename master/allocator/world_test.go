package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// world drives an Allocator with random operations and keeps an
// independent model of what is allocated, computed with package api's
// arithmetic, to check every offer against.
type world struct {
	t      *testing.T
	a      *Allocator
	rng    *rand.Rand
	now    time.Time
	total  map[string]api.Resources // by agent
	held   map[[3]string]api.Resources
	active map[string]bool             // frameworks
	opts   map[string]FrameworkOptions // frameworks
	log    []string                    // offers of every pass, for determinism
}

var worldRoles = []string{"a", "b", "a/x", "*"}

func newWorld(t *testing.T, seed uint64) *world {
	return &world{
		t: t, a: New(DefaultConfig()), rng: rand.New(rand.NewPCG(seed, 42)), now: t0,
		total: map[string]api.Resources{}, held: map[[3]string]api.Resources{},
		active: map[string]bool{}, opts: map[string]FrameworkOptions{},
	}
}

// step performs one random operation.
func (w *world) step() {
	w.now = w.now.Add(time.Duration(w.rng.IntN(3000)) * time.Millisecond)
	ops := []func(){
		w.addAgent, w.addAgent, w.removeAgent, w.updateAgent, w.toggleAgent,
		w.addFramework, w.removeFramework, w.toggleFramework, w.suppress, w.updateFramework,
		w.quota, w.weight,
		w.allocate, w.allocate, w.allocateAgents,
		w.recover, w.recover, w.recover, w.recover,
	}
	ops[w.rng.IntN(len(ops))]()
}

func (w *world) pick(list []string) string { return list[w.rng.IntN(len(list))] }

// keys returns m's keys sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (w *world) randomTotal() api.Resources {
	s := fmt.Sprintf("cpus:%d;mem:%d", 1+w.rng.IntN(16), 32*(1+w.rng.IntN(64)))
	if w.rng.IntN(2) == 0 {
		b := 1000 * w.rng.IntN(5)
		s += fmt.Sprintf(";ports:[%d-%d,%d-%d]", b, b+w.rng.IntN(20), b+100, b+100+w.rng.IntN(50))
	}
	if w.rng.IntN(3) == 0 {
		s += fmt.Sprintf(";cpus(%s):%d;mem(%s):256", w.pick(worldRoles[:3]), 1+w.rng.IntN(4), w.pick(worldRoles[:2]))
	}
	if w.rng.IntN(4) == 0 {
		s += ";disks:{d1,d2,d3}"
	}
	return res(w.t, s)
}

func (w *world) addAgent() {
	id := fmt.Sprintf("a%d", w.rng.IntN(12))
	if _, ok := w.total[id]; ok {
		return
	}
	w.total[id] = w.randomTotal()
	w.a.AddAgent(id, w.total[id], nil)
}

func (w *world) removeAgent() {
	if len(w.total) == 0 {
		return
	}
	id := w.pick(keys(w.total))
	w.a.RemoveAgent(id)
	delete(w.total, id)
	for k := range w.held {
		if k[1] == id {
			delete(w.held, k)
		}
	}
}

func (w *world) updateAgent() {
	if len(w.total) == 0 {
		return
	}
	id := w.pick(keys(w.total))
	w.total[id] = w.randomTotal()
	w.a.UpdateAgent(id, w.total[id])
}

func (w *world) toggleAgent() {
	if len(w.total) == 0 {
		return
	}
	id := w.pick(keys(w.total))
	if w.rng.IntN(2) == 0 {
		w.a.DeactivateAgent(id)
	} else {
		w.a.ActivateAgent(id)
	}
}

func (w *world) randomOptions() FrameworkOptions {
	var opts FrameworkOptions
	for _, r := range worldRoles {
		if w.rng.IntN(2) == 0 {
			opts.Roles = append(opts.Roles, r)
		}
	}
	if len(opts.Roles) > 0 && w.rng.IntN(4) == 0 {
		opts.SuppressedRoles = []string{w.pick(opts.Roles)}
	}
	if w.rng.IntN(4) == 0 {
		opts.MinAllocatable = map[string][]api.Resources{w.pick(worldRoles): {{api.ScalarResource("cpus", 2)}}}
	}
	return opts
}

func (w *world) addFramework() {
	id := fmt.Sprintf("f%d", w.rng.IntN(6))
	w.opts[id] = w.randomOptions()
	w.active[id] = true
	w.a.AddFramework(id, w.opts[id])
}

func (w *world) removeFramework() {
	if len(w.opts) == 0 {
		return
	}
	id := w.pick(keys(w.opts))
	w.a.RemoveFramework(id)
	delete(w.opts, id)
	delete(w.active, id)
	for k := range w.held {
		if k[0] == id {
			delete(w.held, k)
		}
	}
}

func (w *world) toggleFramework() {
	if len(w.opts) == 0 {
		return
	}
	id := w.pick(keys(w.opts))
	w.active[id] = w.rng.IntN(2) == 0
	if w.active[id] {
		w.a.ActivateFramework(id)
	} else {
		w.a.DeactivateFramework(id)
	}
}

func (w *world) suppress() {
	if len(w.opts) == 0 {
		return
	}
	id := w.pick(keys(w.opts))
	opts := w.opts[id]
	role := w.pick(worldRoles)
	if w.rng.IntN(2) == 0 {
		w.a.Suppress(id, role)
		if slices.Contains(opts.Roles, role) && !slices.Contains(opts.SuppressedRoles, role) {
			opts.SuppressedRoles = append(slices.Clone(opts.SuppressedRoles), role)
		}
	} else {
		w.a.Revive(id, role)
		opts.SuppressedRoles = slices.DeleteFunc(slices.Clone(opts.SuppressedRoles), func(r string) bool { return r == role })
	}
	w.opts[id] = opts
}

func (w *world) updateFramework() {
	if len(w.opts) == 0 {
		return
	}
	id := w.pick(keys(w.opts))
	w.opts[id] = w.randomOptions()
	w.a.UpdateFramework(id, w.opts[id])
	// The master rescinds offers in roles the framework left.
	for _, k := range w.heldKeys() {
		if k[0] == id && !slices.Contains(normalizeRoles(w.opts[id].Roles), k[2]) {
			w.a.Recover(k[0], k[1], k[2], w.held[k].Allocate(k[2]), 0, w.now)
			delete(w.held, k)
		}
	}
}

func (w *world) quota() {
	role := w.pick(worldRoles[:3])
	switch w.rng.IntN(3) {
	case 0:
		w.a.SetQuota(role, nil, nil)
	case 1:
		w.a.SetQuota(role, res(w.t, fmt.Sprintf("cpus:%d", w.rng.IntN(20))), nil)
	default:
		w.a.SetQuota(role, nil, res(w.t, fmt.Sprintf("cpus:%d;mem:%d", w.rng.IntN(40), 1024*w.rng.IntN(20))))
	}
}

func (w *world) weight() { w.a.SetWeight(w.pick(worldRoles), float64(w.rng.IntN(4))) }

func (w *world) allocate() {
	before := w.consumption()
	w.check(w.a.Allocate(w.now))
	w.checkLimits(before)
}

func (w *world) allocateAgents() {
	ids := keys(w.total)
	var some []string
	for _, id := range ids {
		if w.rng.IntN(3) == 0 {
			some = append(some, id, id)
		}
	}
	before := w.consumption()
	w.check(w.a.AllocateAgents(w.now, some...))
	w.checkLimits(before)
}

// consumption returns every role's quota consumption by name index.
func (w *world) consumption() map[string][]int64 {
	out := map[string][]int64{}
	for name, r := range w.a.roles {
		out[name] = slices.Clone(r.cons)
	}
	return out
}

// checkLimits fails when a pass took a role above a limit: a consumption
// may exceed a limit only if it did before the pass (the limit was set
// below it, or reservations grew).
func (w *world) checkLimits(before map[string][]int64) {
	w.t.Helper()
	for name, r := range w.a.roles {
		for _, l := range r.quota.limits {
			now, was := at(r.cons, l.name), at(before[name], l.name)
			if now > l.millis && now > was {
				w.t.Fatalf("role %s: a pass took consumption of resource %d from %d to %d, over its limit %d",
					name, l.name, was, now, l.millis)
			}
		}
	}
}

func (w *world) heldKeys() [][3]string {
	out := make([][3]string, 0, len(w.held))
	for k := range w.held {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [3]string) int { return strings.Compare(strings.Join(a[:], "|"), strings.Join(b[:], "|")) })
	return out
}

// recover returns all or part of what a framework holds on an agent, as a
// decline, a rescind or a task's end.
func (w *world) recover() {
	ks := w.heldKeys()
	if len(ks) == 0 {
		return
	}
	k := ks[w.rng.IntN(len(ks))]
	back := w.held[k]
	if w.rng.IntN(2) == 0 {
		back = back.Filter(func(r api.Resource) bool { return r.Name != "cpus" })
	}
	refuse := []time.Duration{0, 0, time.Second, time.Minute}[w.rng.IntN(4)]
	w.a.Recover(k[0], k[1], k[2], back.Allocate(k[2]), refuse, w.now)
	w.held[k] = w.held[k].Minus(back)
	if w.held[k].Empty() {
		delete(w.held, k)
	}
}
