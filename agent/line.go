package agent

import "github.com/mezzo-cluster/mezzo/api"

// Each executor has a line of launches (executorRun.prepared): a launch
// reaches its executor after those queued before it, so that the
// executor, which gives its own sandbox to the first task launched alone
// that reaches it (sandbox.TaskDir), places each task where the agent
// placed it (executorRun.taskDir), and so that the launches of one
// LAUNCH event, and those that follow, go out as the master sent them.
// Each LAUNCH also says where the agent placed its task
// (api.ExecutorLaunch.ExecutorSandbox): the order alone cannot, when the
// task placed in the executor's sandbox fails before it is sent; an
// executor started before the agent said so follows the order.
//
// A launch that fetches URIs steps out of the line while it fetches
// (turn.stepOut) and takes a new place at its end once done
// (turn.rejoin): a download may take minutes, or hang until the stall
// timeout (Config.FetcherStallTimeout), and the framework's later tasks,
// which share its executor, must not wait for it (in Mesos each command
// task has an executor of its own, which its fetch alone holds up). Only
// a launch that holds the executor's sandbox (a task placed in
// r.rec.Dir) keeps its place while it fetches: overtaken, the executor
// would give the sandbox to a later task.

// turn is a launch's place in its executor's line. Its methods are
// called on the launch's goroutine only.
type turn struct {
	a *Agent
	r *executorRun
	// before is closed once the launch ahead has been sent (or has
	// stepped out); nil once waited for. mine is closed once this launch
	// has been sent or has stepped out; nil once closed.
	before <-chan struct{}
	mine   chan struct{}
}

// inLine runs launch, which prepare calls, on a goroutine of its own in
// the executor's line of launches: the launch reaches the executor after
// the one queued before it, however their preparations interleave
// (launch must call turn.wait before it sends). The run is held from
// the collector until launch returns (holdRun). a.mu must be held.
func (a *Agent) inLine(r *executorRun, launch func(tn *turn)) {
	tn := a.takeTurn(r)
	a.holdRun(r)
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		defer a.releaseRun(r)
		defer tn.done()
		launch(tn)
	}()
}

// takeTurn makes a place at the end of the executor's line. a.mu must
// be held.
func (a *Agent) takeTurn(r *executorRun) *turn {
	tn := &turn{a: a, r: r, before: r.prepared, mine: make(chan struct{})}
	r.prepared = tn.mine
	return tn
}

// wait blocks until the launches ahead have been sent or have stepped
// out.
func (tn *turn) wait() {
	if tn.before != nil {
		<-tn.before
		tn.before = nil
	}
}

// stepOut lets the launches behind go ahead, once those ahead have: the
// launch is about to fetch, and takes a new place with rejoin after.
func (tn *turn) stepOut() {
	before, mine := tn.before, tn.mine
	tn.before, tn.mine = nil, nil
	if before == nil {
		close(mine)
		return
	}
	tn.a.execWG.Add(1)
	go func() {
		defer tn.a.execWG.Done()
		<-before // closed once the launch ahead is done: every turn ends
		close(mine)
	}()
}

// rejoin takes a new place at the end of the line, after stepOut; the
// caller then waits for it (wait).
func (tn *turn) rejoin() {
	tn.a.mu.Lock()
	defer tn.a.mu.Unlock()
	next := tn.a.takeTurn(tn.r)
	tn.before, tn.mine = next.before, next.mine
}

// done ends the turn: the launch behind may go.
func (tn *turn) done() {
	if tn.mine != nil {
		close(tn.mine)
		tn.mine = nil
	}
}

// fetchesOutOfLine reports whether a launch of tasks steps out of the
// line while it fetches: whether one of them has URIs to fetch, and none
// holds the executor's sandbox (see above). a.mu need not be held: a
// task's dir and info do not change after launchTasks.
func fetchesOutOfLine(r *executorRun, tasks []*execTask) bool {
	fetches := false
	for _, t := range tasks {
		if t.dir == r.rec.Dir {
			return false
		}
		fetches = fetches || hasURIs(t.info)
	}
	return fetches
}

// hasURIs reports whether a task's command has URIs to fetch.
func hasURIs(ti api.TaskInfo) bool {
	return ti.Command != nil && len(ti.Command.URIs) > 0
}
