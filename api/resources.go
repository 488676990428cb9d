package api

import (
	"cmp"
	"math"
	"slices"
)

// Resources is a bag of resources with Mesos's arithmetic
// (src/common/resources.cpp): offers, agent totals, task needs and
// allocations are all Resources. The zero value (nil) is empty and ready to
// use.
//
// A Resources returned by this package is normalized: every resource in it
// is valid and non-empty, resources of the same kind are merged into one,
// scalars are rounded to three decimals, ranges are sorted and coalesced, and
// set items are sorted. Every method accepts any slice, such as one converted
// from a message's []Resource field: it normalizes its inputs, silently
// dropping invalid and empty resources as Mesos does, and never modifies them.
// Call ValidateResources first where an invalid resource must be reported.
//
// Two resources are of the same kind when only their values differ: same
// name, type, reservation stack (the pre-refinement Role and Reservation are
// read as a one-level stack, and a Role of "" or "*" means unreserved),
// allocation role (nil AllocationInfo and an empty role mean unallocated),
// disk, provider, and revocable and shared markers. Persistent volumes,
// MOUNT and BLOCK disks and RAW disks with an ID are never merged, because
// each is one indivisible thing. Shared resources are never merged either:
// each copy stands for one use, as Mesos's shared count does, and the
// quantity views (ScalarValue, Ranges, Items) count identical copies once.
//
// Results share the sub-messages they do not change (Disk, reservations,
// labels, provider ID) with their inputs; treat those as read-only. Methods
// only read their receiver, so a Resources may be read from several
// goroutines at once.
type Resources []Resource

// MaxScalar is the largest scalar a resource may hold, one trillion. Sums
// saturate at it. Why: Mesos computes in int64 thousandths through a double,
// which stays exact only up to about 2^53 thousandths; Mezzo refuses larger
// values instead of silently losing precision.
const MaxScalar = 1e12

// maxMillis is MaxScalar in thousandths.
const maxMillis = int64(MaxScalar * 1000)

// toMillis converts a scalar to Mesos's fixed point, thousandths rounded half
// away from zero (llround(value * 1000)), clamped to ±maxMillis. Why fixed
// point: so that 0.1 + 0.2 is exactly 0.3 and a task that fits on paper fits
// in the allocator.
func toMillis(v float64) int64 {
	m := math.Round(v * 1000)
	switch {
	case math.IsNaN(m):
		return 0
	case m > float64(maxMillis):
		return maxMillis
	case m < -float64(maxMillis):
		return -maxMillis
	}
	return int64(m)
}

// fromMillis converts thousandths back to a double as Mesos does.
func fromMillis(m int64) float64 { return float64(m) / 1000 }

// addMillis adds two amounts in [-maxMillis, maxMillis], saturating at
// maxMillis.
func addMillis(a, b int64) int64 { return min(a+b, maxMillis) }

// ScalarResource returns an unreserved scalar resource such as
// ScalarResource("cpus", 0.5).
func ScalarResource(name string, value float64) Resource {
	return Resource{Name: name, Type: SCALAR, Scalar: &Scalar{Value: Float64(value)}}
}

// RangesResource returns an unreserved ranges resource such as
// RangesResource("ports", Range{Begin: 31000, End: 32000}).
func RangesResource(name string, ranges ...Range) Resource {
	return Resource{Name: name, Type: RANGES, Ranges: &Ranges{Range: ranges}}
}

// SetResource returns an unreserved set resource such as
// SetResource("gpus", "gpu0", "gpu1").
func SetResource(name string, items ...string) Resource {
	return Resource{Name: name, Type: SET, Set: &Set{Item: items}}
}

// NewResources returns rs normalized (see Resources): invalid and empty
// resources dropped, same-kind resources merged, values in canonical form.
// Order is first appearance. rs is not modified.
func NewResources(rs ...Resource) Resources {
	out := make(Resources, 0, len(rs))
	for i := range rs {
		out = out.addOne(&rs[i])
	}
	return out
}

// Plus returns the sum of rs and other: scalars added in fixed point, ranges
// and sets united. Neither operand is modified.
func (rs Resources) Plus(other Resources) Resources {
	out := make(Resources, 0, len(rs)+len(other))
	for i := range rs {
		out = out.addOne(&rs[i])
	}
	for i := range other {
		out = out.addOne(&other[i])
	}
	return out
}

