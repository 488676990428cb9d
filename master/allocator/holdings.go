package allocator

import (
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// holding is what one membership holds on one agent: offered or in use,
// the allocator does not tell them apart. Amounts are indexed by the
// agent's slots and may be shorter than them.
type holding struct {
	m       *membership
	ag      *agent
	mPos    int // in m.holdings
	aPos    int // in ag.holdings
	amounts []amount
	inline  [4]amount // amounts' storage for small agents, in the same object
}

// empty reports whether h holds nothing.
func (h *holding) empty() bool {
	for i := range h.amounts {
		if !h.amounts[i].zero() {
			return false
		}
	}
	return true
}

// holdingOf returns m's holding on ag, creating it if create is set.
func (a *Allocator) holdingOf(m *membership, ag *agent, create bool) *holding {
	for _, h := range ag.holdings {
		if h.m == m {
			return h
		}
	}
	if !create {
		return nil
	}
	var h *holding
	if n := len(a.spare); n > 0 {
		h, a.spare = a.spare[n-1], a.spare[:n-1]
	} else {
		h = &holding{}
		h.amounts = h.inline[:0]
	}
	h.m, h.ag = m, ag
	h.mPos, h.aPos = len(m.holdings), len(ag.holdings)
	m.holdings = append(m.holdings, h)
	ag.holdings = append(ag.holdings, h)
	return h
}

// take allocates v (indexed by ag's slots, each within what is free) on ag
// to m.
func (a *Allocator) take(m *membership, ag *agent, v []amount) {
	h := a.holdingOf(m, ag, true)
	for len(h.amounts) < len(ag.slots) {
		h.amounts = append(h.amounts, amount{})
	}
	for i := range v {
		x := &v[i]
		if x.zero() {
			continue
		}
		s, held := &ag.slots[i], &h.amounts[i]
		switch s.vk {
		case scalarKind:
			f0 := s.free()
			s.used = min(s.used+x.millis, maxMillis)
			held.millis = min(held.millis+x.millis, maxMillis)
			a.freeChanged(ag, s, s.free()-f0)
			a.allocChanged(m, s, x.millis)
		case rangesKind:
			s.freeR = rangesLeft(s.freeR, x.ranges)
			held.ranges = rangesUnion(held.ranges, x.ranges)
		case setKind:
			s.ext.freeI = itemsMinus(s.ext.freeI, x.items)
			held.items = itemsUnion(held.items, x.items)
		}
	}
	a.memberChanged(m)
}

// give returns to ag what of v h holds.
func (a *Allocator) give(h *holding, v []amount) {
	ag := h.ag
	for i := range min(len(v), len(h.amounts)) {
		x, held, s := &v[i], &h.amounts[i], &ag.slots[i]
		if x.zero() || held.zero() {
			continue
		}
		switch s.vk {
		case scalarKind:
			d := min(x.millis, held.millis)
			held.millis -= d
			f0 := s.free()
			s.used -= d
			a.freeChanged(ag, s, s.free()-f0)
			a.allocChanged(h.m, s, -d)
		case rangesKind:
			d := rangesIntersect(held.ranges, x.ranges)
			held.ranges = rangesMinus(held.ranges, d)
			s.freeR = rangesReturned(s.freeR, d, s.ext.totalR)
		case setKind:
			d := itemsIntersect(held.items, x.items)
			held.items = itemsMinus(held.items, d)
			s.ext.freeI = itemsIntersect(itemsUnion(s.ext.freeI, d), s.ext.totalI)
		}
	}
	a.memberChanged(h.m)
	if h.empty() {
		a.unlink(h)
	}
}

// dropHolding returns everything h holds to its agent.
func (a *Allocator) dropHolding(h *holding) {
	all := append(a.pass.drop[:0], h.amounts...)
	a.give(h, all)
	clear(all)
	a.pass.drop = all[:0]
}

// unlink removes the empty holding h from its agent and membership and
// recycles it.
func (a *Allocator) unlink(h *holding) {
	m, ag := h.m, h.ag
	last := m.holdings[len(m.holdings)-1]
	m.holdings[h.mPos], last.mPos = last, h.mPos
	m.holdings = m.holdings[:len(m.holdings)-1]
	last = ag.holdings[len(ag.holdings)-1]
	ag.holdings[h.aPos], last.aPos = last, h.aPos
	ag.holdings = ag.holdings[:len(ag.holdings)-1]
	clear(h.amounts)
	h.m, h.ag, h.amounts = nil, nil, h.amounts[:0]
	a.spare = append(a.spare, h)
	a.forgetIfIdle(m)
}

// allocChanged accounts for d more thousandths of slot s allocated to m:
// the shares of m, its role and framework, and, for unreserved resources,
// quota consumption (reservations count there whether allocated or not).
func (a *Allocator) allocChanged(m *membership, s *slot, d int64) {
	if !s.fair() {
		return
	}
	n := s.name
	addAt(&m.alloc, n, d)
	addAt(&m.role.alloc, n, d)
	addAt(&m.fw.alloc, n, d)
	if s.reserved == nil {
		a.consAdd(m.role, n, d)
	}
}

// Allocated records resources allocated to a framework in a role on an
// agent that the allocator did not offer, such as the tasks of a
// re-registering agent. Kinds the agent does not report are tracked with a
// zero total. A framework not yet added is created inactive, with no
// roles, so that its allocations count; AddFramework activates it. Unknown
// agents are ignored.
func (a *Allocator) Allocated(frameworkID, agentID, role string, r api.Resources) {
	ag := a.agentID[agentID]
	if ag == nil {
		return
	}
	f := a.frameworks[frameworkID]
	if f == nil {
		f = &framework{id: frameworkID}
		a.frameworks[frameworkID] = f
	}
	m := a.member(f, role)
	v := a.amountsOf(ag, r, true)
	a.take(m, ag, v)
	a.forgetIfIdle(m)
}

// Recover returns resources a framework held in a role on an agent: an
// offer declined, rescinded or left unused by ACCEPT, or a task that ended.
// What the framework does not hold is ignored. With refuse > 0 it also
// installs a refusal filter: until now+refuse (at most 365 days) the
// framework is not offered this agent's resources in this role while they
// are a subset of r. Applying Mesos's default for a missing or negative
// refuse_seconds is the master's job.
func (a *Allocator) Recover(frameworkID, agentID, role string, r api.Resources, refuse time.Duration, now time.Time) {
	ag, f := a.agentID[agentID], a.frameworks[frameworkID]
	if ag == nil || f == nil {
		return
	}
	m := a.member(f, role)
	v := a.amountsOf(ag, r, false)
	if refuse > 0 && m.subscribed {
		a.addFilter(m, ag, v, now.Add(min(refuse, capRefuse)))
	}
	if h := a.holdingOf(m, ag, false); h != nil {
		a.give(h, v)
	}
	a.forgetIfIdle(m)
}
