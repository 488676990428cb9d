package allocator

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// t0 is the time tests start at.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// res parses resources in the agent flag syntax or fails the test.
func res(tb testing.TB, s string) api.Resources {
	tb.Helper()
	r, err := api.ParseResources(s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return r
}

// roles returns FrameworkOptions for the given roles.
func roles(names ...string) FrameworkOptions { return FrameworkOptions{Roles: names} }

// describe prints offers one per line, "fw agent role resources", sorted,
// with resources in canonical order and without allocation info.
func describe(offers []Offer) string {
	lines := make([]string, len(offers))
	for i, o := range offers {
		lines[i] = fmt.Sprintf("%s %s %s %s", o.Framework, o.Agent, o.Role, o.Resources.Unallocated())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// scalar sums a scalar over offers to one framework ("" for all).
func scalar(offers []Offer, framework, name string) float64 {
	var sum float64
	for _, o := range offers {
		if framework == "" || o.Framework == framework {
			sum += o.Resources.ScalarValue(name)
		}
	}
	return sum
}

// recoverAll returns every offer to the allocator with the given filter.
func recoverAll(a *Allocator, offers []Offer, refuse time.Duration, now time.Time) {
	for _, o := range offers {
		a.Recover(o.Framework, o.Agent, o.Role, o.Resources, refuse, now)
	}
}

// checkUnallocated fails when an offer's resources are not normalized or
// carry an allocation: offers come in the unallocated form, normalized.
func checkUnallocated(t *testing.T, offers []Offer) {
	t.Helper()
	for _, o := range offers {
		if norm := api.NewResources(o.Resources...); !reflect.DeepEqual(o.Resources, norm) {
			t.Fatalf("offer to %s in %s: resources %#v are not normalized (%#v)", o.Framework, o.Role, o.Resources, norm)
		}
		for _, r := range o.Resources {
			if r.AllocationInfo != nil {
				t.Fatalf("offer to %s in %s: resource %s has allocation %v", o.Framework, o.Role, r, r.AllocationInfo)
			}
		}
	}
}
