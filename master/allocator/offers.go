package allocator

import "github.com/mezzo-cluster/mezzo/api"

// bumpChunk is how many values offers' memory is allocated by at once.
// Why chunks: a full pass makes one offer per agent, and one allocation per
// resource would dominate its cost. The price: a chunk stays alive while
// any offer built from it does, so one long-lived offer may keep the
// memory of 256 resources.
const bumpChunk = 256

// bump hands out consecutive slices of a chunk.
type bump[T any] struct{ buf []T }

// take returns a zeroed slice of n values whose capacity is n, so that an
// append by its owner cannot reach a neighbour.
func (b *bump[T]) take(n int) []T {
	if len(b.buf) < n {
		b.buf = make([]T, max(n, bumpChunk))
	}
	s := b.buf[:n:n]
	b.buf = b.buf[n:]
	return s
}

// builder builds offers' resources. The unused end of its chunks is kept
// from pass to pass: nothing refers to it.
type builder struct {
	resources bump[api.Resource]
	scalars   bump[api.Scalar]
	ranges    bump[api.Ranges]
	values    bump[api.Range]
}

// build returns v, indexed by ag's slots, as resources in the unallocated
// form.
func (b *builder) build(ag *agent, v []amount) api.Resources {
	n := 0
	for i := range v {
		if !v[i].zero() {
			n++
		}
	}
	out := b.resources.take(n)[:0]
	for i := range v {
		x, s := &v[i], &ag.slots[i]
		if x.zero() {
			continue
		}
		r := s.res
		switch s.vk {
		case scalarKind:
			sc := &b.scalars.take(1)[0]
			sc.Value = api.Float64(float64(x.millis) / 1000)
			r.Scalar = sc
		case rangesKind:
			rs := &b.ranges.take(1)[0]
			rs.Range = b.values.take(len(x.ranges))
			copy(rs.Range, x.ranges)
			r.Ranges = rs
		case setKind:
			r.Set = &api.Set{Item: append([]string(nil), x.items...)}
		}
		out = append(out, r)
	}
	return out
}

// grant allocates v of ag to m and records the offer. Why build the
// offer here rather than at the end of the pass: the agent's slots are in
// the cache now.
func (a *Allocator) grant(m *membership, ag *agent, v []amount) {
	p := &a.pass
	a.take(m, ag, v)
	m.fw.why.offers.add(p.epoch)
	m.role.why.granted.add(p.epoch)
	if p.merging && a.merge(m, ag, v) {
		return
	}
	if p.merging {
		ag.pend = append(ag.pend, int32(len(p.pending)))
		p.pending = append(p.pending, pending{m: m, out: len(p.out), start: len(p.arena)})
		p.arena = append(p.arena, v...)
	}
	p.out = append(p.out, Offer{
		Framework:  m.fw.id,
		Agent:      ag.id,
		Role:       m.role.name,
		Resources:  p.build.build(ag, v),
		Attributes: ag.attrs,
	})
}

// merge adds v to an offer already made to m on ag in this pass (in stage
// 1, when stage 2 gives more) and reports whether there was one.
func (a *Allocator) merge(m *membership, ag *agent, v []amount) bool {
	p := &a.pass
	if ag.pendPass != p.number {
		ag.pendPass, ag.pend = p.number, ag.pend[:0]
	}
	for _, i := range ag.pend {
		if o := &p.pending[i]; o.m == m {
			merged := p.arena[o.start : o.start+len(ag.slots)]
			for j := range v {
				addTo(&merged[j], &v[j], ag.slots[j].vk)
			}
			p.out[o.out].Resources = p.build.build(ag, merged)
			return true
		}
	}
	return false
}
