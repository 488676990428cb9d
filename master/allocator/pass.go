package allocator

import (
	"slices"
	"time"
)

// passState is the scratch space and counters of allocation passes, kept
// between passes so that a pass allocates little.
type passState struct {
	running bool
	number  uint64 // passes run so far; the current one while running
	epoch   uint64 // full passes run so far: Why's counters are per epoch
	now     time.Time
	visit   uint64 // stamp of the current (agent, stage) visit
	visited int    // active agents with free resources seen this epoch
	// limitCut says the current candidate was cut to its role's quota
	// limits, for Why.
	limitCut bool

	order    []*agent
	shuffled []*agent // shuffle's copy of order
	perm     []int32  // shuffle's order of blocks
	cand     []amount // what the current role may be offered, by slot
	masked   []amount // cand without revocable slots
	conv     []amount // amountsOf's result
	drop     []amount // dropHolding's copy

	budget      []int64  // by name: what the current candidate may still take
	budgetStamp []uint64 // by name: budgetGen when budget was set
	budgetGen   uint64

	out     []Offer
	merging bool      // stage 1 runs: offers may grow in stage 2
	pending []pending // while merging
	arena   []amount  // amounts of pending offers
	build   builder
}

// pending is an offer of a pass that stage 2 may add to.
type pending struct {
	m     *membership
	out   int // index in passState.out
	start int // amounts in arena[start : start+len(ag.slots)]
}

// stage is one of the two stages of a pass.
type stage uint8

const (
	guarantees stage = iota + 1 // stage 1: roles with unmet quota guarantees
	fairShare                   // stage 2: every role, by weighted DRF
)

// Allocate runs a full allocation pass over every active agent at time
// now and returns the offers it decided, which count as allocated until
// recovered. Filters that expired by now are dropped first.
func (a *Allocator) Allocate(now time.Time) []Offer {
	a.pass.epoch++
	a.pass.visited = 0
	a.pass.order = append(a.pass.order[:0], a.agents...)
	return a.run(now, a.pass.order)
}

// AllocateAgents runs an allocation pass over the named agents only, for
// example the one whose task just ended; unknown and repeated IDs are
// ignored, and with none left it does nothing. Its cost depends on the
// agents named, not on the cluster.
func (a *Allocator) AllocateAgents(now time.Time, agentIDs ...string) []Offer {
	stamp := a.pass.number + 1
	order := a.pass.order[:0]
	for _, id := range agentIDs {
		if ag := a.agentID[id]; ag != nil && ag.visit != stamp {
			ag.visit = stamp
			order = append(order, ag)
		}
	}
	a.pass.order = order
	if len(order) == 0 {
		return nil
	}
	return a.run(now, order)
}

// run is one pass over agents: stage 1 serves unmet guarantees, stage 2
// shares the rest by weighted DRF.
func (a *Allocator) run(now time.Time, agents []*agent) []Offer {
	p := &a.pass
	p.number++
	p.now = now
	a.expireFilters(now)
	a.settleKeys()
	a.shuffle(agents)
	p.running = true
	p.merging = a.quotaTree.size > 0
	if p.merging {
		for _, ag := range agents {
			a.visitAgent(ag, &a.quotaTree, guarantees)
		}
	}
	for _, ag := range agents {
		a.visitAgent(ag, &a.roleTree, fairShare)
	}
	p.running = false
	return a.finish()
}

// finish returns the pass's offers and clears its scratch space. Why a
// copy: the scratch slice keeps its capacity for the next pass, so that a
// pass that offers little allocates little.
func (a *Allocator) finish() []Offer {
	p := &a.pass
	var out []Offer
	if len(p.out) > 0 {
		out = slices.Clone(p.out)
	}
	clear(p.out)
	clear(p.pending)
	clear(p.arena)
	p.out, p.pending, p.arena = p.out[:0], p.pending[:0], p.arena[:0]
	return out
}

// visitAgent offers ag's free resources to the roles of t in order, one
// offer per role at most, until nothing is free.
func (a *Allocator) visitAgent(ag *agent, t *tree[*role], st stage) {
	if !ag.active || !ag.hasFree() {
		return
	}
	p := &a.pass
	p.visit++
	if st == fairShare {
		p.visited++
	}
	for n := t.first(); n != nil; {
		r, k := n.val, n.key
		if r.visit != p.visit {
			r.visit = p.visit
			if st == fairShare || r.hungry() {
				if a.offerRole(ag, r, st) && !ag.hasFree() {
					return
				}
			}
		}
		// A role that was just offered moved further on; the stamp skips it
		// when the walk meets it again.
		n = t.after(k)
	}
}

// offerRole offers what r may have of ag to the first of r's frameworks
// that takes it and reports whether one did.
func (a *Allocator) offerRole(ag *agent, r *role, st stage) bool {
	p := &a.pass
	r.why.visited.add(p.epoch)
	if !a.fill(ag, r, st) {
		return false
	}
	roleMinOK := a.cfgMin.satisfiedBy(ag, p.cand)
	if !roleMinOK {
		r.why.belowMin.add(p.epoch)
		if r.overrides == 0 {
			return false
		}
	}
	for n := r.fws.first(); n != nil; n = r.fws.after(n.key) {
		if v := a.fitFor(n.val, ag, roleMinOK); v != nil {
			if p.limitCut {
				r.why.capped.add(p.epoch)
			}
			a.grant(n.val, ag, v)
			return true
		}
	}
	return false
}

// fitFor returns what of the candidate m may be offered on ag, or nil when
// m is not to be offered it: GPU filtering, revocable resources, m's
// minimum allocatable and its refusal filters.
func (a *Allocator) fitFor(m *membership, ag *agent, roleMinOK bool) []amount {
	p := &a.pass
	f := m.fw
	if ag.gpu && a.cfg.FilterGPUResources && !f.gpu {
		f.why.gpu.add(p.epoch)
		return nil
	}
	v, ok := p.cand, roleMinOK
	if ag.revocable && !f.revocable {
		v = a.maskRevocable(ag)
		ok = !allZero(v) && a.cfgMin.satisfiedBy(ag, v)
	}
	if m.min != nil {
		ok = !allZero(v) && m.min.satisfiedBy(ag, v)
		if !ok {
			m.why.belowMin.add(p.epoch)
		}
	}
	if !ok {
		return nil
	}
	if a.filtered(m, ag, v, p.now) {
		m.why.filtered.add(p.epoch)
		return nil
	}
	return v
}

// maskRevocable returns the candidate without revocable slots.
func (a *Allocator) maskRevocable(ag *agent) []amount {
	p := &a.pass
	p.masked = append(p.masked[:0], p.cand...)
	for i := range ag.slots {
		if ag.slots[i].revocable {
			p.masked[i] = amount{}
		}
	}
	return p.masked
}

// allZero reports whether v holds nothing.
func allZero(v []amount) bool {
	for i := range v {
		if !v[i].zero() {
			return false
		}
	}
	return true
}
