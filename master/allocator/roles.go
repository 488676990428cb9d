package allocator

import (
	"math"
	"strings"
)

// role is what the allocator knows of a role: its weight, quota and
// allocations, and the sorter of its frameworks. Roles are created on first
// mention (a framework, a reservation, a weight or a quota) and kept.
type role struct {
	name   string
	parent *role // nil for a top-level role
	weight float64

	alloc []int64 // by name: allocated to this role (its DRF share)
	cons  []int64 // by name: quota consumption of the role and its sub-roles; see quota
	quota quota

	members []*membership // every framework that subscribes or holds resources
	fws     tree[*membership]
	node    node[*role] // in Allocator.roleTree while fws is not empty
	qnode   node[*role] // in Allocator.quotaTree while fws is not empty and guaranteed
	inTree  bool
	inQuota bool
	dirty   bool
	visit   uint64 // pass stamp: visited on the current agent

	overrides int // members in fws with their own minimum allocatable
	why       roleWhy
}

// role returns the record of name, creating it and its ancestors.
func (a *Allocator) role(name string) *role {
	if r := a.roles[name]; r != nil {
		return r
	}
	r := &role{name: name, weight: 1}
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		r.parent = a.role(name[:i])
	}
	r.node.init(r, name)
	r.qnode.init(r, name)
	a.roles[name] = r
	a.roleList = append(a.roleList, r)
	return r
}

// mayUse reports whether r may be offered resources reserved for res: res
// is r or one of its ancestors.
func (r *role) mayUse(res *role) bool {
	for x := r; x != nil; x = x.parent {
		if x == res {
			return true
		}
	}
	return false
}

// SetWeight sets a role's weight (default 1): a role of weight 2 is offered
// until its dominant share is twice that of a role of weight 1. A weight
// that is not a positive number resets it to 1.
func (a *Allocator) SetWeight(role string, w float64) {
	if !(w > 0) || math.IsInf(w, 1) {
		w = 1
	}
	r := a.role(role)
	if r.weight != w {
		r.weight = w
		a.roleChanged(r)
	}
}

// consAdd adds d thousandths of name n to the quota consumption of r and
// its ancestors.
func (a *Allocator) consAdd(r *role, n int32, d int64) {
	for ; r != nil; r = r.parent {
		addAt(&r.cons, n, d)
		if len(r.quota.guarantees) > 0 {
			a.requiredOK = false
		}
	}
}

// placeRole puts r in or takes it out of the role sorters: a role is
// sorted while it has a framework that may be offered resources.
func (a *Allocator) placeRole(r *role) {
	want := r.fws.size > 0
	if want != r.inTree {
		if want {
			r.node.key.share = a.roleShare(r)
			a.roleTree.insert(&r.node)
		} else {
			a.roleTree.remove(&r.node)
		}
		r.inTree = want
	}
	wantQ := want && len(r.quota.guarantees) > 0
	if wantQ != r.inQuota {
		if wantQ {
			r.qnode.key.share = a.roleShare(r)
			a.quotaTree.insert(&r.qnode)
		} else {
			a.quotaTree.remove(&r.qnode)
		}
		r.inQuota = wantQ
	}
}
