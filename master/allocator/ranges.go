package allocator

import (
	"math"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// Range and set values are kept sorted and coalesced, and never modified
// once built: the functions here return a new slice, nil, or one of their
// arguments, so slots, holdings and filters share them safely. Offers get
// copies: the master owns those.

// normalizeRanges returns in sorted and coalesced in a new slice, dropping
// ranges whose Begin exceeds their End; nil when nothing is left.
func normalizeRanges(in []api.Range) []api.Range {
	var out []api.Range
	for _, r := range in {
		if r.Begin <= r.End {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b api.Range) int {
		switch {
		case a.Begin < b.Begin:
			return -1
		case a.Begin > b.Begin:
			return 1
		}
		return 0
	})
	return coalesceSorted(out)
}

// coalesceSorted merges overlapping and adjacent ranges of the sorted rs in
// place and returns the shortened slice.
func coalesceSorted(rs []api.Range) []api.Range {
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// rangesUnion returns a ∪ b; when one of them is empty, the other itself.
func rangesUnion(a, b []api.Range) []api.Range {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	all := make([]api.Range, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].Begin <= b[j].Begin) {
			all = append(all, a[i])
			i++
		} else {
			all = append(all, b[j])
			j++
		}
	}
	return coalesceSorted(all)
}

// rangesMinus returns a \ b; a itself when b is empty.
func rangesMinus(a, b []api.Range) []api.Range {
	if len(b) == 0 {
		return a
	}
	var out []api.Range
	j := 0
	for _, r := range a {
		for j < len(b) && b[j].End < r.Begin {
			j++
		}
		out = appendRangeMinus(out, r, b[j:])
	}
	return out
}

// appendRangeMinus appends to out what is left of r after taking away the
// sorted ranges b, none of which ends before r begins.
func appendRangeMinus(out []api.Range, r api.Range, b []api.Range) []api.Range {
	for _, cut := range b {
		if cut.Begin > r.End {
			break
		}
		if cut.Begin > r.Begin {
			out = append(out, api.Range{Begin: r.Begin, End: cut.Begin - 1})
		}
		if cut.End >= r.End {
			return out
		}
		r.Begin = cut.End + 1
	}
	return append(out, r)
}

// rangesLeft returns free \ taken. Why the shortcut: offers take all the
// free ranges of a slot, and recognising that by identity spares reading
// them, a cache miss per agent in a full pass.
func rangesLeft(free, taken []api.Range) []api.Range {
	if len(free) > 0 && len(free) == len(taken) && &free[0] == &taken[0] {
		return nil
	}
	return rangesMinus(free, taken)
}

// rangesReturned returns the free ranges of a slot with total ranges
// total after back comes back to free: (free ∪ back) ∩ total, and total
// itself when everything is free again.
func rangesReturned(free, back, total []api.Range) []api.Range {
	u := rangesUnion(free, back)
	if slices.Equal(u, total) {
		return total
	}
	return rangesIntersect(u, total)
}

// rangesIntersect returns a ∩ b.
func rangesIntersect(a, b []api.Range) []api.Range {
	return rangesMinus(a, rangesMinus(a, b))
}

// rangesContain reports whether a ⊇ b.
func rangesContain(a, b []api.Range) bool {
	i := 0
	for _, r := range b {
		for i < len(a) && a[i].End < r.Begin {
			i++
		}
		if i == len(a) || a[i].Begin > r.Begin || a[i].End < r.End {
			return false
		}
	}
	return true
}

// rangesCount returns how many values rs holds, in thousandths so that it
// compares with scalar minimums, saturating at maxMillis.
func rangesCount(rs []api.Range) int64 {
	const limit = uint64(maxMillis / 1000)
	var n uint64
	for _, r := range rs {
		d := uint64(r.End - r.Begin)
		if d >= limit || n+d+1 >= limit {
			return maxMillis
		}
		n += d + 1
	}
	return int64(n) * 1000
}

// normalizeItems returns items sorted and without duplicates in a new slice;
// nil when empty.
func normalizeItems(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(items)))
}

// itemsUnion returns a ∪ b for sorted, duplicate-free a and b; when one
// of them is empty, the other itself.
func itemsUnion(a, b []string) []string {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return normalizeItems(append(slices.Clone(a), b...))
}

// itemsMinus returns a \ b for sorted a and b.
func itemsMinus(a, b []string) []string {
	var out []string
	for _, it := range a {
		if _, found := slices.BinarySearch(b, it); !found {
			out = append(out, it)
		}
	}
	return out
}

// itemsContain reports whether a ⊇ b for sorted a and b.
func itemsContain(a, b []string) bool {
	for _, it := range b {
		if _, found := slices.BinarySearch(a, it); !found {
			return false
		}
	}
	return true
}

// itemsIntersect returns a ∩ b for sorted a and b.
func itemsIntersect(a, b []string) []string {
	var out []string
	for _, it := range a {
		if _, found := slices.BinarySearch(b, it); found {
			out = append(out, it)
		}
	}
	return out
}
