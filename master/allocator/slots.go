package allocator

import (
	"math"

	"github.com/mezzo-cluster/mezzo/api"
)

// maxMillis is api.MaxScalar in thousandths; sums saturate at it.
const maxMillis = int64(api.MaxScalar * 1000)

// valueKind says which field of an amount a slot uses.
type valueKind uint8

const (
	scalarKind valueKind = iota
	rangesKind
	setKind
)

// amount is a quantity of one slot: thousandths for scalars, values for
// ranges and sets. The zero amount is nothing.
type amount struct {
	millis int64
	ranges []api.Range
	items  []string
}

// zero reports whether x holds nothing.
func (x *amount) zero() bool { return x.millis == 0 && len(x.ranges) == 0 && len(x.items) == 0 }

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

// slot is one kind of resource on an agent, with its total and what is
// allocated of it. Agents keep their slots in a fixed order, so vectors of
// amounts index them directly: the hot path never compares resources.
type slot struct {
	*kind
	total, used int64 // scalars, in thousandths; used may exceed total
	freeR       []api.Range
	ext         *slotExt // ranges and sets only
}

// slotExt holds what only range and set slots need, out of the way of the
// scalars the hot path reads.
type slotExt struct {
	totalR        []api.Range
	totalI, freeI []string
}

// free returns the free thousandths of a scalar slot.
func (s *slot) free() int64 { return max(0, s.total-s.used) }

// hasFree reports whether anything of s is free.
func (s *slot) hasFree() bool {
	switch s.vk {
	case scalarKind:
		return s.total > s.used
	case rangesKind:
		return len(s.freeR) > 0
	}
	return len(s.ext.freeI) > 0
}

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

// valueOf reads r's value; ok is false when r has none usable.
func valueOf(r *api.Resource) (x amount, vk valueKind, ok bool) {
	switch {
	case r.Type == api.SCALAR && r.Scalar != nil:
		x.millis = toMillis(float64(r.Scalar.Value))
		return x, scalarKind, x.millis > 0
	case r.Type == api.RANGES && r.Ranges != nil:
		x.ranges = normalizeRanges(r.Ranges.Range)
		return x, rangesKind, len(x.ranges) > 0
	case r.Type == api.SET && r.Set != nil:
		x.items = normalizeItems(r.Set.Item)
		return x, setKind, len(x.items) > 0
	}
	return x, 0, false
}

// toMillis converts a scalar to thousandths as api does (rounded half away
// from zero), clamped to [0, maxMillis].
func toMillis(v float64) int64 {
	m := math.Round(v * 1000)
	switch {
	case math.IsNaN(m) || m <= 0:
		return 0
	case m > float64(maxMillis):
		return maxMillis
	}
	return int64(m)
}

// addTo adds x to *dst for a slot of kind vk, saturating scalars.
func addTo(dst *amount, x *amount, vk valueKind) {
	switch vk {
	case scalarKind:
		dst.millis = min(dst.millis+x.millis, maxMillis)
	case rangesKind:
		dst.ranges = rangesUnion(dst.ranges, x.ranges)
	case setKind:
		dst.items = itemsUnion(dst.items, x.items)
	}
}

// covers reports whether have holds all of want for a slot of kind vk.
func covers(have, want *amount, vk valueKind) bool {
	switch vk {
	case scalarKind:
		return want.millis <= have.millis
	case rangesKind:
		return rangesContain(have.ranges, want.ranges)
	}
	return itemsContain(have.items, want.items)
}

// cloneAmounts returns a copy of v that shares only immutable values.
func cloneAmounts(v []amount) []amount { return append([]amount(nil), v...) }
