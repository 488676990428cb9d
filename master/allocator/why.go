package allocator

import (
	"fmt"
	"strconv"
)

// tally counts events of one epoch (a full pass and the incremental
// passes after it); it reads as zero once another epoch has begun, so
// counters never need resetting.
type tally struct {
	epoch uint64
	n     int
}

// add counts one event of the given epoch.
func (t *tally) add(epoch uint64) {
	if t.epoch != epoch {
		t.epoch, t.n = epoch, 0
	}
	t.n++
}

// get returns the count for the given epoch.
func (t *tally) get(epoch uint64) int {
	if t.epoch != epoch {
		return 0
	}
	return t.n
}

// frameworkWhy counts, per epoch, what happened to a framework.
type frameworkWhy struct {
	offers tally // offers made to it
	gpu    tally // GPU agents skipped for lack of GPU_RESOURCES
}

// memberWhy counts, per epoch, why a framework's role was passed over.
type memberWhy struct {
	filtered tally // agents skipped by refusal filters
	belowMin tally // agents below its own minimum allocatable
}

// roleWhy counts, per epoch, what happened to a role on the agents visited.
type roleWhy struct {
	visited  tally // agents where the role's turn came
	granted  tally // offers made to the role
	capped   tally // offers made to the role but cut to its quota limits
	noFree   tally // agents with nothing free the role may use
	reserved tally // agents whose free resources were all reserved for other roles
	belowMin tally // agents whose free resources were below the minimum
	limit    tally // agents where its quota limit left nothing
	headroom tally // agents where headroom for guarantees left nothing
}

// Why explains in short sentences why recent allocation passes gave a
// framework nothing: inactive, suppressed, filtered, below the minimum
// allocatable, quota, resources reserved for other roles, GPU filtering,
// or lower shares served first. When the framework did get offers it says
// whether quota limits cut them (offers too small for its tasks are then
// declined), and returns nil if nothing did. "Recent" is the last full
// pass (Allocate) and the incremental passes (AllocateAgents) since; the
// counts are of agents visited in them. The sentences are built on each
// call; the counting during passes is a few increments.
func (a *Allocator) Why(frameworkID string) []string {
	f := a.frameworks[frameworkID]
	pass := a.pass.epoch
	switch {
	case f == nil:
		return []string{"the framework is not known to the allocator"}
	case !f.active:
		return []string{"the framework is inactive (disconnected): inactive frameworks get no offers"}
	case a.pass.number == 0:
		return []string{"no allocation pass has run yet"}
	case f.why.offers.get(pass) > 0:
		return a.whyCapped(f)
	case a.pass.visited == 0:
		return []string{"the last passes found no active agent with free resources"}
	}
	var out []string
	subscribed := false
	for _, m := range f.members {
		if m.subscribed {
			subscribed = true
			out = append(out, a.whyMember(m)...)
		}
	}
	if n := f.why.gpu.get(pass); n > 0 {
		out = append(out, fmt.Sprintf("%s with GPUs skipped: the framework lacks the GPU_RESOURCES capability", agents(n)))
	}
	switch {
	case !subscribed:
		return []string{"the framework has no roles"}
	case len(out) == 0:
		return []string{"the last passes found nothing the framework may use"}
	}
	return out
}

// whyCapped explains, for a framework that got offers, which of its
// roles had offers cut to their quota limits in the current epoch.
func (a *Allocator) whyCapped(f *framework) []string {
	var out []string
	for _, m := range f.members {
		if n := m.role.why.capped.get(a.pass.epoch); m.subscribed && n > 0 {
			out = append(out, fmt.Sprintf("role %s: offers on %s were cut to the quota limits of the role (or of a parent role); tasks larger than what is left under them cannot launch",
				m.role.name, agents(n)))
		}
	}
	return out
}

// whyMember explains why m got nothing in the current epoch.
func (a *Allocator) whyMember(m *membership) []string {
	r, pass := m.role, a.pass.epoch
	if m.suppressed {
		return []string{fmt.Sprintf("role %s is suppressed: no offers until REVIVE", r.name)}
	}
	var out []string
	say := func(n int, format string, args ...any) {
		if n > 0 {
			out = append(out, fmt.Sprintf("role %s: "+format, append([]any{r.name, agents(n)}, args...)...))
		}
	}
	say(m.why.filtered.get(pass), "%s skipped by refusal filters (declined offers; they expire, or REVIVE clears them)")
	if m.min != nil {
		say(m.why.belowMin.get(pass), "%s had less free than the framework's minimum allocatable (%s)", a.minimumText(m.min))
	} else {
		say(r.why.belowMin.get(pass), "%s had less free than the minimum allocatable (%s)", a.minimumText(&a.cfgMin))
	}
	say(r.why.limit.get(pass), "on %s nothing was offered because the role is at its quota limit")
	say(r.why.headroom.get(pass), "on %s unreserved resources were held back for other roles' quota guarantees")
	say(r.why.granted.get(pass), "%s went to frameworks of the role with lower dominant shares")
	if len(out) == 0 && r.why.visited.get(pass) == 0 {
		out = append(out, fmt.Sprintf("role %s: the free resources went to roles with lower weighted dominant shares", r.name))
	}
	say(r.why.reserved.get(pass), "%s had free resources only reserved for other roles")
	say(r.why.noFree.get(pass), "%s had nothing free the role may use")
	return out
}

// agents returns "1 agent" or "n agents".
func agents(n int) string {
	if n == 1 {
		return "1 agent"
	}
	return strconv.Itoa(n) + " agents"
}

// formatMillis prints thousandths as a decimal without trailing zeros.
func formatMillis(m int64) string {
	return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64)
}