// Add adds resources to *rs. It replaces *rs with rs.Plus(r), so the old
// slice, perhaps a message's field, is left as it was.
func (rs *Resources) Add(r ...Resource) { *rs = rs.Plus(r) }

// Minus returns what remains of rs after taking other away, as Mesos's
// operator- does: a scalar that would go negative is removed, ranges are
// split around what is taken, set items are removed, and whatever of other
// rs does not hold is ignored. Check rs.Contains(other) first when taking
// more than is there is an error.
func (rs Resources) Minus(other Resources) Resources {
	out := NewResources(rs...)
	for i := range other {
		if usable(&other[i]) {
			out = out.subtractOne(&other[i])
		}
	}
	return out
}

// Subtract takes resources away from *rs. It replaces *rs with rs.Minus(r),
// so the old slice is left as it was.
func (rs *Resources) Subtract(r ...Resource) { *rs = rs.Minus(r) }

// Contains reports whether rs holds all of other, kind by kind: cpus
// reserved for "web" do not satisfy unreserved cpus (see Flatten and
// ToUnreserved for role-blind checks). It is false when other holds an
// invalid resource, so that an unchecked task cannot pass as fitting.
func (rs Resources) Contains(other Resources) bool {
	for i := range other {
		if checkResource(&other[i]) != nil {
			return false
		}
	}
	return NewResources(rs...).contains(NewResources(other...))
}

// Equal reports whether rs and other hold the same resources, in any order
// and however split: cpus:1 twice equals cpus:2. Invalid resources are
// ignored on both sides.
func (rs Resources) Equal(other Resources) bool {
	a, b := NewResources(rs...), NewResources(other...)
	return a.contains(b) && b.contains(a)
}

// Empty reports whether rs holds nothing: no resource in it is both valid and
// non-zero.
func (rs Resources) Empty() bool {
	for i := range rs {
		if usable(&rs[i]) {
			return false
		}
	}
	return true
}

// contains is Contains for normalized operands; it does not modify rs.
func (rs Resources) contains(other Resources) bool {
	rs = slices.Clone(rs)
	for i := range other {
		if !rs.containsOne(&other[i]) {
			return false
		}
		rs = rs.subtractOne(&other[i])
	}
	return true
}

// containsOne reports whether one resource of rs holds all of r.
func (rs Resources) containsOne(r *Resource) bool {
	for i := range rs {
		if subtractable(&rs[i], r) && valueContains(&rs[i], r) {
			return true
		}
	}
	return false
}

// addOne adds r to rs, which the caller owns, if r is valid and non-empty.
func (rs Resources) addOne(r *Resource) Resources {
	if !usable(r) {
		return rs
	}
	return rs.mergeOne(r)
}

// mergeOne adds r to rs, which the caller owns, without checking r.
func (rs Resources) mergeOne(r *Resource) Resources {
	for i := range rs {
		if addable(&rs[i], r) {
			rs[i] = plusValue(&rs[i], r)
			return rs
		}
	}
	return append(rs, normalized(r))
}

// subtractOne takes r from the first resource of rs, which the caller owns,
// that it can be taken from, removing that resource if nothing is left.
func (rs Resources) subtractOne(r *Resource) Resources {
	for i := range rs {
		if !subtractable(&rs[i], r) {
			continue
		}
		left, ok := minusValue(&rs[i], r)
		if !ok {
			return slices.Delete(rs, i, i+1)
		}
		rs[i] = left
		return rs
	}
	return rs
}

// usable reports whether r is valid and non-empty, the resources Mesos keeps.
func usable(r *Resource) bool { return checkResource(r) == nil && !emptyValue(r) }

// emptyValue reports whether a valid r holds nothing.
func emptyValue(r *Resource) bool {
	switch r.Type {
	case SCALAR:
		return toMillis(float64(r.Scalar.Value)) == 0
	case RANGES:
		return len(r.Ranges.Range) == 0
	case SET:
		return len(r.Set.Item) == 0
	}
	return true
}

// addable reports whether a and b merge into one resource (Mesos's
// internal::addable, with shared copies kept apart).
func addable(a, b *Resource) bool {
	return a.Shared == nil && b.Shared == nil && sameKind(a, b) && divisible(a.Disk)
}

// subtractable reports whether b can be taken from a (Mesos's
// internal::subtractable): indivisible and shared resources only whole.
func subtractable(a, b *Resource) bool {
	if !sameKind(a, b) {
		return false
	}
	if a.Shared != nil || !divisible(a.Disk) {
		return sameValue(a, b)
	}
	return true
}

