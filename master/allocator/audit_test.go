package allocator

import (
	"fmt"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// audit recomputes every aggregate the allocator keeps incrementally from
// its agents' slots and holdings and reports the first that differs.
func (a *Allocator) audit() error {
	total := make([]int64, len(a.names))
	avail := make([]int64, len(a.names))
	roleAlloc := map[*role][]int64{}
	cons := map[*role][]int64{}
	memberAlloc := map[*membership][]int64{}
	for _, ag := range a.agents {
		if err := auditAgent(ag); err != nil {
			return err
		}
		for i := range ag.slots {
			s := &ag.slots[i]
			if !s.fair() {
				continue
			}
			total[s.name] += s.total
			switch {
			case s.reserved != nil:
				for r := s.reserved; r != nil; r = r.parent {
					addAt2(cons, r, s.name, s.total)
				}
			case ag.active:
				avail[s.name] += s.free()
			}
			for _, h := range ag.holdings {
				if i < len(h.amounts) {
					x := h.amounts[i].millis
					addAt2(roleAlloc, h.m.role, s.name, x)
					addAt3(memberAlloc, h.m, s.name, x)
					for r := h.m.role; r != nil && s.reserved == nil; r = r.parent {
						addAt2(cons, r, s.name, x)
					}
				}
			}
		}
	}
	for n := range len(a.names) {
		if total[n] != a.total[n] || avail[n] != a.avail[n] {
			return fmt.Errorf("name %d: total %d (want %d), avail %d (want %d)", n, a.total[n], total[n], a.avail[n], avail[n])
		}
	}
	for _, r := range a.roleList {
		for n := range int32(len(a.names)) {
			if at(r.alloc, n) != at(roleAlloc[r], n) || at(r.cons, n) != at(cons[r], n) {
				return fmt.Errorf("role %s, name %d: alloc %d (want %d), cons %d (want %d)",
					r.name, n, at(r.alloc, n), at(roleAlloc[r], n), at(r.cons, n), at(cons[r], n))
			}
		}
		if err := a.auditRole(r, memberAlloc); err != nil {
			return err
		}
	}
	return a.auditTrees()
}

func addAt2(m map[*role][]int64, r *role, n int32, d int64) {
	v := m[r]
	addAt(&v, n, d)
	m[r] = v
}

func addAt3(m map[*membership][]int64, k *membership, n int32, d int64) {
	v := m[k]
	addAt(&v, n, d)
	m[k] = v
}

// auditAgent checks that each slot's use is what its holdings hold.
func auditAgent(ag *agent) error {
	for i := range ag.slots {
		s := &ag.slots[i]
		var used int64
		var held []api.Range
		for _, h := range ag.holdings {
			if i < len(h.amounts) {
				used += h.amounts[i].millis
				held = rangesUnion(held, h.amounts[i].ranges)
			}
		}
		if s.vk == scalarKind && used != s.used {
			return fmt.Errorf("agent %s slot %s: used %d, holdings hold %d", ag.id, s.res.Name, s.used, used)
		}
		if s.vk == rangesKind && !slices.Equal(s.freeR, rangesMinus(s.ext.totalR, held)) {
			return fmt.Errorf("agent %s slot %s: free %v, total %v, held %v", ag.id, s.res.Name, s.freeR, s.ext.totalR, held)
		}
	}
	for i, h := range ag.holdings {
		if h.ag != ag || h.aPos != i || h.m.holdings[h.mPos] != h {
			return fmt.Errorf("agent %s: holding %d is mislinked", ag.id, i)
		}
	}
	return nil
}

// auditRole checks a role's members and their sorter.
func (a *Allocator) auditRole(r *role, memberAlloc map[*membership][]int64) error {
	inTree, overrides := 0, 0
	for _, m := range r.members {
		for n := range int32(len(a.names)) {
			if at(m.alloc, n) != at(memberAlloc[m], n) {
				return fmt.Errorf("framework %s in %s: alloc %d, want %d", m.fw.id, r.name, at(m.alloc, n), at(memberAlloc[m], n))
			}
		}
		if m.inTree != m.eligible() {
			return fmt.Errorf("framework %s in %s: sorted %v, eligible %v", m.fw.id, r.name, m.inTree, m.eligible())
		}
		if m.inTree {
			inTree++
			if m.min != nil {
				overrides++
			}
		}
		if !m.subscribed && len(m.holdings) == 0 {
			return fmt.Errorf("framework %s in %s: idle membership kept", m.fw.id, r.name)
		}
	}
	if inTree != r.fws.size || overrides != r.overrides {
		return fmt.Errorf("role %s: %d sorted members (tree %d), %d overrides (counted %d)", r.name, inTree, r.fws.size, overrides, r.overrides)
	}
	if r.inTree != (r.fws.size > 0) {
		return fmt.Errorf("role %s: in role sorter %v with %d sorted members", r.name, r.inTree, r.fws.size)
	}
	return checkOrder(&r.fws)
}

// auditTrees checks the role sorters' order and sizes.
func (a *Allocator) auditTrees() error {
	if err := checkOrder(&a.roleTree); err != nil {
		return err
	}
	return checkOrder(&a.quotaTree)
}

// checkOrder checks that a tree's keys strictly increase and its size is
// right.
func checkOrder[T any](t *tree[T]) error {
	nodes := t.appendAll(nil)
	if len(nodes) != t.size {
		return fmt.Errorf("tree holds %d nodes, size %d", len(nodes), t.size)
	}
	for i := 1; i < len(nodes); i++ {
		if !nodes[i-1].key.less(nodes[i].key) {
			return fmt.Errorf("tree out of order: %v before %v", nodes[i-1].key, nodes[i].key)
		}
	}
	return nil
}
