package allocator

import (
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// FrameworkOptions is what the allocator needs of a FrameworkInfo.
type FrameworkOptions struct {
	// Roles are the framework's roles: FrameworkInfo.roles for a
	// MULTI_ROLE framework, else its single role. "" means "*".
	Roles []string

	// SuppressedRoles are roles, among Roles, that get no offers until
	// revived (SUBSCRIBE's suppressed_roles, UPDATE_FRAMEWORK).
	SuppressedRoles []string

	// MinAllocatable overrides Config.MinAllocatable per role
	// (FrameworkInfo.offer_filters); an empty list means any non-empty
	// offer is worth making.
	MinAllocatable map[string][]api.Resources

	// GPU is set for frameworks with the GPU_RESOURCES capability; see
	// Config.FilterGPUResources.
	GPU bool

	// Revocable is set for frameworks with the REVOCABLE_RESOURCES
	// capability; only they are offered revocable resources.
	Revocable bool
}

// framework is what the allocator knows of a framework.
type framework struct {
	id        string
	active    bool
	gpu       bool
	revocable bool
	members   []*membership // sorted by role name
	alloc     []int64       // by name, over all roles
	why       frameworkWhy
}

// AddFramework adds an active framework. Adding a known framework updates
// its options and activates it.
func (a *Allocator) AddFramework(id string, opts FrameworkOptions) {
	f := a.frameworks[id]
	if f == nil {
		f = &framework{id: id}
		a.frameworks[id] = f
	}
	f.active = true
	a.UpdateFramework(id, opts)
}

// UpdateFramework replaces a framework's options (UPDATE_FRAMEWORK or a
// re-subscription). Resources it holds in roles it leaves stay allocated
// until the master recovers them (it rescinds those offers); its filters in
// those roles are dropped. Unknown frameworks are ignored.
func (a *Allocator) UpdateFramework(id string, opts FrameworkOptions) {
	f := a.frameworks[id]
	if f == nil {
		return
	}
	f.gpu, f.revocable = opts.GPU, opts.Revocable
	roles := normalizeRoles(opts.Roles)
	for _, name := range roles {
		a.member(f, name)
	}
	for _, m := range slices.Clone(f.members) {
		name := m.role.name
		m.subscribed = slices.Contains(roles, name)
		m.suppressed = slices.Contains(opts.SuppressedRoles, name)
		a.setMin(m, opts.MinAllocatable)
		if !m.subscribed {
			a.clearFilters(m)
		}
		a.place(m)
		a.forgetIfIdle(m)
	}
}

// normalizeRoles returns roles sorted, without duplicates, "" read as "*".
func normalizeRoles(roles []string) []string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if r == "" {
			r = "*"
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// setMin sets m's minimum allocatable from a framework's per-role options.
func (a *Allocator) setMin(m *membership, byRole map[string][]api.Resources) {
	old := m.min
	m.min = nil
	if alts, ok := byRole[m.role.name]; ok {
		mn := a.parseMinimum(alts)
		m.min = &mn
	}
	if m.inTree && (old == nil) != (m.min == nil) {
		if m.min != nil {
			m.role.overrides++
		} else {
			m.role.overrides--
		}
	}
}

// RemoveFramework forgets a framework: its allocations vanish (the master
// rescinds its offers and its tasks are gone) and so do its filters.
func (a *Allocator) RemoveFramework(id string) {
	f := a.frameworks[id]
	if f == nil {
		return
	}
	f.active = false
	for _, m := range slices.Clone(f.members) {
		m.subscribed = false
		a.place(m)
		for len(m.holdings) > 0 {
			a.dropHolding(m.holdings[len(m.holdings)-1])
		}
		a.forgetIfIdle(m)
	}
	delete(a.frameworks, id)
}

// DeactivateFramework stops offers to a framework, for example while it is
// disconnected. Its allocations and filters stay.
func (a *Allocator) DeactivateFramework(id string) { a.setFrameworkActive(id, false) }

// ActivateFramework resumes offers to a framework.
func (a *Allocator) ActivateFramework(id string) { a.setFrameworkActive(id, true) }

func (a *Allocator) setFrameworkActive(id string, on bool) {
	f := a.frameworks[id]
	if f == nil || f.active == on {
		return
	}
	f.active = on
	for _, m := range f.members {
		a.place(m)
	}
}

// Suppress stops offers to a framework in the given roles, or in all its
// roles when none are given (SUPPRESS). Outstanding offers stay.
func (a *Allocator) Suppress(id string, roles ...string) { a.setSuppressed(id, roles, true) }

// Revive resumes offers to a framework in the given roles, or in all its
// roles when none are given, and clears its filters in them (REVIVE).
func (a *Allocator) Revive(id string, roles ...string) { a.setSuppressed(id, roles, false) }

func (a *Allocator) setSuppressed(id string, roles []string, on bool) {
	f := a.frameworks[id]
	if f == nil {
		return
	}
	for _, m := range f.members {
		if !m.subscribed || (len(roles) > 0 && !slices.Contains(roles, m.role.name)) {
			continue
		}
		m.suppressed = on
		if !on {
			a.clearFilters(m)
		}
		a.place(m)
	}
}