// divisible reports whether a disk can be split and merged: not a persistent
// volume, not a MOUNT or BLOCK disk, not a RAW disk with an identity.
func divisible(d *DiskInfo) bool {
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

// identical reports whether a and b are the same kind with the same value.
func identical(a, b *Resource) bool { return sameKind(a, b) && sameValue(a, b) }

// sameKind reports whether a and b differ at most in their values (Mesos's
// compareResourceMetadata).
func sameKind(a, b *Resource) bool {
	return a.Name == b.Name && a.Type == b.Type &&
		allocationRole(a) == allocationRole(b) &&
		sameStack(a, b) && sameDisk(a.Disk, b.Disk) &&
		providerID(a) == providerID(b) &&
		(a.Revocable == nil) == (b.Revocable == nil) &&
		(a.Shared == nil) == (b.Shared == nil)
}

func allocationRole(r *Resource) string {
	if r.AllocationInfo == nil {
		return ""
	}
	return r.AllocationInfo.Role
}

func providerID(r *Resource) string {
	if r.ProviderID == nil {
		return ""
	}
	return r.ProviderID.Value
}

// ReservationRole returns the role r is reserved for: the role of its last,
// most refined reservation, or "*" when it is unreserved. Both the
// pre-refinement Role and the Reservations stack are read.
func (r Resource) ReservationRole() string {
	if n := stackLen(&r); n > 0 {
		return stackAt(&r, n-1).Role
	}
	return "*"
}

// ReservationStack returns r's reservations in the post-refinement form,
// outermost first: Reservations when set, otherwise the one reservation the
// pre-refinement Role and Reservation describe (STATIC without Reservation,
// DYNAMIC with it), otherwise nil. The result is a copy.
func (r Resource) ReservationStack() []ReservationInfo {
	n := stackLen(&r)
	if n == 0 {
		return nil
	}
	out := make([]ReservationInfo, n)
	for i := range out {
		out[i] = stackAt(&r, i)
	}
	return out
}

// stackLen is the depth of r's reservation stack in either form.
func stackLen(r *Resource) int {
	switch {
	case len(r.Reservations) > 0:
		return len(r.Reservations)
	case r.Role == "" || r.Role == "*":
		return 0
	}
	return 1
}

// stackAt is reservation i of r's stack, converting the pre-refinement form
// as Mesos's upgradeResource does.
func stackAt(r *Resource, i int) ReservationInfo {
	if len(r.Reservations) > 0 {
		return r.Reservations[i]
	}
	ri := ReservationInfo{Type: ReservationStatic, Role: r.Role}
	if r.Reservation != nil {
		ri.Type = ReservationDynamic
		ri.Principal = r.Reservation.Principal
		ri.Labels = r.Reservation.Labels
	}
	return ri
}

func sameStack(a, b *Resource) bool {
	n := stackLen(a)
	if n != stackLen(b) {
		return false
	}
	for i := range n {
		x, y := stackAt(a, i), stackAt(b, i)
		if x.Type != y.Type || x.Role != y.Role || x.Principal != y.Principal ||
			!sameLabels(x.Labels, y.Labels) {
			return false
		}
	}
	return true
}

// sameLabels compares labels in any order, as Mesos does; nil and empty are
// the same.
func sameLabels(a, b *Labels) bool { return labelsText(a) == labelsText(b) }

// sameDisk compares disks as Mesos does: the source and the persistence ID
// count, the volume (how a task mounts it) does not.
func sameDisk(a, b *DiskInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	if (a.Persistence == nil) != (b.Persistence == nil) ||
		(a.Persistence != nil && a.Persistence.ID != b.Persistence.ID) {
		return false
	}
	return sourceText(a.Source) == sourceText(b.Source)
}

// sameValue compares the values of two valid resources of one type.
func sameValue(a, b *Resource) bool { return valueContains(a, b) && valueContains(b, a) }

// valueContains reports whether a's value holds b's; both are valid and of
// one type.
func valueContains(a, b *Resource) bool {
	switch a.Type {
	case SCALAR:
		return toMillis(float64(b.Scalar.Value)) <= toMillis(float64(a.Scalar.Value))
	case RANGES:
		return len(subtractRanges(coalesce(b.Ranges.Range), coalesce(a.Ranges.Range))) == 0
	case SET:
		return len(setMinus(b.Set.Item, a.Set.Item)) == 0
	}
	return false
}

// normalized returns a copy of the valid r with its value in canonical
// form. A value already canonical is shared, not copied: values are never
// changed in place, and most values arrive canonical (the results of this
// package, an allocator's offers), so copying them was most of what an
// allocation pass allocated.
func normalized(r *Resource) Resource {
	out := *r
	switch r.Type {
	case SCALAR:
		if v := Float64(fromMillis(toMillis(float64(r.Scalar.Value)))); v != r.Scalar.Value {
			out.Scalar = &Scalar{Value: v}
		}
	case RANGES:
		if !coalesced(r.Ranges.Range) {
			out.Ranges = &Ranges{Range: coalesce(r.Ranges.Range)}
		}
	case SET:
		if !sortedUnique(r.Set.Item) {
			out.Set = &Set{Item: sortedItems(r.Set.Item)}
		}
	}
	return out
}

// coalesced reports whether rs is as coalesce would make it: sorted, with
// neither overlapping nor adjacent ranges.
func coalesced(rs []Range) bool {
	for i := 1; i < len(rs); i++ {
		if prev := rs[i-1].End; prev == math.MaxUint64 || rs[i].Begin <= prev+1 {
			return false
		}
	}
	return true
}

// sortedUnique reports whether items is as sortedItems would make it.
func sortedUnique(items []string) bool {
	for i := 1; i < len(items); i++ {
		if items[i-1] >= items[i] {
			return false
		}
	}
	return true
}

// plusValue returns the normalized a with b's value added.
func plusValue(a, b *Resource) Resource {
	out := *a
	switch a.Type {
	case SCALAR:
		m := addMillis(toMillis(float64(a.Scalar.Value)), toMillis(float64(b.Scalar.Value)))
		out.Scalar = &Scalar{Value: Float64(fromMillis(m))}
	case RANGES:
		out.Ranges = &Ranges{Range: coalesce(append(slices.Clone(a.Ranges.Range), b.Ranges.Range...))}
	case SET:
		out.Set = &Set{Item: sortedItems(append(slices.Clone(a.Set.Item), b.Set.Item...))}
	}
	return out
}

// minusValue returns the normalized a with b's value taken away, and false
// when nothing (or less than nothing) is left.
func minusValue(a, b *Resource) (Resource, bool) {
	out := *a
	switch a.Type {
	case SCALAR:
		m := toMillis(float64(a.Scalar.Value)) - toMillis(float64(b.Scalar.Value))
		out.Scalar = &Scalar{Value: Float64(fromMillis(m))}
		return out, m > 0
	case RANGES:
		out.Ranges = &Ranges{Range: subtractRanges(a.Ranges.Range, coalesce(b.Ranges.Range))}
		return out, len(out.Ranges.Range) > 0
	case SET:
		out.Set = &Set{Item: setMinus(a.Set.Item, b.Set.Item)}
		return out, len(out.Set.Item) > 0
	}
	return out, false
}

// coalesce returns ranges sorted, with overlapping and adjacent ones merged,
// in a new slice (nil when empty). Every range must have Begin <= End.
func coalesce(in []Range) []Range {
	if len(in) == 0 {
		return nil
	}
	rs := slices.Clone(in)
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtractRanges returns a minus b, splitting ranges of a where needed; both
// are sorted and coalesced, and so is the result.
func subtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		for j < len(b) && b[j].End < r.Begin {
			j++
		}
		out = appendRangeMinus(out, r, b[j:])
	}
	return out
}

