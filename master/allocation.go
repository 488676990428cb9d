package master

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/allocator"
)

// The master keeps the books of offers and tasks; package allocator
// decides who is offered what. Every resource the allocator hands out stays
// allocated to its framework until the master recovers it: a declined or
// rescinded offer, the unused part of an accepted one, a finished task.

// needFullPass asks for an allocation pass over every agent: demand
// changed (a framework arrived, revived, or changed roles; weights or
// quota changed). m.mu must be held.
func (m *Master) needFullPass() {
	m.fullPass = true
	m.triggerAllocation()
}

// agentFreed asks for an allocation pass over one agent whose free
// resources grew. m.mu must be held.
func (m *Master) agentFreed(id string) {
	m.dirty[id] = true
	m.triggerAllocation()
}

// allocatePass runs the allocator — over every agent when full, else over
// the agents whose resources were freed since the last pass — and sends
// the offers it decides on.
func (m *Master) allocatePass(now time.Time, full bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireOffers(now)
	start := time.Now()
	var decided []allocator.Offer
	switch {
	case full || m.fullPass:
		decided = m.alloc.Allocate(now)
	case len(m.dirty) > 0:
		ids := make([]string, 0, len(m.dirty))
		for id := range m.dirty {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		decided = m.alloc.AllocateAgents(now, ids...)
	default:
		return
	}
	m.fullPass = false
	clear(m.dirty)
	batches := map[*framework][]offerDraft{}
	behind := map[*framework]bool{}
	for _, d := range decided {
		f, a := m.frameworks[d.Framework], m.agents[d.Agent]
		res := d.Resources
		if f != nil {
			if _, seen := behind[f]; !seen {
				behind[f] = f.stream.queued() >= offerBacklog
			}
		}
		if f == nil || a == nil || !f.connected() || !a.offerable() || behind[f] {
			m.alloc.Recover(d.Framework, d.Agent, d.Role, res, 0, now)
			continue
		}
		o := m.newOffer(f, a, d.Role, res, now)
		batches[f] = append(batches[f], m.draftOffer(f, a, o))
	}
	for f, drafts := range batches {
		// Counted before they go out: a framework that has an offer may
		// scrape /metrics and must find it counted.
		m.metrics.offers.WithLabelValues("made").Add(float64(len(drafts)))
		for chunk := range slices.Chunk(drafts, maxOffersPerEvent) {
			f.stream.sendLater(func() ([]byte, error) { return encodeOffers(chunk) })
		}
	}
	m.metrics.observeAllocation(start)
}

// offerBacklog is how many records may wait on a framework's stream
// before it is offered nothing more until it catches up (a periodic pass,
// Config.AllocationInterval, offers it again). Offers it cannot read in
// time only go stale, and piling them on is what takes its stream to
// streamBuffer records and ends it: in the C1M run (e2e/bench item e) a
// framework reading a million updates was disconnected so, near the end,
// and the ACCEPTs it had in flight failed.
const offerBacklog = streamBuffer / 4

// maxOffersPerEvent bounds the offers of one OFFERS event. A pass that
// offers a whole cluster to one framework would otherwise make one record
// of tens of megabytes — 41 MB for 50,000 agents (e2e/bench), past the
// 16 MiB that RecordIO readers, ours included, accept. At about 800 bytes
// an offer, 1,000 make well under a megabyte.
const maxOffersPerEvent = 1000

// maxRefuse caps refuse_seconds at a year, as Mesos does (MESOS-7660).
const maxRefuse = 365 * 24 * time.Hour

// refuseDuration turns a call's filters into a refusal duration: the
// default 5 s when unset, negative or NaN, as Mesos; 0 for none.
func refuseDuration(filters *api.Filters) time.Duration {
	secs := filters.Refuse()
	if math.IsNaN(secs) || secs < 0 {
		secs = api.DefaultRefuseSeconds
	}
	if secs >= maxRefuse.Seconds() {
		return maxRefuse
	}
	return time.Duration(secs * float64(time.Second))
}

// frameworkOptions describes a framework to the allocator.
func frameworkOptions(info api.FrameworkInfo, suppressed []string) allocator.FrameworkOptions {
	opts := allocator.FrameworkOptions{
		Roles:           info.AllRoles(),
		SuppressedRoles: suppressed,
		GPU:             info.HasCapability(api.CapGPUResources),
		Revocable:       info.HasCapability(api.CapRevocableResources),
	}
	for role, filter := range info.OfferFilters {
		if filter.MinAllocatableResources == nil {
			continue
		}
		if opts.MinAllocatable == nil {
			opts.MinAllocatable = map[string][]api.Resources{}
		}
		for _, q := range filter.MinAllocatableResources.Quantities {
			var set api.Resources
			for _, name := range sortedKeys(q.Quantities) {
				set = append(set, api.ScalarResource(name, float64(q.Quantities[name].Value)))
			}
			opts.MinAllocatable[role] = append(opts.MinAllocatable[role], set)
		}
	}
	return opts
}

// readmitAgent tells the allocator about an agent that (re)registered,
// with the resources of the tasks it still runs and of its executors
// (executor.go). m.mu must be held.
func (m *Master) readmitAgent(a *agent) {
	m.alloc.RemoveAgent(a.id)
	m.alloc.AddAgent(a.id, a.total, a.info.Attributes)
	for key, t := range a.tasks {
		if t.resources != nil {
			m.alloc.Allocated(key.framework, a.id, t.role, t.resources)
		}
	}
	for id, e := range a.executors {
		if !e.resources.Empty() {
			m.alloc.Allocated(id.framework, a.id, e.role, e.resources)
		}
	}
	if a.deactivated {
		m.alloc.DeactivateAgent(a.id)
	}
}
