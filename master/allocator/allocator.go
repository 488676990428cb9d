package allocator

import (
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// Allocator decides which framework is offered which agent's resources, by
// hierarchical Dominant Resource Fairness with roles, weights, quota,
// refusal filters and suppression. The master feeds it every change of
// agents, frameworks and allocations and turns the Offers of each pass into
// offers on the wire. Its methods must not be called concurrently; see the
// package documentation.
type Allocator struct {
	cfg    Config
	cfgMin minimum

	names    map[string]int32 // resource name → index in the arrays below
	excluded []bool           // by name: ignored by shares
	total    []int64          // by name: fair slots on every agent
	avail    []int64          // by name: free unreserved fair slots on active agents
	fair     []fairName       // names that count in shares, with 1/total
	fairOK   bool             // fair is up to date with total
	keysOK   bool             // every sorter key was computed with fair

	agents  []*agent
	agentID map[string]*agent
	kinds   map[string]*kind       // interned resource kinds
	ranges  map[string][]api.Range // interned agent totals of ranges

	frameworks map[string]*framework

	roles      map[string]*role
	roleList   []*role // in creation order
	roleTree   tree[*role]
	quotaTree  tree[*role] // roles with guarantees and active frameworks
	guaranteed []*role     // roles with guarantees, by name

	required   []int64 // by name: headroom for unmet guarantees
	requiredOK bool

	dirtyMembers []*membership
	dirtyRoles   []*role

	filters   filterHeap
	filterSeq uint64

	spare []*holding // recycled holdings

	pass passState
}

// New returns an empty Allocator. cfg is not checked; call cfg.Validate
// first where it comes from a user.
func New(cfg Config) *Allocator {
	a := &Allocator{
		cfg:        cfg,
		names:      map[string]int32{},
		agentID:    map[string]*agent{},
		kinds:      map[string]*kind{},
		ranges:     map[string][]api.Range{},
		frameworks: map[string]*framework{},
		roles:      map[string]*role{},
	}
	for _, name := range cfg.FairnessExcluded {
		a.excluded[a.nameIndex(name)] = true
	}
	a.cfgMin = a.parseMinimum(cfg.MinAllocatable)
	return a
}

// nameIndex returns the index of a resource name, adding it to the table.
func (a *Allocator) nameIndex(name string) int32 {
	if n, ok := a.names[name]; ok {
		return n
	}
	n := int32(len(a.names))
	a.names[name] = n
	a.excluded = append(a.excluded, false)
	a.total = append(a.total, 0)
	a.avail = append(a.avail, 0)
	a.required = append(a.required, 0)
	a.pass.budget = append(a.pass.budget, 0)
	a.pass.budgetStamp = append(a.pass.budgetStamp, 0)
	return n
}

// addAt adds d to (*v)[n], growing *v as needed.
func addAt(v *[]int64, n int32, d int64) {
	if int(n) >= len(*v) {
		*v = append(*v, make([]int64, int(n)+1-len(*v))...)
	}
	(*v)[n] += d
}

// at returns v[n], or 0 past its end.
func at(v []int64, n int32) int64 {
	if int(n) < len(v) {
		return v[n]
	}
	return 0
}

// Offer is one decision of a pass: Resources of Agent, all allocated to
// Role, for Framework. One offer holds one agent and one role, as in Mesos;
// a MULTI_ROLE framework may get several offers for one agent, one per
// role, and two frameworks of one role may share an agent when quota
// guarantees split it. The resources count as allocated to the framework
// until the master calls Recover.
//
// Resources are in the unallocated form (no AllocationInfo; Role says to
// whom they are allocated), the form the master keeps offers in: when it
// received them allocated, clearing AllocationInfo again from each offer
// of a pass over 50,000 agents cost more than the allocator's whole pass.
//
// The slices and values of an offer are read-only, and so, as with
// package api's results, are its sub-messages (reservations, disk infos,
// labels) and Attributes (the agent's, as given to AddAgent), which are
// shared.
type Offer struct {
	Framework, Agent, Role string
	Resources              api.Resources
	Attributes             []api.Attribute
}

// capRefuse is Mesos's cap on refusal filters (MESOS-7660).
const capRefuse = 365 * 24 * time.Hour