// appendRangeMinus appends to out what is left of r after taking away the
// sorted ranges b, of which none ends before r begins.
func appendRangeMinus(out []Range, r Range, b []Range) []Range {
	for _, cut := range b {
		if cut.Begin > r.End {
			break
		}
		if cut.Begin > r.Begin {
			out = append(out, Range{Begin: r.Begin, End: cut.Begin - 1})
		}
		if cut.End >= r.End {
			return out
		}
		r.Begin = cut.End + 1
	}
	return append(out, r)
}

// sortedItems returns set items sorted and without duplicates, in a new
// slice (nil when empty).
func sortedItems(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(items)))
}

// setMinus returns the items of a that are not in b, in a's order.
func setMinus(a, b []string) []string {
	var out []string
	for _, item := range a {
		if !slices.Contains(b, item) {
			out = append(out, item)
		}
	}
	return out
}

// ScalarValue returns the total of the scalar resources called name, across
// roles, reservations and allocations, in Mesos's fixed point; 0 when there
// are none.
func (rs Resources) ScalarValue(name string) float64 {
	var m int64
	for _, r := range rs.quantities(name, SCALAR) {
		m = addMillis(m, toMillis(float64(r.Scalar.Value)))
	}
	return fromMillis(m)
}

// SandboxDiskBytes returns the disk of rs that lives in the sandbox, in
// bytes (the resources are in MB, as in Mesos), 0 when there is none:
// the "disk" resources that are neither persistent volumes nor disks from
// a source (PATH, MOUNT...), which are mounted apart from the sandbox.
// The agent bounds what fetching a task's URIs may write by it.
func (rs Resources) SandboxDiskBytes() uint64 {
	var m int64
	for _, r := range rs.quantities("disk", SCALAR) {
		if r.Disk == nil || r.Disk.Persistence == nil && r.Disk.Source == nil {
			m = addMillis(m, toMillis(float64(r.Scalar.Value)))
		}
	}
	return uint64(fromMillis(m) * (1 << 20))
}

