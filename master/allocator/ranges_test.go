package allocator

import (
	"math"
	"slices"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// rs builds ranges from begin, end pairs.
func rs(pairs ...uint64) []api.Range {
	var out []api.Range
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, api.Range{Begin: api.Uint64(pairs[i]), End: api.Uint64(pairs[i+1])})
	}
	return out
}

func TestRanges(t *testing.T) {
	tests := []struct {
		name       string
		a, b       []api.Range
		union      []api.Range
		minus      []api.Range
		intersect  []api.Range
		aContainsB bool
	}{
		{name: "empty", aContainsB: true},
		{name: "b empty", a: rs(1, 5), union: rs(1, 5), minus: rs(1, 5), aContainsB: true},
		{name: "a empty", b: rs(1, 5), union: rs(1, 5)},
		{name: "disjoint", a: rs(1, 5), b: rs(10, 12), union: rs(1, 5, 10, 12), minus: rs(1, 5)},
		{name: "adjacent", a: rs(1, 5), b: rs(6, 8), union: rs(1, 8), minus: rs(1, 5)},
		{
			name: "hole", a: rs(1, 10), b: rs(4, 6), union: rs(1, 10), minus: rs(1, 3, 7, 10),
			intersect: rs(4, 6), aContainsB: true,
		},
		{
			name: "overlap", a: rs(1, 5, 10, 20), b: rs(4, 12), union: rs(1, 20), minus: rs(1, 3, 13, 20),
			intersect: rs(4, 5, 10, 12),
		},
		{
			name: "top of the range", a: rs(0, math.MaxUint64), b: rs(math.MaxUint64, math.MaxUint64),
			union: rs(0, math.MaxUint64), minus: rs(0, math.MaxUint64-1),
			intersect: rs(math.MaxUint64, math.MaxUint64), aContainsB: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rangesUnion(tt.a, tt.b); !slices.Equal(got, tt.union) {
				t.Errorf("union = %v, want %v", got, tt.union)
			}
			if got := rangesMinus(tt.a, tt.b); !slices.Equal(got, tt.minus) {
				t.Errorf("minus = %v, want %v", got, tt.minus)
			}
			if got := rangesIntersect(tt.a, tt.b); !slices.Equal(got, tt.intersect) {
				t.Errorf("intersect = %v, want %v", got, tt.intersect)
			}
			if got := rangesContain(tt.a, tt.b); got != tt.aContainsB {
				t.Errorf("contains = %v, want %v", got, tt.aContainsB)
			}
		})
	}
}

func TestNormalizeRanges(t *testing.T) {
	got := normalizeRanges(rs(10, 12, 1, 3, 5, 4, 4, 9))
	if want := rs(1, 12); !slices.Equal(got, want) {
		t.Errorf("normalizeRanges = %v, want %v", got, want)
	}
	if got := rangesCount(rs(1, 10, 20, 20)); got != 11000 {
		t.Errorf("rangesCount = %d, want 11000", got)
	}
	if got := rangesCount(rs(0, math.MaxUint64)); got != maxMillis {
		t.Errorf("rangesCount of everything = %d, want %d", got, maxMillis)
	}
}

func TestItems(t *testing.T) {
	a, b := normalizeItems([]string{"c", "a", "b", "a"}), []string{"b", "d"}
	if got, want := itemsUnion(a, b), []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("union = %v, want %v", got, want)
	}
	if got, want := itemsMinus(a, b), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("minus = %v, want %v", got, want)
	}
	if got, want := itemsIntersect(a, b), []string{"b"}; !slices.Equal(got, want) {
		t.Errorf("intersect = %v, want %v", got, want)
	}
	if itemsContain(a, b) || !itemsContain(a, []string{"a", "c"}) {
		t.Error("itemsContain is wrong")
	}
}
