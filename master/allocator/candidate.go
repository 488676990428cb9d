package allocator

// fill computes in pass.cand what role r may be offered of agent ag in
// stage st, and reports whether that is worth looking at (not empty, not
// only non-scalar leftovers of a role held back by quota).
//
// Stage 2 (fairShare): the free resources r may use — unreserved, or
// reserved for r or an ancestor — with unreserved scalars cut to the room
// under r's quota limits and to what exceeds the headroom other roles'
// guarantees require.
//
// Stage 1 (guarantees), as Mesos: r's own free reservations and the free
// unreserved non-revocable resources, scalars cut to r's unmet guarantee
// plus whatever exceeds the headroom guarantees require (and to the
// limits); only if r gets something towards its guarantee. Bursting above
// the guarantee in this stage keeps the offer in one piece.
func (a *Allocator) fill(ag *agent, r *role, st stage) bool {
	p := &a.pass
	p.budgetGen++
	capped := r.limited() || a.headroomHeld() || st == guarantees
	v := p.cand[:0]
	var any, scalar, cut, progress, elsewhere, limitCut bool
	for i := range ag.slots {
		s := &ag.slots[i]
		var x amount
		has := s.hasFree()
		offerable := has && a.offerable(s, r, st)
		elsewhere = elsewhere || (has && !offerable && s.reserved != nil)
		if offerable {
			x = freeOf(s)
			if capped && s.reserved == nil && s.fair() {
				free := x.millis
				x.millis = a.takeBudget(r, s, free, st)
				if x.millis < free {
					cut = true
					room, limited := r.limitRoom(s.name)
					limitCut = limitCut || (limited && room < free)
				}
				progress = progress || (x.millis > 0 && r.unmet(s.name) > 0)
			}
		}
		any = any || !x.zero()
		scalar = scalar || (s.vk == scalarKind && x.millis > 0)
		v = append(v, x)
	}
	p.cand = v
	p.limitCut = limitCut
	switch {
	case !any || (cut && !scalar):
		if st == fairShare {
			a.noteCut(r, cut, elsewhere)
		}
		return false
	case st == guarantees && !progress:
		return false
	}
	return true
}

// offerable reports whether slot s may be offered to r in stage st:
// unreserved, or reserved for r or (in stage 2) an ancestor; not revocable
// in stage 1.
func (a *Allocator) offerable(s *slot, r *role, st stage) bool {
	if st == guarantees {
		return !s.revocable && (s.reserved == nil || s.reserved == r)
	}
	return s.reserved == nil || r.mayUse(s.reserved)
}

// freeOf returns what is free of s.
func freeOf(s *slot) amount {
	switch s.vk {
	case scalarKind:
		return amount{millis: s.free()}
	case rangesKind:
		return amount{ranges: s.freeR}
	}
	return amount{items: s.ext.freeI}
}

// headroomHeld reports whether any guarantee is unmet, so that stage 2
// must hold resources back.
func (a *Allocator) headroomHeld() bool {
	if len(a.guaranteed) == 0 {
		return false
	}
	for _, x := range a.requiredHeadroom() {
		if x > 0 {
			return true
		}
	}
	return false
}

// takeBudget returns how much of free, the free thousandths of unreserved
// fair slot s, r may take in stage st, and charges it to the budget of s's
// name for the current candidate. Indivisible slots are taken whole or not
// at all.
func (a *Allocator) takeBudget(r *role, s *slot, free int64, st stage) int64 {
	p := &a.pass
	n := s.name
	if p.budgetStamp[n] != p.budgetGen {
		p.budgetStamp[n], p.budget[n] = p.budgetGen, a.budgetFor(r, n, st)
	}
	x := min(free, p.budget[n])
	if s.whole && x < free {
		x = 0
	}
	p.budget[n] -= x
	return x
}

// budgetFor returns how much of name n r may take from unreserved
// resources on one agent in stage st.
func (a *Allocator) budgetFor(r *role, n int32, st stage) int64 {
	b := maxMillis
	if room, ok := r.limitRoom(n); ok {
		b = room
	}
	switch {
	case st == guarantees:
		b = min(b, r.unmet(n)+a.surplus(n))
	case a.requiredHeadroom()[n] > 0:
		b = min(b, a.surplus(n))
	}
	return b
}

// noteCut counts, for Why, a candidate of r rejected as empty; elsewhere
// says the agent had free resources reserved for other roles.
func (a *Allocator) noteCut(r *role, cut, elsewhere bool) {
	n := a.pass.epoch
	switch {
	case !cut && elsewhere:
		r.why.reserved.add(n)
	case !cut:
		r.why.noFree.add(n)
	case r.atLimit():
		r.why.limit.add(n)
	default:
		r.why.headroom.add(n)
	}
}

// atLimit reports whether r or an ancestor has no room left under a limit.
func (r *role) atLimit() bool {
	for x := r; x != nil; x = x.parent {
		for _, l := range x.quota.limits {
			if at(x.cons, l.name) >= l.millis {
				return true
			}
		}
	}
	return false
}
