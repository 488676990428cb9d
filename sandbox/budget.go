package sandbox

import "time"

// minCheck is the shortest interval between two checks of a task's CPU
// time against its budget.
const minCheck = time.Millisecond

// watchCPU stops p with ReasonCPULimit once its CPU time passes its
// budget, and returns a function that ends the watch. The guest's thread
// must be locked and its clock started.
//
// A thread's CPU time never runs ahead of wall time, so the budget cannot
// be spent before the rest of it has passed in wall time: the watch
// sleeps that long between two looks at the clock, and at least
// minCheck. A guest that has its CPU to itself is looked at about when
// its budget runs out, and one that shares it less often.
func (p *wasmProcess) watchCPU() (cancel func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTimer(p.budget)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if p.overBudget() {
				return
			}
			used, ok := p.cpuTime()
			if !ok {
				return
			}
			t.Reset(max(p.budget-used, minCheck))
		}
	}()
	return func() { close(done) }
}

// cpuTime returns the guest's CPU time so far, and false once it has
// ended.
func (p *wasmProcess) cpuTime() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended || !p.timing {
		return 0, false
	}
	return time.Duration(p.clock.seconds() * 1e9), true
}

// overBudget stops p with ReasonCPULimit if its budget is spent, and
// says whether it is.
func (p *wasmProcess) overBudget() bool {
	used, ok := p.cpuTime()
	if ok && used >= p.budget {
		p.stop(ReasonCPULimit)
		return true
	}
	return false
}
