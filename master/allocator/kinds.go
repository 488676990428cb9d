package allocator

import (
	"fmt"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

// kind is one kind of resource (Mesos's "same kind": name, type,
// reservations, disk, provider, revocable and shared markers), interned:
// every agent's slot of that kind points to the same kind.
type kind struct {
	res       api.Resource // the kind without a value or allocation
	key       string       // kindKey of res; "" for plain unreserved
	name      int32        // index in the allocator's name table
	vk        valueKind
	reserved  *role // nil when unreserved
	revocable bool
	whole     bool // indivisible or shared: offered whole or not at all
}

// fair reports whether the kind counts in shares, totals and quota: a
// scalar that is not revocable.
func (k *kind) fair() bool { return k.vk == scalarKind && !k.revocable }

// plain reports whether r is an unreserved resource with no disk, provider,
// revocable or shared marker: the common case, matched by name and type.
func plain(r *api.Resource) bool {
	return len(r.Reservations) == 0 && r.Reservation == nil && (r.Role == "" || r.Role == "*") &&
		r.Disk == nil && r.ProviderID == nil && r.Revocable == nil && r.Shared == nil
}

// kindKey identifies r's kind in text: its flag-syntax form without value
// or allocation (which covers reservations, disk source and persistence,
// revocable and shared), plus its provider. The disk's volume does not
// count, as in Mesos.
func kindKey(r *api.Resource) string {
	k := *r
	k.Scalar, k.Ranges, k.Set, k.AllocationInfo = nil, nil, nil, nil
	if k.Disk != nil {
		d := *k.Disk
		d.Volume = nil
		k.Disk = &d
	}
	key := k.String()
	if k.ProviderID != nil {
		key += "@" + k.ProviderID.Value
	}
	return key
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