// Ranges returns the union of the ranges resources called name, across
// roles, sorted and coalesced; empty when there are none.
func (rs Resources) Ranges(name string) Ranges {
	var all []Range
	for _, r := range rs.quantities(name, RANGES) {
		all = append(all, r.Ranges.Range...)
	}
	return Ranges{Range: coalesce(all)}
}

// Items returns the union of the items of the set resources called name,
// across roles, sorted; nil when there are none.
func (rs Resources) Items(name string) []string {
	var all []string
	for _, r := range rs.quantities(name, SET) {
		all = append(all, r.Set.Item...)
	}
	return sortedItems(all)
}

// quantities returns the usable resources of rs with the given name and
// type, counting identical shared copies once.
func (rs Resources) quantities(name string, typ ValueType) []*Resource {
	var out []*Resource
	for i := range rs {
		r := &rs[i]
		if r.Name != name || r.Type != typ || !usable(r) {
			continue
		}
		if r.Shared != nil && slices.ContainsFunc(out, func(o *Resource) bool { return identical(o, r) }) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Names returns the names of the resources in rs, sorted, each once.
func (rs Resources) Names() []string {
	var names []string
	for i := range rs {
		if usable(&rs[i]) {
			names = append(names, rs[i].Name)
		}
	}
	return sortedItems(names)
}

// Filter returns the resources of rs for which keep returns true,
// normalized. keep sees each resource of rs once, in order, including
// invalid ones, which are dropped whatever it says.
func (rs Resources) Filter(keep func(Resource) bool) Resources {
	var out Resources
	for i := range rs {
		if keep(rs[i]) {
			out = out.addOne(&rs[i])
		}
	}
	return out
}

// Named returns the resources of rs called name, in every role.
func (rs Resources) Named(name string) Resources {
	return rs.Filter(func(r Resource) bool { return r.Name == name })
}

// Unreserved returns the resources of rs that are not reserved, as Mesos's
// unreserved() does. ToUnreserved converts instead of filtering.
func (rs Resources) Unreserved() Resources {
	return rs.Filter(func(r Resource) bool { return r.ReservationRole() == "*" })
}

// Reserved returns the resources of rs reserved for role (their last
// reservation's role is role), or all reserved resources when role is "".
func (rs Resources) Reserved(role string) Resources {
	return rs.Filter(func(r Resource) bool {
		got := r.ReservationRole()
		return got != "*" && (role == "" || got == role)
	})
}

// AllocatableTo returns the resources of rs that may be offered to a
// framework in role: the unreserved ones and those reserved for role or for
// one of its ancestors (reserved for "eng" may go to "eng/web").
func (rs Resources) AllocatableTo(role string) Resources {
	return rs.Filter(func(r Resource) bool {
		got := r.ReservationRole()
		return got == "*" || got == role || isStrictSubrole(role, got)
	})
}

// isStrictSubrole reports whether role lies under ancestor: "a/b" under "a".
func isStrictSubrole(role, ancestor string) bool {
	return len(role) > len(ancestor) && role[len(ancestor)] == '/' &&
		role[:len(ancestor)] == ancestor
}

// Reservations returns the reserved resources of rs by reservation role, the
// per-role view of Mesos's reservations(). Unreserved resources are left out.
func (rs Resources) Reservations() map[string]Resources {
	out := map[string]Resources{}
	for i := range rs {
		if role := rs[i].ReservationRole(); role != "*" && usable(&rs[i]) {
			out[role] = out[role].mergeOne(&rs[i])
		}
	}
	return out
}

// Allocations returns the allocated resources of rs by allocation role, as
// Mesos's allocations() does. Unallocated resources are left out.
func (rs Resources) Allocations() map[string]Resources {
	out := map[string]Resources{}
	for i := range rs {
		if role := allocationRole(&rs[i]); role != "" && usable(&rs[i]) {
			out[role] = out[role].mergeOne(&rs[i])
		}
	}
	return out
}

// Flatten returns rs with every resource reserved for role alone, as Mesos's
// flatten(role) did: a single STATIC reservation for role, or none when role
// is "" or "*". Allocation is kept. It serves role-blind questions such as
// "would this task fit here if roles did not matter", after which same-kind
// resources of different roles have merged. The result is in the
// post-refinement form (Role and Reservation cleared). role is not checked;
// an invalid one yields resources that later operations drop as invalid.
func (rs Resources) Flatten(role string) Resources {
	var stack []ReservationInfo
	if role != "" && role != "*" {
		stack = []ReservationInfo{{Type: ReservationStatic, Role: role}}
	}
	return rs.mapEach(func(r *Resource) {
		r.Role, r.Reservation, r.Reservations = "", nil, stack
	})
}

// ToUnreserved returns rs with every reservation removed, as Mesos's
// toUnreserved() does; it is Flatten("*").
func (rs Resources) ToUnreserved() Resources { return rs.Flatten("*") }

// Allocate returns rs with every resource allocated to role, as Mesos's
// allocate(role) does when the master offers them to a framework in role.
// Allocate("") is Unallocated. role is not checked, as in Flatten.
func (rs Resources) Allocate(role string) Resources {
	var info *AllocationInfo
	if role != "" {
		info = &AllocationInfo{Role: role}
	}
	return rs.mapEach(func(r *Resource) { r.AllocationInfo = info })
}

// Unallocated returns rs with AllocationInfo cleared from every resource, as
// Mesos's unallocate() does when resources return to the agent's pool.
func (rs Resources) Unallocated() Resources { return rs.Allocate("") }

// mapEach applies change to a copy of each valid, non-empty resource of rs
// and merges the results. change must replace pointers, never write
// through them, and must change every resource alike, so that resources
// that merge before it still merge after.
func (rs Resources) mapEach(change func(*Resource)) Resources {
	out := make(Resources, 0, len(rs))
	for i := range rs {
		if !usable(&rs[i]) {
			continue
		}
		// Changed in place at the end of out, so that no copy of it
		// escapes to the heap: this runs for every offer of a pass.
		out = append(out, rs[i])
		last := len(out) - 1
		change(&out[last])
		if j := slices.IndexFunc(out[:last], func(r Resource) bool { return addable(&r, &out[last]) }); j >= 0 {
			out[j] = plusValue(&out[j], &out[last])
			out = out[:last]
		} else {
			out[last] = normalized(&out[last])
		}
	}
	return out
}

// Sorted returns rs normalized and in canonical order: by name, type,
// reservation stack (unreserved first), allocation role, disk, provider,
// revocable and shared markers, then value. String prints in this order.
func (rs Resources) Sorted() Resources {
	out := NewResources(rs...)
	slices.SortStableFunc(out, compareResources)
	return out
}

// compareResources orders resources canonically; it accepts invalid ones.
func compareResources(a, b Resource) int {
	return cmp.Or(
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Type, b.Type),
		compareStacks(&a, &b),
		cmp.Compare(allocationRole(&a), allocationRole(&b)),
		cmp.Compare(diskText(a.Disk), diskText(b.Disk)),
		cmp.Compare(providerID(&a), providerID(&b)),
		compareFlags(a.Revocable != nil, b.Revocable != nil),
		compareFlags(a.Shared != nil, b.Shared != nil),
		cmp.Compare(valueText(&a), valueText(&b)),
	)
}

// compareStacks orders reservation stacks level by level, shorter first on
// a common prefix, so unreserved sorts first.
func compareStacks(a, b *Resource) int {
	n, m := stackLen(a), stackLen(b)
	for i := range min(n, m) {
		x, y := stackAt(a, i), stackAt(b, i)
		if c := cmp.Or(
			cmp.Compare(x.Role, y.Role),
			cmp.Compare(x.Type, y.Type),
			cmp.Compare(x.Principal, y.Principal),
			cmp.Compare(labelsText(x.Labels), labelsText(y.Labels)),
		); c != 0 {
			return c
		}
	}
	return cmp.Compare(n, m)
}

func compareFlags(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
