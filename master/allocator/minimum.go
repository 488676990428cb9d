package allocator

import "github.com/mezzo-cluster/mezzo/api"

// need is a quantity of one resource name, in thousandths (elements of
// ranges and sets count as one each).
type need struct {
	name   int32
	millis int64
}

// minimum is a parsed list of minimum allocatable alternatives: a set of
// resources is worth offering if it holds every need of one alternative.
// No alternatives means any non-empty set is.
type minimum struct {
	alts [][]need
}

// parseMinimum converts alternatives to needs, summing each name over
// roles and kinds.
func (a *Allocator) parseMinimum(alts []api.Resources) minimum {
	var mn minimum
	for _, alt := range alts {
		var needs []need
		for i := range alt {
			x, vk, ok := valueOf(&alt[i])
			if !ok {
				continue
			}
			needs = addNeed(needs, a.nameIndex(alt[i].Name), quantity(&x, vk))
		}
		mn.alts = append(mn.alts, needs)
	}
	return mn
}

// addNeed adds q of name n to needs.
func addNeed(needs []need, n int32, q int64) []need {
	for i := range needs {
		if needs[i].name == n {
			needs[i].millis = min(needs[i].millis+q, maxMillis)
			return needs
		}
	}
	return append(needs, need{name: n, millis: q})
}

// quantity returns how much x holds, in thousandths.
func quantity(x *amount, vk valueKind) int64 {
	switch vk {
	case scalarKind:
		return x.millis
	case rangesKind:
		return rangesCount(x.ranges)
	}
	return min(int64(len(x.items))*1000, maxMillis)
}

// satisfiedBy reports whether v, indexed by ag's slots, is worth offering.
func (mn *minimum) satisfiedBy(ag *agent, v []amount) bool {
	if len(mn.alts) == 0 {
		return true
	}
	for _, alt := range mn.alts {
		if meets(alt, ag, v) {
			return true
		}
	}
	return false
}

// meets reports whether v holds every need of alt.
func meets(alt []need, ag *agent, v []amount) bool {
	for _, nd := range alt {
		var have int64
		for i := range v {
			if s := &ag.slots[i]; s.name == nd.name {
				have += quantity(&v[i], s.vk)
			}
		}
		if have < nd.millis {
			return false
		}
	}
	return true
}

// minimumText prints the alternatives as "cpus:0.01 | mem:32" for Why.
func (a *Allocator) minimumText(mn *minimum) string {
	names := make([]string, len(a.names))
	for name, n := range a.names {
		names[n] = name
	}
	text := ""
	for i, alt := range mn.alts {
		if i > 0 {
			text += " | "
		}
		for j, nd := range alt {
			if j > 0 {
				text += ";"
			}
			text += names[nd.name] + ":" + formatMillis(nd.millis)
		}
	}
	return text
}
