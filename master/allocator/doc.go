// Package allocator decides which framework is offered which agent's
// resources: Mesos's hierarchical Dominant Resource Fairness with roles,
// weights, quota, refusal filters, suppression and minimum allocatable
// resources, pure and deterministic.
//
// The master tells the allocator about agents, frameworks and every change
// to what they hold, then asks for a pass and turns its decisions into
// offers:
//
//	a := allocator.New(allocator.DefaultConfig())
//	a.AddAgent("a1", total, attributes)
//	a.AddFramework("f1", allocator.FrameworkOptions{Roles: []string{"web"}})
//	for _, o := range a.Allocate(now) {
//		// send o.Resources of o.Agent to o.Framework in o.Role
//	}
//	a.Recover("f1", "a1", "web", declined, 5*time.Second, now) // DECLINE
//	a.AllocateAgents(now, "a1")                                // a pass over a1 alone
//
// A pass visits agents in a shuffled but repeatable order (blocks of agents
// that lie together in memory are shuffled, for speed). On each agent
// it goes through the roles by weighted dominant share, lowest first
// (stage 1 only roles with unmet quota guarantees, stage 2 all), and
// offers everything the role may use there — unreserved resources and
// those reserved for it or an ancestor, cut to its quota limits and to the
// headroom unmet guarantees need — to the role's first framework, by
// dominant share, that is not suppressed, filtered or below its minimum.
// One offer holds one agent and one role. Offered resources count as
// allocated, exactly like resources in use, until the master calls Recover.
//
// Resources are converted once, at the boundary, to a compact form (an
// agent's resources are a fixed vector of slots, one per kind, scalars in
// thousandths), so a pass never compares or re-validates api.Resources.
// Shares live in ordered trees updated in O(log n) after each offer, and
// aggregates (totals, headroom, quota consumption) are kept incrementally:
// a pass over a few agents costs microseconds whatever the cluster's size
// (except the first pass after cluster totals change, which re-sorts every
// framework).
//
// Time comes in as an argument and nothing is random, so the same calls
// give the same offers. An Allocator is not safe for concurrent use: the
// master calls it under its own lock.
package allocator
