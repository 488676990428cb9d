package allocator

import (
	"math"

	"github.com/mezzo-cluster/mezzo/api"
)

// maxMillis is api.MaxScalar in thousandths; sums saturate at it.
const maxMillis = int64(api.MaxScalar * 1000)

// valueKind says which field of an amount a slot uses.
type valueKind uint8

const (
	scalarKind valueKind = iota
	rangesKind
	setKind
)

// amount is a quantity of one slot: thousandths for scalars, values for
// ranges and sets. The zero amount is nothing.
type amount struct {
	millis int64
	ranges []api.Range
	items  []string
}

// zero reports whether x holds nothing.
func (x *amount) zero() bool { return x.millis == 0 && len(x.ranges) == 0 && len(x.items) == 0 }

// valueOf reads r's value; ok is false when r has none usable.
func valueOf(r *api.Resource) (x amount, vk valueKind, ok bool) {
	switch {
	case r.Type == api.SCALAR && r.Scalar != nil:
		x.millis = toMillis(float64(r.Scalar.Value))
		return x, scalarKind, x.millis > 0
	case r.Type == api.RANGES && r.Ranges != nil:
		x.ranges = normalizeRanges(r.Ranges.Range)
		return x, rangesKind, len(x.ranges) > 0
	case r.Type == api.SET && r.Set != nil:
		x.items = normalizeItems(r.Set.Item)
		return x, setKind, len(x.items) > 0
	}
	return x, 0, false
}

// toMillis converts a scalar to thousandths as api does (rounded half away
// from zero), clamped to [0, maxMillis].
func toMillis(v float64) int64 {
	m := math.Round(v * 1000)
	switch {
	case math.IsNaN(m) || m <= 0:
		return 0
	case m > float64(maxMillis):
		return maxMillis
	}
	return int64(m)
}

// addTo adds x to *dst for a slot of kind vk, saturating scalars.
func addTo(dst *amount, x *amount, vk valueKind) {
	switch vk {
	case scalarKind:
		dst.millis = min(dst.millis+x.millis, maxMillis)
	case rangesKind:
		dst.ranges = rangesUnion(dst.ranges, x.ranges)
	case setKind:
		dst.items = itemsUnion(dst.items, x.items)
	}
}

// covers reports whether have holds all of want for a slot of kind vk.
func covers(have, want *amount, vk valueKind) bool {
	switch vk {
	case scalarKind:
		return want.millis <= have.millis
	case rangesKind:
		return rangesContain(have.ranges, want.ranges)
	}
	return itemsContain(have.items, want.items)
}

// cloneAmounts returns a copy of v that shares only immutable values.
func cloneAmounts(v []amount) []amount { return append([]amount(nil), v...) }
