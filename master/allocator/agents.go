package allocator

import "github.com/mezzo-cluster/mezzo/api"

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
	pend     []int32 // this pass's offers on the agent, as indices into passState.pending
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
// zeroing kinds that are gone. Invalid resources are dropped, as package
// api does.
func (a *Allocator) setTotal(ag *agent, total api.Resources) {
	want := a.amountsOf(ag, api.NewResources(total...), true)
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
			if s.reserved != nil {
				a.consAdd(s.reserved, s.name, s.total-old)
			}
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

// freeChanged accounts for d more free thousandths in slot s of ag: free
// unreserved fair resources of active agents are the available headroom.
func (a *Allocator) freeChanged(ag *agent, s *slot, d int64) {
	if ag.active && s.reserved == nil && s.fair() {
		a.avail[s.name] += d
	}
}
