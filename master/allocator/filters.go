package allocator

import (
	"container/heap"
	"slices"
	"time"
)

// filter is a refusal filter: until expires, membership m is not offered
// agent ag's resources while they are a subset of refused (Mesos's
// RefusedOfferFilter). A membership may hold several filters for one
// agent, one per refusal; any of them filters.
type filter struct {
	m       *membership
	ag      *agent
	refused []amount // indexed by ag's slots
	expires time.Time
	seq     uint64 // creation order, to break ties in the heap
	heapIdx int
	agPos   int // in ag.filters
}

// covers reports whether f, at now, filters offer v of its agent.
func (f *filter) covers(v []amount, now time.Time) bool {
	if !now.Before(f.expires) {
		return false
	}
	for i := range v {
		if v[i].zero() {
			continue
		}
		if i >= len(f.refused) || !covers(&f.refused[i], &v[i], f.ag.slots[i].vk) {
			return false
		}
	}
	return true
}

// dominates reports whether refusing v refuses everything refusing old
// does, for slots of ag.
func dominates(v, old []amount, ag *agent) bool {
	for i := range old {
		if !old[i].zero() && (i >= len(v) || !covers(&v[i], &old[i], ag.slots[i].vk)) {
			return false
		}
	}
	return true
}

// filtered reports whether a filter of m stops offering v of ag at now.
func (a *Allocator) filtered(m *membership, ag *agent, v []amount, now time.Time) bool {
	if len(m.filters) == 0 {
		return false
	}
	for _, f := range m.filters[ag] {
		if f.covers(v, now) {
			return true
		}
	}
	return false
}

// addFilter installs a filter of m on ag refusing v until expires,
// dropping the filters it makes redundant: those refusing no more, for no
// longer.
func (a *Allocator) addFilter(m *membership, ag *agent, v []amount, expires time.Time) {
	for _, old := range slices.Clone(m.filters[ag]) {
		if !old.expires.After(expires) && dominates(v, old.refused, ag) {
			a.removeFilter(old)
		}
	}
	a.filterSeq++
	f := &filter{m: m, ag: ag, refused: cloneAmounts(v), expires: expires, seq: a.filterSeq}
	if m.filters == nil {
		m.filters = map[*agent][]*filter{}
	}
	m.filters[ag] = append(m.filters[ag], f)
	f.agPos = len(ag.filters)
	ag.filters = append(ag.filters, f)
	heap.Push(&a.filters, f)
}

// removeFilter uninstalls f.
func (a *Allocator) removeFilter(f *filter) {
	m, ag := f.m, f.ag
	list := slices.DeleteFunc(m.filters[ag], func(x *filter) bool { return x == f })
	if len(list) == 0 {
		delete(m.filters, ag)
	} else {
		m.filters[ag] = list
	}
	last := ag.filters[len(ag.filters)-1]
	ag.filters[f.agPos], last.agPos = last, f.agPos
	ag.filters = ag.filters[:len(ag.filters)-1]
	heap.Remove(&a.filters, f.heapIdx)
}

// clearFilters uninstalls every filter of m, as REVIVE does.
func (a *Allocator) clearFilters(m *membership) {
	var all []*filter
	for _, list := range m.filters {
		all = append(all, list...)
	}
	for _, f := range all {
		a.removeFilter(f)
	}
}

// expireFilters uninstalls the filters that have expired by now.
func (a *Allocator) expireFilters(now time.Time) {
	for len(a.filters) > 0 && !now.Before(a.filters[0].expires) {
		a.removeFilter(a.filters[0])
	}
}

// filterHeap orders filters by expiry, for expireFilters.
type filterHeap []*filter

func (h filterHeap) Len() int { return len(h) }

func (h filterHeap) Less(i, j int) bool {
	if !h[i].expires.Equal(h[j].expires) {
		return h[i].expires.Before(h[j].expires)
	}
	return h[i].seq < h[j].seq
}

func (h filterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h *filterHeap) Push(x any) {
	f := x.(*filter)
	f.heapIdx = len(*h)
	*h = append(*h, f)
}

func (h *filterHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}
