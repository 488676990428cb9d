package master

import (
	"fmt"
	"sort"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// offer is an outstanding offer. Fields are guarded by Master.mu.
type offer struct {
	id        string
	framework string
	agent     string
	role      string
	resources api.Resources // unallocated form
}

// minAllocatable is Mesos's default --min_allocatable_resources
// (cpus:0.01|mem:32): an offer smaller than both is not worth making.
func minAllocatable(r api.Resources) bool {
	return r.ScalarValue("cpus") >= 0.01 || r.ScalarValue("mem") >= 32
}

// allocatePass offers every connected agent's free resources to the
// connected frameworks in turn. It is the simple offer loop of the
// foundation; the DRF allocator replaces the choice of framework.
func (m *Master) allocatePass(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var fws []*framework
	for _, f := range m.frameworks {
		if _, ok := f.offerRole(); ok && f.connected() {
			fws = append(fws, f)
		}
	}
	if len(fws) == 0 {
		return
	}
	sort.Slice(fws, func(i, j int) bool { return fws[i].id < fws[j].id })
	ids := make([]string, 0, len(m.agents))
	for id, a := range m.agents {
		if a.connected() && !a.unreachable {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	batches := map[*framework][]api.Offer{}
	for _, id := range ids {
		a := m.agents[id]
		free := a.free()
		if !minAllocatable(free) {
			continue
		}
		for i := range fws {
			f := fws[(m.rrCursor+i)%len(fws)]
			if until, ok := f.refused[a.id]; ok && now.Before(until) {
				continue
			}
			role, _ := f.offerRole()
			res := free.AllocatableTo(role)
			if !minAllocatable(res) {
				continue
			}
			o := m.newOffer(f, a, role, res)
			batches[f] = append(batches[f], m.wireOffer(f, a, o))
			m.rrCursor = (m.rrCursor + i + 1) % len(fws)
			break
		}
	}
	for f, offers := range batches {
		f.send(api.Event{Type: api.EventOffers, Offers: &api.Offers{Offers: offers}})
	}
}

// newOffer records an offer of res on a to f. m.mu must be held.
func (m *Master) newOffer(f *framework, a *agent, role string, res api.Resources) *offer {
	m.nextOffer++
	o := &offer{
		id:        fmt.Sprintf("%s-O%d", m.id, m.nextOffer),
		framework: f.id,
		agent:     a.id,
		role:      role,
		resources: res,
	}
	m.offers[o.id] = o
	f.offers[o.id] = o
	a.offered = a.offered.Plus(res)
	return o
}

// wireOffer formats an offer for f: allocation_info only for MULTI_ROLE
// frameworks, and "*" on unreserved resources in the pre-refinement form.
func (m *Master) wireOffer(f *framework, a *agent, o *offer) api.Offer {
	multi := f.info.HasCapability(api.CapMultiRole)
	res := make([]api.Resource, 0, len(o.resources))
	for _, r := range o.resources {
		if r.Role == "" {
			r.Role = "*"
		}
		r.AllocationInfo = nil
		if multi {
			r.AllocationInfo = &api.AllocationInfo{Role: o.role}
		}
		res = append(res, r)
	}
	w := api.Offer{
		ID:          api.OfferID{Value: o.id},
		FrameworkID: api.FrameworkID{Value: f.id},
		AgentID:     api.AgentID{Value: a.id},
		Hostname:    a.info.Hostname,
		URL:         a.url(),
		Domain:      a.info.Domain,
		Resources:   res,
		Attributes:  a.info.Attributes,
	}
	if multi {
		w.AllocationInfo = &api.AllocationInfo{Role: o.role}
	}
	return w
}

// removeOffer forgets an offer and returns its resources to the agent's
// free pool. m.mu must be held.
func (m *Master) removeOffer(o *offer) {
	delete(m.offers, o.id)
	if f := m.frameworks[o.framework]; f != nil {
		delete(f.offers, o.id)
	}
	if a := m.agents[o.agent]; a != nil {
		a.offered = a.offered.Minus(o.resources)
	}
}

// rescindOffer withdraws an offer and tells its framework. m.mu must be
// held.
func (m *Master) rescindOffer(o *offer) {
	m.removeOffer(o)
	if f := m.frameworks[o.framework]; f != nil {
		f.send(api.Event{Type: api.EventRescind, Rescind: &api.Rescind{OfferID: api.OfferID{Value: o.id}}})
	}
}
