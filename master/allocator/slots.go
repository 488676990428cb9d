package allocator

import "github.com/mezzo-cluster/mezzo/api"

// slot is one kind of resource on an agent, with its total and what is
// allocated of it. Agents keep their slots in a fixed order, so vectors of
// amounts index them directly: the hot path never compares resources.
type slot struct {
	*kind
	total, used int64 // scalars, in thousandths; used may exceed total
	freeR       []api.Range
	ext         *slotExt // ranges and sets only
}

// slotExt holds what only range and set slots need, out of the way of the
// scalars the hot path reads.
type slotExt struct {
	totalR        []api.Range
	totalI, freeI []string
}

// free returns the free thousandths of a scalar slot.
func (s *slot) free() int64 { return max(0, s.total-s.used) }

// hasFree reports whether anything of s is free.
func (s *slot) hasFree() bool {
	switch s.vk {
	case scalarKind:
		return s.total > s.used
	case rangesKind:
		return len(s.freeR) > 0
	}
	return len(s.ext.freeI) > 0
}

// amountsOf converts rs to amounts indexed by ag's slots, in scratch space
// valid until the next call. Resources of a kind ag lacks get a new slot
// (with a zero total) when create is set and are dropped otherwise.
// AllocationInfo is ignored.
func (a *Allocator) amountsOf(ag *agent, rs api.Resources, create bool) []amount {
	v := a.pass.conv[:0]
	for range ag.slots {
		v = append(v, amount{})
	}
	for i := range rs {
		r := &rs[i]
		x, vk, ok := valueOf(r)
		if !ok {
			continue
		}
		j := ag.slotFor(r)
		if j < 0 && create {
			j = a.addSlot(ag, r, vk)
			v = append(v, amount{})
		}
		if j >= 0 && ag.slots[j].vk == vk {
			addTo(&v[j], &x, vk)
		}
	}
	a.pass.conv = v
	return v
}

// slotFor returns the index of ag's slot of r's kind, or -1.
func (ag *agent) slotFor(r *api.Resource) int {
	if plain(r) {
		for i := range ag.slots {
			if s := &ag.slots[i]; s.key == "" && s.res.Name == r.Name && s.res.Type == r.Type {
				return i
			}
		}
		return -1
	}
	key := kindKey(r)
	for i := range ag.slots {
		if ag.slots[i].key == key {
			return i
		}
	}
	return -1
}

// addSlot appends an empty slot of r's kind to ag and returns its index.
func (a *Allocator) addSlot(ag *agent, r *api.Resource, vk valueKind) int {
	s := slot{kind: a.kindOf(r, vk)}
	if vk != scalarKind {
		s.ext = &slotExt{}
	}
	ag.slots = append(ag.slots, s)
	return len(ag.slots) - 1
}

// heldRanges returns the union of what the holdings on ag hold of slot i.
func (a *Allocator) heldRanges(ag *agent, i int) []api.Range {
	var out []api.Range
	for _, h := range ag.holdings {
		if i < len(h.amounts) {
			out = rangesUnion(out, h.amounts[i].ranges)
		}
	}
	return out
}

// heldItems returns the union of what the holdings on ag hold of slot i.
func (a *Allocator) heldItems(ag *agent, i int) []string {
	var out []string
	for _, h := range ag.holdings {
		if i < len(h.amounts) {
			out = itemsUnion(out, h.amounts[i].items)
		}
	}
	return out
}
