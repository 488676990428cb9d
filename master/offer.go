package master

import (
	"encoding/json"
	"fmt"
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
	made      time.Time
}

// newOffer records an offer of res on a to f. res must be normalized, as
// the allocator's offers and package api's results are. m.mu must be held.
func (m *Master) newOffer(f *framework, a *agent, role string, res api.Resources, now time.Time) *offer {
	m.nextOffer++
	o := &offer{
		id:        fmt.Sprintf("%s-O%d", m.id, m.nextOffer),
		framework: f.id,
		agent:     a.id,
		role:      role,
		resources: res,
		made:      now,
	}
	m.offers[o.id] = o
	f.offers[o.id] = o
	if len(a.offered) == 0 {
		// Most agents are offered once per pass, and res is normalized
		// and never changed in place: taking it as it is saves summing
		// (validating, copying) the resources of every offer.
		a.offered = res
	} else {
		a.offered = a.offered.Plus(res)
	}
	return o
}

// wireOffer formats an offer for f: allocation_info only for MULTI_ROLE
// frameworks, and "*" on unreserved resources in the pre-refinement form.
// m.mu must be held.
func (m *Master) wireOffer(f *framework, a *agent, o *offer) api.Offer {
	return m.draftOffer(f, a, o).wire()
}

// offerDraft is an offer's wire form but for its resources: what needs the
// master's state is copied with the lock held, and the rest — copying and
// marking every resource, then encoding, most of the work when a pass
// offers tens of thousands of agents — is done by the stream's writer
// without it.
type offerDraft struct {
	offer     api.Offer
	resources api.Resources // unallocated form, never changed in place
	role      string
	multi     bool
}

// draftOffer copies what o's wire form needs of the master's state. m.mu
// must be held.
func (m *Master) draftOffer(f *framework, a *agent, o *offer) offerDraft {
	return offerDraft{
		offer: api.Offer{
			ID:             api.OfferID{Value: o.id},
			FrameworkID:    api.FrameworkID{Value: f.id},
			AgentID:        api.AgentID{Value: a.id},
			Hostname:       a.info.Hostname,
			URL:            a.url(m.cfg.scheme()),
			Domain:         a.info.Domain,
			Attributes:     a.info.Attributes,
			Unavailability: m.unavailability(a),
		},
		resources: o.resources,
		role:      o.role,
		multi:     f.info.HasCapability(api.CapMultiRole),
	}
}

// wire returns the offer's wire form. It reads nothing of the master's.
func (d offerDraft) wire() api.Offer {
	w := d.offer
	w.Resources = make([]api.Resource, 0, len(d.resources))
	for _, r := range d.resources {
		if r.Role == "" {
			r.Role = "*"
		}
		r.AllocationInfo = nil
		if d.multi {
			r.AllocationInfo = &api.AllocationInfo{Role: d.role}
		}
		w.Resources = append(w.Resources, r)
	}
	if d.multi {
		w.AllocationInfo = &api.AllocationInfo{Role: d.role}
	}
	return w
}

// encodeOffers encodes one OFFERS event of drafts.
func encodeOffers(drafts []offerDraft) ([]byte, error) {
	offers := make([]api.Offer, len(drafts))
	for i, d := range drafts {
		offers[i] = d.wire()
	}
	return json.Marshal(api.Event{Type: api.EventOffers, Offers: &api.Offers{Offers: offers}})
}

// removeOffer forgets an offer and gives its resources back to the
// allocator, refusing them to the framework for refuse. m.mu must be held.
func (m *Master) removeOffer(o *offer, refuse time.Duration, now time.Time) {
	m.dropOffer(o)
	m.alloc.Recover(o.framework, o.agent, o.role, o.resources, refuse, now)
	m.agentFreed(o.agent)
}

// dropOffer forgets an offer without giving its resources back: an ACCEPT
// turns them into tasks. m.mu must be held.
func (m *Master) dropOffer(o *offer) {
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
func (m *Master) rescindOffer(o *offer, now time.Time) {
	m.removeOffer(o, 0, now)
	m.metrics.offers.WithLabelValues("rescinded").Inc()
	if f := m.frameworks[o.framework]; f != nil {
		f.send(api.Event{Type: api.EventRescind, Rescind: &api.Rescind{OfferID: api.OfferID{Value: o.id}}})
	}
}

// rescindAgentOffers rescinds every outstanding offer of a's resources.
// m.mu must be held.
func (m *Master) rescindAgentOffers(a *agent, now time.Time) {
	for _, o := range m.offers {
		if o.agent == a.id {
			m.rescindOffer(o, now)
		}
	}
}

// expireOffers rescinds offers older than the offer timeout. m.mu must be
// held.
func (m *Master) expireOffers(now time.Time) {
	if m.cfg.OfferTimeout <= 0 {
		return
	}
	for _, o := range m.offers {
		if now.Sub(o.made) >= m.cfg.OfferTimeout {
			m.log.Info("rescinding an offer held past the offer timeout", "offer", o.id, "framework", o.framework)
			m.rescindOffer(o, now)
		}
	}
}
