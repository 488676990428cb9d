package scheduler

import (
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// Fits reports whether a task needing res can be launched on offer; see
// Take for what may meet what.
func Fits(offer api.Offer, res api.Resources) bool {
	_, ok := Take(offer.Resources, res)
	return ok
}

// Take finds resources among offered (an offer's resources, or what is
// left of them) that meet need, and returns them in the form a TaskInfo
// must name them: need's names and amounts, with the reservation and
// allocation_info of the offered resources they come from, so that the
// master finds them in the offer whichever role they are reserved for.
//
// A plain unreserved resource in need (no disk info, not revocable, not
// shared) may be met by offered resources reserved for the offer's role,
// which are used first, and by unreserved ones, split across them if
// needed. Any other resource in need is met only by an offered resource
// of exactly its kind. ok is false when need does not fit; need's own
// allocation_info is ignored. The order of need's resources does not
// matter.
func Take(offered, need api.Resources) (taken api.Resources, ok bool) {
	if api.ValidateResources(need) != nil {
		return nil, false
	}
	pool := api.NewResources(offered...)
	for _, r := range strictFirst(need.Unallocated()) {
		got, ok := takeOne(pool, r)
		if !ok {
			return nil, false
		}
		taken = taken.Plus(got)
		pool = pool.Minus(got)
	}
	return taken, true
}

// strictFirst orders rs for Take: the resources only their own kind can
// meet come before the plain ones, which may be met by any reservation.
// Why: a plain cpus:1 met first would take cpus(web):1, the reservation
// used first, and leave nothing for a cpus(web):1 after it in the same
// need, though cpus:1 could have had the unreserved cpus instead.
func strictFirst(rs api.Resources) api.Resources {
	slices.SortStableFunc(rs, func(a, b api.Resource) int { return boolRank(plain(a)) - boolRank(plain(b)) })
	return rs
}

// takeOne takes one normalized, unallocated resource from pool.
func takeOne(pool api.Resources, r api.Resource) (api.Resources, bool) {
	one := api.Resources{r}
	if !plain(r) {
		for _, p := range pool {
			if (api.Resources{p}).Unallocated().Contains(one) {
				return one.Allocate(allocationRole(p)), true
			}
		}
		return nil, false
	}
	var got api.Resources
	rest := one
	for _, p := range candidates(pool, r) {
		want := reservedLike(rest, p)
		part := want.Minus(want.Minus(api.Resources{p}.Unallocated()))
		if part.Empty() {
			continue
		}
		got = got.Plus(part.Allocate(allocationRole(p)))
		if rest = rest.Minus(part.ToUnreserved()); rest.Empty() {
			return got, true
		}
	}
	return nil, false
}

// plain reports whether r may be met by resources of any reservation.
func plain(r api.Resource) bool {
	return r.ReservationRole() == "*" && r.Disk == nil && r.Revocable == nil && r.Shared == nil && r.ProviderID == nil
}

// candidates returns the resources of pool that may meet plain r, those
// reserved first.
func candidates(pool api.Resources, r api.Resource) []api.Resource {
	var out []api.Resource
	for _, p := range pool {
		if p.Name == r.Name && p.Type == r.Type && p.Disk == nil && p.Revocable == nil && p.Shared == nil && p.ProviderID == nil {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b api.Resource) int {
		return boolRank(a.ReservationRole() == "*") - boolRank(b.ReservationRole() == "*")
	})
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reservedLike returns rs with p's reservation and no allocation.
func reservedLike(rs api.Resources, p api.Resource) api.Resources {
	out := make(api.Resources, len(rs))
	for i, r := range rs {
		r.Role, r.Reservation, r.Reservations, r.AllocationInfo = p.Role, p.Reservation, p.Reservations, nil
		out[i] = r
	}
	return out
}

func allocationRole(r api.Resource) string {
	if r.AllocationInfo == nil {
		return ""
	}
	return r.AllocationInfo.Role
}

// Ports picks the n lowest ports of the offered "ports" ranges, of any
// reservation. ok is false when fewer than n are offered.
func Ports(offered api.Resources, n int) (ports []uint64, ok bool) {
	for _, r := range offered.Ranges("ports").Range { // sorted and coalesced
		for p := uint64(r.Begin); len(ports) < n; p++ {
			ports = append(ports, p)
			if p == uint64(r.End) {
				break
			}
		}
	}
	if len(ports) < n {
		return nil, false
	}
	return ports, true
}

// PortsResource returns an unreserved "ports" resource holding ports, for
// a task's resources.
func PortsResource(ports ...uint64) api.Resource {
	sorted := slices.Clone(ports)
	slices.Sort(sorted)
	var ranges []api.Range
	for _, p := range slices.Compact(sorted) {
		if n := len(ranges); n > 0 && uint64(ranges[n-1].End)+1 == p {
			ranges[n-1].End = api.Uint64(p)
			continue
		}
		ranges = append(ranges, api.Range{Begin: api.Uint64(p), End: api.Uint64(p)})
	}
	return api.RangesResource("ports", ranges...)
}
