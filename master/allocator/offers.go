package allocator

import "github.com/mezzo-cluster/mezzo/api"

// bumpChunk is how many values offers' memory is allocated by at once.
// Why chunks: a full pass makes one offer per agent, and one allocation per
// resource would dominate its cost; a chunk stays alive while any offer
// built from it does, which bounds the waste to one chunk per live offer.
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

// build returns v, indexed by ag's slots, as resources allocated to info's
// role.
func (b *builder) build(ag *agent, v []amount, info *api.AllocationInfo) api.Resources {
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
		r.AllocationInfo = info
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
