package allocator

import (
	"fmt"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

// agent is an agent's resources as the allocator sees them.
type agent struct {
	active   bool
	slots    []slot
	inline   [5]slot // slots' storage for most agents, in the same object
	id       string
	idx      int // position in Allocator.agents
	attrs    []api.Attribute
	holdings []*holding
	inlineH  [2]*holding // holdings' storage for most agents
	filters  []*filter

	gpu       bool // has a gpus scalar
	revocable bool // has revocable slots

	visit    uint64  // pass stamp, to ignore duplicates in AllocateAgents
	pendPass uint64  // pass that pend belongs to
	pend     []int32 // this pass's offers on the agent, as indices into passState.offers
}

// hasFree reports whether anything on ag is free.
func (ag *agent) hasFree() bool {
	for i := range ag.slots {
		if ag.slots[i].hasFree() {
			return true
		}
	}
	return false
}

// AddAgent adds an active agent with the given total resources and
// attributes. Resources reserved for a role (static or dynamic
// reservations) are offered only to that role and its sub-roles. Adding a
// known agent replaces its attributes and updates its total, as
// UpdateAgent.
func (a *Allocator) AddAgent(id string, total api.Resources, attributes []api.Attribute) {
	if ag := a.agentID[id]; ag != nil {
		ag.attrs = attributes
		a.UpdateAgent(id, total)
		return
	}
	ag := &agent{id: id, idx: len(a.agents), active: true, attrs: attributes}
	ag.slots, ag.holdings = ag.inline[:0], ag.inlineH[:0]
	a.agents = append(a.agents, ag)
	a.agentID[id] = ag
	a.setTotal(ag, total)
}

// UpdateAgent replaces an agent's total resources, for example after a
// dynamic reservation or an agent restart with new resources. Allocations
// are kept; where they now exceed the total, nothing of that kind is free
// until enough is recovered. Filters stay. Unknown agents are ignored.
func (a *Allocator) UpdateAgent(id string, total api.Resources) {
	if ag := a.agentID[id]; ag != nil {
		a.setTotal(ag, total)
	}
}

// RemoveAgent forgets an agent: its allocations vanish (the master rescinds
// its offers and its tasks are gone) and so do filters on it.
func (a *Allocator) RemoveAgent(id string) {
	ag := a.agentID[id]
	if ag == nil {
		return
	}
	for len(ag.holdings) > 0 {
		a.dropHolding(ag.holdings[len(ag.holdings)-1])
	}
	for len(ag.filters) > 0 {
		a.removeFilter(ag.filters[len(ag.filters)-1])
	}
	a.setActive(ag, false)
	for i := range ag.slots {
		a.setSlotTotal(ag, i, &amount{})
	}
	last := a.agents[len(a.agents)-1]
	a.agents[ag.idx], last.idx = last, ag.idx
	a.agents = a.agents[:len(a.agents)-1]
	delete(a.agentID, id)
}

// DeactivateAgent stops offers of an agent's resources, for a draining or
// disconnected agent. Its allocations stay.
func (a *Allocator) DeactivateAgent(id string) {
	if ag := a.agentID[id]; ag != nil {
		a.setActive(ag, false)
	}
}

// ActivateAgent resumes offers of an agent's resources.
func (a *Allocator) ActivateAgent(id string) {
	if ag := a.agentID[id]; ag != nil {
		a.setActive(ag, true)
	}
}

// setActive switches ag on or off, moving its free unreserved resources in
// or out of the available headroom.
func (a *Allocator) setActive(ag *agent, on bool) {
	if ag.active == on {
		return
	}
	ag.active = on
	sign := int64(1)
	if !on {
		sign = -1
	}
	for i := range ag.slots {
		if s := &ag.slots[i]; s.fair() && s.reserved == nil {
			a.avail[s.name] += sign * s.free()
		}
	}
}

// setTotal makes total the total of ag, adding slots for new kinds and
// zeroing kinds that are gone.
func (a *Allocator) setTotal(ag *agent, total api.Resources) {
	want := a.amountsOf(ag, total, true)
	for i := range ag.slots {
		a.setSlotTotal(ag, i, &want[i])
	}
	ag.gpu, ag.revocable = false, false
	for i := range ag.slots {
		s := &ag.slots[i]
		ag.gpu = ag.gpu || (s.res.Name == "gpus" && s.total > 0)
		ag.revocable = ag.revocable || s.revocable
	}
}

// setSlotTotal sets the total of slot i of ag to x.
func (a *Allocator) setSlotTotal(ag *agent, i int, x *amount) {
	s := &ag.slots[i]
	switch s.vk {
	case scalarKind:
		f0, old := s.free(), s.total
		s.total = x.millis
		if s.fair() && s.total != old {
			a.total[s.name] += s.total - old
			a.fairOK = false
		}
		a.freeChanged(ag, s, s.free()-f0)
	case rangesKind:
		s.ext.totalR = a.internRanges(x.ranges)
		s.freeR = rangesMinus(s.ext.totalR, a.heldRanges(ag, i))
	case setKind:
		s.ext.totalI = x.items
		s.ext.freeI = itemsMinus(s.ext.totalI, a.heldItems(ag, i))
	}
}

// freeChanged accounts for d more free thousandths in the fair slot s of
// ag: unreserved ones are available headroom while ag is active, reserved
// ones count toward their role's quota consumption.
func (a *Allocator) freeChanged(ag *agent, s *slot, d int64) {
	switch {
	case d == 0 || !s.fair():
	case s.reserved != nil:
		a.consAdd(s.reserved, s.name, d)
	case ag.active:
		a.avail[s.name] += d
	}
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

// kindOf returns the interned kind of r.
func (a *Allocator) kindOf(r *api.Resource, vk valueKind) *kind {
	key := "\x00" + r.Name + "\x00" + string(r.Type)
	if !plain(r) {
		key = kindKey(r)
	}
	if k := a.kinds[key]; k != nil {
		return k
	}
	k := &kind{res: *r, name: a.nameIndex(r.Name), vk: vk, revocable: r.Revocable != nil}
	k.res.Scalar, k.res.Ranges, k.res.Set, k.res.AllocationInfo = nil, nil, nil, nil
	if !plain(r) {
		k.key = key
	}
	if role := r.ReservationRole(); role != "*" {
		k.reserved = a.role(role)
	}
	k.whole = r.Shared != nil || !divisible(r.Disk)
	a.kinds[key] = k
	return k
}

// divisible reports whether a disk may be offered in part: not a persistent
// volume, not a MOUNT or BLOCK disk, not a RAW disk with an identity.
func divisible(d *api.DiskInfo) bool {
	switch {
	case d == nil:
		return true
	case d.Persistence != nil:
		return false
	case d.Source == nil:
		return true
	case d.Source.Type == "MOUNT" || d.Source.Type == "BLOCK":
		return false
	}
	return d.Source.Type != "RAW" || d.Source.ID == ""
}

// internRanges returns a slice equal to rs shared with every agent that
// has the same ranges. Why: most agents offer the same ports, and a range
// list that every offer copies is then always in the cache; see
// rangesReturned.
func (a *Allocator) internRanges(rs []api.Range) []api.Range {
	if len(rs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%d-%d,", r.Begin, r.End)
	}
	key := b.String()
	if shared, ok := a.ranges[key]; ok {
		return shared
	}
	a.ranges[key] = rs
	return rs
}
