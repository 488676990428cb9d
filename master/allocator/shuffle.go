package allocator

import "slices"

// shuffleBlock is how many agents, consecutive in the allocator's list,
// are visited together.
const shuffleBlock = 64

// shuffle puts agents in a pseudo-random order that depends only on the
// configured seed, the pass number and the order given, so that no agent
// is always visited first and a replay visits them in the same order.
//
// Blocks of consecutive agents are shuffled, and each block is rotated by
// a random amount. Why not a full shuffle: agents are laid out in memory
// roughly in the order they were added, and a pass that walks a block in
// order finds the next agent already in the cache, where a full shuffle
// misses the cache on every agent, about a third of a pass's time on a
// large cluster. Why not math/rand's global source: its state is shared
// and seeded at random, which would make passes unrepeatable.
func (a *Allocator) shuffle(agents []*agent) {
	x := a.cfg.Seed ^ mix64(a.pass.number)
	next := func(n int) int {
		x += 0x9e3779b97f4a7c15
		return int((mix64(x) >> 32) * uint64(n) >> 32)
	}
	blocks := (len(agents) + shuffleBlock - 1) / shuffleBlock
	if blocks <= 1 {
		rotate(agents, next(max(1, len(agents))))
		return
	}
	perm := a.pass.perm[:0]
	for b := range blocks {
		perm = append(perm, int32(b))
	}
	for i := len(perm) - 1; i > 0; i-- {
		j := next(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	a.pass.perm = perm
	out := append(a.pass.shuffled[:0], agents...)
	a.pass.shuffled = out
	k := 0
	for _, b := range perm {
		blk := out[int(b)*shuffleBlock : min(len(out), (int(b)+1)*shuffleBlock)]
		r := next(len(blk))
		k += copy(agents[k:], blk[r:])
		k += copy(agents[k:], blk[:r])
	}
}

// rotate rotates s left by r.
func rotate(s []*agent, r int) {
	slices.Reverse(s[:r])
	slices.Reverse(s[r:])
	slices.Reverse(s)
}
