package allocator

import (
	"slices"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

// quota is a role's quota: scalar guarantees and limits, in thousandths.
// A role's consumption (role.cons) is, as in Mesos, the reservations of
// the role and its sub-roles, allocated or not, plus the unreserved
// resources allocated to them; revocable resources do not count. So an
// offer of reserved resources never changes a consumption, and limits only
// ever cut unreserved resources.
type quota struct {
	guarantees needs
	limits     needs
}

// needs is a list of quantities with at most one per name.
type needs []need

// SetQuota sets a role's quota; only scalar resources count, and empty
// guarantees and limits remove it. Limits: the role's consumption (its and
// its sub-roles' reservations plus their unreserved allocations) is never
// taken beyond a limit by an offer; a limit below the current consumption
// stops further unreserved offers but takes nothing back. Guarantees
// (capped at the limits) are served first, in a stage before fair sharing,
// and while they are unmet the unreserved resources they need are held
// back from other roles (Mesos's required headroom), even when the role
// has no framework asking.
func (a *Allocator) SetQuota(roleName string, guarantees, limits api.Resources) {
	r := a.role(roleName)
	r.quota = quota{limits: a.scalarNeeds(limits)}
	for _, g := range a.scalarNeeds(guarantees) {
		if lim, ok := r.quota.limit(g.name); ok {
			g.millis = min(g.millis, lim)
		}
		if g.millis > 0 {
			r.quota.guarantees = append(r.quota.guarantees, g)
		}
	}
	a.guaranteed = slices.DeleteFunc(a.guaranteed, func(x *role) bool { return x == r })
	if len(r.quota.guarantees) > 0 {
		i, _ := slices.BinarySearchFunc(a.guaranteed, r.name, func(x *role, name string) int {
			return strings.Compare(x.name, name)
		})
		a.guaranteed = slices.Insert(a.guaranteed, i, r)
	}
	a.requiredOK = false
	a.placeRole(r)
}

// scalarNeeds converts the scalar resources of rs to needs by name.
func (a *Allocator) scalarNeeds(rs api.Resources) []need {
	var out []need
	for i := range rs {
		if x, vk, ok := valueOf(&rs[i]); ok && vk == scalarKind {
			out = addNeed(out, a.nameIndex(rs[i].Name), x.millis)
		}
	}
	return out
}

// limit returns q's limit on name n.
func (q *quota) limit(n int32) (int64, bool) {
	for _, l := range q.limits {
		if l.name == n {
			return l.millis, true
		}
	}
	return 0, false
}

// limited reports whether r or an ancestor has quota limits.
func (r *role) limited() bool {
	for x := r; x != nil; x = x.parent {
		if len(x.quota.limits) > 0 {
			return true
		}
	}
	return false
}

// limitRoom returns how much more of name n r may consume under the
// limits of r and its ancestors; ok is false when none limits n.
func (r *role) limitRoom(n int32) (room int64, ok bool) {
	room = maxMillis
	for x := r; x != nil; x = x.parent {
		if lim, has := x.quota.limit(n); has {
			room, ok = min(room, max(0, lim-at(x.cons, n))), true
		}
	}
	return room, ok
}

// unmet returns how much of its guarantee on name n r has not consumed.
func (r *role) unmet(n int32) int64 {
	for _, g := range r.quota.guarantees {
		if g.name == n {
			return max(0, g.millis-at(r.cons, n))
		}
	}
	return 0
}

// hungry reports whether r has an unmet guarantee.
func (r *role) hungry() bool {
	for _, g := range r.quota.guarantees {
		if at(r.cons, g.name) < g.millis {
			return true
		}
	}
	return false
}

// requiredHeadroom returns, by name, the sum of the unmet guarantees of
// every role: what stage 2 must leave unallocated.
func (a *Allocator) requiredHeadroom() []int64 {
	if a.requiredOK {
		return a.required
	}
	clear(a.required)
	for _, r := range a.guaranteed {
		for _, g := range r.quota.guarantees {
			a.required[g.name] += r.unmet(g.name)
		}
	}
	a.requiredOK = true
	return a.required
}

// surplus returns how much of name n may be allocated beyond the required
// headroom.
func (a *Allocator) surplus(n int32) int64 {
	return max(0, a.avail[n]-a.requiredHeadroom()[n])
}
