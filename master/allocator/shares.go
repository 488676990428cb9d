package allocator

// fairName is a resource name that counts in DRF shares, with the inverse
// of its cluster total.
type fairName struct {
	n   int32
	inv float64
}

// refreshFair recomputes the names that count in shares after cluster
// totals changed; every sorter key is then stale.
func (a *Allocator) refreshFair() {
	if a.fairOK {
		return
	}
	a.fair = a.fair[:0]
	for n, t := range a.total {
		if t > 0 && !a.excluded[n] {
			a.fair = append(a.fair, fairName{n: int32(n), inv: 1 / float64(t)})
		}
	}
	a.fairOK, a.keysOK = true, false
}

// dominant returns the dominant share of an allocation: the largest
// fraction of a cluster total it holds, over the fair names (Mesos's
// DRFSorter::calculateShare without the weight).
func (a *Allocator) dominant(alloc []int64) float64 {
	var s float64
	for _, f := range a.fair {
		if int(f.n) < len(alloc) {
			s = max(s, float64(alloc[f.n])*f.inv)
		}
	}
	return s
}

// roleShare returns r's weighted dominant share, its sort key.
func (a *Allocator) roleShare(r *role) float64 { return a.dominant(r.alloc) / r.weight }

// Share returns a framework's dominant share over all its roles, the
// largest fraction of any cluster total (among the resources not excluded
// from fairness) allocated to it; 0 for an unknown framework.
func (a *Allocator) Share(frameworkID string) float64 {
	f := a.frameworks[frameworkID]
	if f == nil {
		return 0
	}
	a.refreshFair()
	return a.dominant(f.alloc)
}

// RoleShare returns a role's dominant share divided by its weight, the key
// roles are sorted by; 0 for a role the allocator does not know.
func (a *Allocator) RoleShare(role string) float64 {
	r := a.roles[role]
	if r == nil {
		return 0
	}
	a.refreshFair()
	return a.roleShare(r)
}

// memberChanged records that m's allocation changed: during a pass m and
// its role move in their sorters at once; between passes they are marked
// and move when the next pass begins.
func (a *Allocator) memberChanged(m *membership) {
	if a.pass.running {
		if m.inTree {
			m.role.fws.rekey(&m.node, a.dominant(m.alloc))
		}
		a.rekeyRole(m.role)
		return
	}
	if !m.dirty {
		m.dirty = true
		a.dirtyMembers = append(a.dirtyMembers, m)
	}
	a.roleChanged(m.role)
}

// roleChanged records that r's share or weight changed.
func (a *Allocator) roleChanged(r *role) {
	if a.pass.running {
		a.rekeyRole(r)
		return
	}
	if !r.dirty {
		r.dirty = true
		a.dirtyRoles = append(a.dirtyRoles, r)
	}
}

// rekeyRole moves r in the role sorters to its current share.
func (a *Allocator) rekeyRole(r *role) {
	share := a.roleShare(r)
	if r.inTree {
		a.roleTree.rekey(&r.node, share)
	} else {
		r.node.key.share = share
	}
	if r.inQuota {
		a.quotaTree.rekey(&r.qnode, share)
	} else {
		r.qnode.key.share = share
	}
}

// settleKeys brings every sorter key up to date before a pass: all of them
// when cluster totals changed, else those marked since the last pass.
func (a *Allocator) settleKeys() {
	a.refreshFair()
	if !a.keysOK {
		a.rebuildSorters()
	}
	for _, m := range a.dirtyMembers {
		if m.dirty && m.inTree {
			m.role.fws.rekey(&m.node, a.dominant(m.alloc))
		}
		m.dirty = false
	}
	for _, r := range a.dirtyRoles {
		if r.dirty {
			a.rekeyRole(r)
		}
		r.dirty = false
	}
	a.dirtyMembers, a.dirtyRoles = a.dirtyMembers[:0], a.dirtyRoles[:0]
}

// rebuildSorters recomputes every key and rebuilds every sorter.
func (a *Allocator) rebuildSorters() {
	var members []*node[*membership]
	for _, r := range a.roleList {
		members = r.fws.appendAll(members[:0])
		r.fws = tree[*membership]{}
		for _, n := range members {
			n.key.share = a.dominant(n.val.alloc)
			r.fws.insert(n)
		}
	}
	a.roleTree, a.quotaTree = tree[*role]{}, tree[*role]{}
	for _, r := range a.roleList {
		share := a.roleShare(r)
		r.node.key.share, r.qnode.key.share = share, share
		if r.inTree {
			a.roleTree.insert(&r.node)
		}
		if r.inQuota {
			a.quotaTree.insert(&r.qnode)
		}
	}
	a.keysOK = true
}
