package allocator

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// check verifies a pass's offers against the model and records them.
func (w *world) check(offers []Offer) {
	w.t.Helper()
	w.log = append(w.log, describe(offers))
	checkUnallocated(w.t, offers)
	seen := map[[3]string]bool{}
	for _, o := range offers {
		w.checkOffer(o)
		k := [3]string{o.Framework, o.Agent, o.Role}
		if seen[k] {
			w.t.Fatalf("two offers of agent %s to %s in role %s in one pass", o.Agent, o.Framework, o.Role)
		}
		seen[k] = true
		w.held[k] = w.held[k].Plus(o.Resources.Unallocated())
	}
}

func (w *world) checkOffer(o Offer) {
	w.t.Helper()
	opts := w.opts[o.Framework]
	switch {
	case !w.active[o.Framework]:
		w.t.Fatalf("offer to inactive framework %s", o.Framework)
	case !slices.Contains(normalizeRoles(opts.Roles), o.Role):
		w.t.Fatalf("offer to %s in role %s, not one of its roles %v", o.Framework, o.Role, opts.Roles)
	case slices.Contains(opts.SuppressedRoles, o.Role):
		w.t.Fatalf("offer to %s in suppressed role %s", o.Framework, o.Role)
	case o.Resources.Empty():
		w.t.Fatalf("empty offer to %s", o.Framework)
	}
	free := w.total[o.Agent]
	for k, r := range w.held {
		if k[1] == o.Agent {
			free = free.Minus(r)
		}
	}
	offered := o.Resources.Unallocated()
	if !free.Contains(offered) {
		w.t.Fatalf("offer to %s of %s holds %s; only %s is free", o.Framework, o.Agent, offered, free)
	}
	for _, r := range offered {
		if got := r.ReservationRole(); got != "*" && got != o.Role && !strings.HasPrefix(o.Role, got+"/") {
			w.t.Fatalf("offer to %s in role %s holds %s, reserved for %s", o.Framework, o.Role, r, got)
		}
		if r.AllocationInfo != nil {
			w.t.Fatalf("unallocated form still allocated: %s", r)
		}
	}
}

// checkAccounts compares the allocator's per-role allocations with the
// model.
func (w *world) checkAccounts() {
	w.t.Helper()
	want := map[string]float64{}
	for k, r := range w.held {
		want[k[2]] += r.ScalarValue("cpus")
	}
	n := w.a.names["cpus"]
	for name, r := range w.a.roles {
		got := float64(at(r.alloc, n)) / 1000
		if d := got - want[name]; d > 1e-9 || d < -1e-9 {
			w.t.Fatalf("role %s: allocator counts %v cpus allocated, model %v", name, got, want[name])
		}
	}
}

func TestRandomOperations(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := newWorld(t, seed)
			for i := range 2000 {
				w.step()
				w.checkAccounts()
				if err := w.a.audit(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w1, w2 := newWorld(t, seed), newWorld(t, seed)
			for range 1000 {
				w1.step()
				w2.step()
			}
			if !reflect.DeepEqual(w1.log, w2.log) {
				t.Fatal("the same calls gave different offers")
			}
			offers := 0
			for _, l := range w1.log {
				offers += strings.Count(l, "\n") + 1
			}
			if offers < 50 {
				t.Errorf("only %d offers in 1000 random operations; the test exercises too little", offers)
			}
		})
	}
}
