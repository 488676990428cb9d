package allocator

import (
	"slices"
	"strings"
)

// membership is a framework in one role: its place in the role's sorter,
// its allocations, filters and options for that role. It lives while the
// framework subscribes to the role or holds resources allocated to it.
type membership struct {
	fw   *framework
	role *role
	node node[*membership]

	subscribed bool
	suppressed bool
	inTree     bool
	dirty      bool
	min        *minimum // nil: Config.MinAllocatable

	alloc    []int64 // by name
	holdings []*holding
	filters  map[*agent][]*filter
	why      memberWhy
}

// eligible reports whether m may be offered resources.
func (m *membership) eligible() bool { return m.fw.active && m.subscribed && !m.suppressed }

// member returns f's membership in the named role, creating it (not
// subscribed) if needed.
func (a *Allocator) member(f *framework, name string) *membership {
	if name == "" {
		name = "*"
	}
	i, found := slices.BinarySearchFunc(f.members, name, func(m *membership, name string) int {
		return strings.Compare(m.role.name, name)
	})
	if found {
		return f.members[i]
	}
	r := a.role(name)
	m := &membership{fw: f, role: r}
	m.node.init(m, f.id)
	f.members = slices.Insert(f.members, i, m)
	r.members = append(r.members, m)
	return m
}

// place puts m in or takes it out of its role's sorter to match whether it
// may be offered resources, and its role in or out of the role sorters.
func (a *Allocator) place(m *membership) {
	want := m.eligible()
	if want == m.inTree {
		return
	}
	r := m.role
	if want {
		m.node.key.share = a.dominant(m.alloc)
		r.fws.insert(&m.node)
	} else {
		r.fws.remove(&m.node)
	}
	m.inTree = want
	if m.min != nil {
		if want {
			r.overrides++
		} else {
			r.overrides--
		}
	}
	a.placeRole(r)
}

// forgetIfIdle drops m once it neither subscribes nor holds resources.
func (a *Allocator) forgetIfIdle(m *membership) {
	if m.subscribed || len(m.holdings) > 0 {
		return
	}
	a.clearFilters(m)
	f, r := m.fw, m.role
	f.members = slices.DeleteFunc(f.members, func(x *membership) bool { return x == m })
	r.members = slices.DeleteFunc(r.members, func(x *membership) bool { return x == m })
	m.dirty = false
}
