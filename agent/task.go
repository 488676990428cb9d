package agent

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// The agent runs no task itself: each runs in an executor process (see
// executors.go and RATIONALE.md, "Why are executors separate
// processes?"). A command or Wasm task launched alone runs in its
// framework's shared executor (one per framework on the agent, started on
// the first such launch and shut down after Config.ExecutorIdleTimeout
// without tasks), except a Wasm task on wazero, which gets an executor of
// its own (RATIONALE.md, "Why do wazero tasks get an executor of their
// own?"); a task group, and a task with an ExecutorInfo, run in the
// executor it names.

// launch hands the tasks of a LAUNCH event to their executors, starting
// those that do not run yet.
func (a *Agent) launch(l *api.AgentLaunch) {
	fw := ""
	if l.FrameworkInfo.ID != nil {
		fw = l.FrameworkInfo.ID.Value
	}
	if l.TaskGroup != nil && l.Executor != nil {
		if !a.refuseNative(fw, l.Executor, l.TaskGroup.Tasks) {
			a.launchTasks(fw, l.FrameworkInfo, l.Executor, l.TaskGroup.Tasks, true)
		}
		return
	}
	// The shared executor's tasks go as one batch: one checkpoint, one
	// wait for the disk, their LAUNCHes in order.
	var shared []api.TaskInfo
	for _, ti := range l.Tasks {
		if a.refuseNative(fw, ti.Executor, []api.TaskInfo{ti}) {
			continue
		}
		info := ti.Executor
		if info == nil && !a.ownExecutor(ti) {
			shared = append(shared, ti)
			continue
		}
		if info == nil {
			info = &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: ti.TaskID.Value}, FrameworkID: &api.FrameworkID{Value: fw}}
		}
		a.launchTasks(fw, l.FrameworkInfo, info, []api.TaskInfo{ti}, false)
	}
	if len(shared) > 0 {
		a.launchTasks(fw, l.FrameworkInfo, nil, shared, false)
	}
}

// refuseNative fails the tasks, all of them, and reports true when they
// need native code (a native task, a Wasm task's command check, or a
// custom executor, which is a program of the framework's) and the agent
// does not run native code (Config.AllowNative).
func (a *Agent) refuseNative(fw string, info *api.ExecutorInfo, tasks []api.TaskInfo) bool {
	if a.cfg.AllowNative {
		return false
	}
	native := info != nil && info.Command != nil
	for i := range tasks {
		native = native || tasks[i].RunsNativeCode()
	}
	if !native {
		return false
	}
	for _, ti := range tasks {
		a.report(fw, api.TaskStatus{TaskID: ti.TaskID, State: api.TaskError, Source: api.SourceAgent,
			Reason: api.ReasonTaskUnauthorized, Message: "This agent runs WebAssembly tasks only; native tasks, command checks and custom executors need an agent started with --allow-native"})
	}
	if info != nil {
		// The master counted the executor at the launch: it never runs.
		a.mu.Lock()
		_, runs := a.executors[execKey{fw, info.ExecutorID.Value}]
		a.mu.Unlock()
		if !runs {
			a.reportExecutorExited(execKey{fw, info.ExecutorID.Value}, nil)
		}
	}
	return true
}

// ownExecutor reports whether a task that names no executor runs in an
// executor of its own rather than its framework's shared one: a Wasm task
// on wazero, which cannot stop every runaway guest in-process, so that
// only its own executor dies when the agent stops it.
func (a *Agent) ownExecutor(ti api.TaskInfo) bool {
	return ti.IsWasm() && a.engineOf(ti) == sandbox.Wazero
}

// engineOf is the engine a Wasm task runs on: the one it names, else the
// agent's default (Config.WasmEngine), else the sandbox's.
func (a *Agent) engineOf(ti api.TaskInfo) string {
	engine := ti.Container.Wasm.Engine
	if engine == "" {
		engine = a.cfg.WasmEngine
	}
	if engine == "" {
		engine = sandbox.Engines()[0]
	}
	return engine
}

// launchTasks records tasks under their executor — the one info names,
// or the framework's shared executor when info is nil — and prepares
// their launch on a goroutine of its own: a task the agent already runs
// is ignored, so that nothing runs twice.
func (a *Agent) launchTasks(fw string, fwInfo api.FrameworkInfo, info *api.ExecutorInfo, infos []api.TaskInfo, grouped bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var fresh []*execTask
	for _, ti := range infos {
		if _, dup := a.taskIndex[taskKey{fw, ti.TaskID.Value}]; dup {
			a.log.Warn("ignoring duplicate launch", "framework", fw, "task", ti.TaskID.Value)
			continue
		}
		t := &execTask{info: a.withUser(&fwInfo, ti), state: api.TaskStaging}
		t.need = a.needOf(t.info)
		fresh = append(fresh, t)
	}
	if len(fresh) == 0 {
		return
	}
	var r *executorRun
	if info == nil {
		r = a.shared[fw]
	} else {
		r = a.executors[execKey{fw, info.ExecutorID.Value}]
	}
	if a.stopping || (info != nil && r != nil && r.shutdown) {
		for _, t := range fresh {
			a.report(fw, api.TaskStatus{TaskID: t.info.TaskID, State: api.TaskFailed, Source: api.SourceAgent,
				Reason: api.ReasonContainerLaunchFailed, Message: "The executor or the agent is shutting down"})
		}
		return
	}
	if r == nil || r.shutdown {
		r = a.newRunFor(fw, fwInfo, info)
	}
	if r.idle != nil {
		r.idle.Stop()
	}
	for _, t := range fresh {
		id := t.info.TaskID.Value
		// A task run as a user gets a directory of its own (a task's
		// user never owns the executor's sandbox, where root writes);
		// the executor places it by the same rule.
		t.dir = r.taskDir(id, grouped || t.info.RunsAsUser())
		r.add(t)
		if grouped {
			t.group = fresh[0].index + 1
		}
		a.taskIndex[taskKey{fw, id}] = r
	}
	// A task launched alone may reach its executor before its checkpoint
	// is on disk: after a crash, the executor's SUBSCRIBE lists it and the
	// agent adopts it (adoptListed), in tasks/<task ID>. A group's members,
	// and a task that runs in the executor's own sandbox, must be on disk
	// first: adopted, they would be given the wrong sandbox.
	lazy := !grouped
	for _, t := range fresh {
		lazy = lazy && t.dir != r.rec.Dir
	}
	var launched *write
	if lazy {
		a.checkpointLazy(r)
	} else {
		launched = a.checkpoint(r)
	}
	if !lazy {
		a.inLine(r, func(tn *turn) { a.prepare(r, fresh, grouped, tn, launched) })
		return
	}
	// A task that fetches URIs is launched on its own, after the others,
	// so that those of the batch that need no download do not wait for
	// it (line.go).
	var ready, fetching []*execTask
	for _, t := range fresh {
		if hasURIs(t.info) {
			fetching = append(fetching, t)
		} else {
			ready = append(ready, t)
		}
	}
	if len(ready) > 0 {
		a.inLine(r, func(tn *turn) { a.prepare(r, ready, false, tn, nil) })
	}
	for _, t := range fetching {
		a.inLine(r, func(tn *turn) { a.prepare(r, []*execTask{t}, false, tn, nil) })
	}
}

// newRunFor makes and registers a new executor: the one info names, or,
// for nil, a new shared executor of the framework (its earlier one, if
// any, is shutting down), with an ID of its own so that the two never
// meet on the executor API. a.mu must be held.
func (a *Agent) newRunFor(fw string, fwInfo api.FrameworkInfo, info *api.ExecutorInfo) *executorRun {
	if info != nil {
		r := a.newRun(fw, fwInfo, *info)
		a.executors[r.key] = r
		// To the master the executor runs: the exit of an earlier run,
		// not yet reported, is news no more.
		delete(a.exits, r.key)
		return r
	}
	id := "mezzo-executor-" + uuid.NewString()[:8]
	r := a.newRun(fw, fwInfo, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: id}, Name: "Mezzo executor",
		FrameworkID: &api.FrameworkID{Value: fw}})
	r.rec.Shared = true
	r.rec.SandboxUsed = true // its tasks all run in tasks/<task ID>
	a.executors[r.key] = r
	a.shared[fw] = r
	return r
}

// prepare fetches what the tasks need (their URIs, their Wasm modules)
// and makes their sandboxes before their LAUNCH goes to the executor,
// starting the executor if needed. Before the LAUNCH goes out it waits
// for launched (the checkpoint of a launch that may not be lazy, see
// launchTasks; nil otherwise) and for the record of an executor it
// started, so that a restarted agent knows every executor, and every task
// it could not adopt, that may run. A group fails as a whole; tasks
// launched alone fail one by one.
//
// Launches to one executor are sent in the order of their turns in its
// line (line.go): prepare waits for tn before it starts the executor and
// sends, and fetches out of line when it may. A task killed while it is
// fetched (killTask, shutdownRun, the agent stopping) has its fetch
// cancelled and ends TASK_KILLED.
func (a *Agent) prepare(r *executorRun, tasks []*execTask, grouped bool, tn *turn, launched *write) {
	outOfLine := fetchesOutOfLine(r, tasks)
	if outOfLine {
		tn.stepOut()
	} else {
		tn.wait()
	}
	master := a.masterURL()
	failed := map[*execTask]error{}
	killed := map[*execTask]bool{} // their fetch was cancelled: they were killed
	var all error                  // fails every task
	users := map[*execTask]*sandbox.User{}
	for _, t := range tasks {
		// r.rec.FrameworkInfo is set when the run is made and not
		// changed after.
		u, err := a.userOfTask(&r.rec.FrameworkInfo, &t.info)
		if err == nil {
			users[t] = u
			ctx, cancel := a.stopCtx, context.CancelFunc(func() {})
			if hasURIs(t.info) || (t.info.IsWasm() && !a.modules.known(t.info.Container.Wasm.SHA256)) {
				// A Wasm task whose module is on disk fetches
				// nothing: it takes no fetch context, two locks
				// fewer.
				ctx, cancel = a.fetchContext(r, t)
			}
			err = a.fetchFor(ctx, master, r, t)
			if err != nil && ctx.Err() != nil {
				killed[t] = true
			}
			cancel()
		}
		if err != nil {
			err = fmt.Errorf("task %s: %w", t.info.TaskID.Value, err)
			if grouped {
				all = err
				if killed[t] {
					// As in Mesos, a group one of whose tasks is killed
					// before it is launched is killed whole.
					for _, m := range tasks {
						killed[m] = true
					}
				}
				break
			}
			failed[t] = err
		}
	}
	if outOfLine {
		tn.rejoin()
		tn.wait()
	}
	// Writes commit in the order they were queued: once the later of the
	// launch's checkpoint and the executor's record is on disk, both are.
	durable := launched
	if all == nil && len(failed) < len(tasks) {
		var started *write
		started, all = a.startExecutor(r)
		if started != nil {
			durable = started
		}
	}
	if all == nil {
		// The cap grows before the tasks reach the executor.
		a.resizeCgroup(r)
	}
	// The sandboxes are made while the launch is written to disk.
	if all == nil {
		for t, err := range makeSandboxes(a.cfg.sandboxRoot(), a.spares, tasks) {
			if grouped {
				all = err
				break
			}
			failed[t] = cmp.Or(failed[t], err)
		}
	}
	for _, t := range tasks {
		if all != nil || failed[t] != nil || t.info.IsWasm() || api.ValidateID("task", t.info.TaskID.Value) != nil {
			continue // a Wasm task's sandbox stays the executor's: its checks only read it
		}
		if err := giveSandbox(users[t], t.dir); err != nil {
			err = fmt.Errorf("task %s: %w", t.info.TaskID.Value, err)
			if grouped {
				all = err
				break
			}
			failed[t] = err
		}
	}
	if durable != nil {
		if err := durable.wait(); err != nil && all == nil {
			all = fmt.Errorf("checkpoint the launch: %w", err)
		}
	}
	a.mu.Lock()
	var live, dead []*execTask
	for _, t := range tasks {
		if r.tasks[t.info.TaskID.Value] != t {
			continue // killed meanwhile
		}
		if err := cmp.Or(all, failed[t]); err != nil {
			failed[t] = err
			r.remove(t)
			delete(a.taskIndex, taskKey{r.key.framework, t.info.TaskID.Value})
			r.touch(t)
			dead = append(dead, t)
			continue
		}
		t.queued = true
		live = append(live, t)
	}
	if len(live) == 0 {
		a.retireIfIdle(r)
	} else {
		r.launched = true
	}
	if len(dead) > 0 {
		a.queueResize(r)
	}
	switch {
	case len(live) == 0:
	case grouped:
		group := api.TaskGroupInfo{}
		for _, t := range live {
			group.Tasks = append(group.Tasks, t.info)
		}
		a.send(r, api.ExecutorEvent{Type: api.ExecutorEventLaunchGroup, LaunchGroup: &api.ExecutorLaunchGroup{TaskGroup: group}})
	default:
		for _, t := range live {
			own := t.dir == r.rec.Dir // the executor places it where the agent did
			a.send(r, api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: t.info, ExecutorSandbox: &own}})
		}
	}
	// That the tasks were sent may wait for their first update: an
	// executor that subscribes again lists the tasks it has.
	a.checkpointLazy(r)
	a.mu.Unlock()
	for _, t := range dead {
		if killed[t] {
			a.reportFor(r, t, api.TaskStatus{State: api.TaskKilled, Source: api.SourceAgent,
				Reason: api.ReasonTaskKilledDuringLaunch, Message: "Task killed while its URIs or module were fetched, before it was launched"})
			continue
		}
		a.reportFor(r, t, api.TaskStatus{State: api.TaskFailed, Source: api.SourceAgent,
			Reason: api.ReasonContainerLaunchFailed, Message: failed[t].Error()})
	}
}

// fetchContext returns the context of a task's fetches, which killTask,
// shutdownRun and the agent's stop cancel (execTask.stopFetch), and the
// function to call once they are done; the context is done already for
// a task killed, or an executor shut down, before its fetch began.
func (a *Agent) fetchContext(r *executorRun, t *execTask) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a.stopCtx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.tasks[t.info.TaskID.Value] != t || r.shutdown || r.exited {
		cancel()
		return ctx, func() {}
	}
	t.cancelFetch = cancel
	return ctx, func() {
		a.mu.Lock()
		t.cancelFetch = nil
		a.mu.Unlock()
		cancel()
	}
}

// stopFetch cancels the fetch of a task being prepared, if one runs.
// a.mu must be held.
func (t *execTask) stopFetch() {
	if t.cancelFetch != nil {
		t.cancelFetch()
		t.cancelFetch = nil
	}
}

// retireIfIdle shuts down an executor that has no task left and was
// never sent one: it would otherwise wait for a launch forever (one that
// ran tasks exits by itself once they have ended). A shared executor
// without tasks is shut down after Config.ExecutorIdleTimeout instead,
// unless a task comes first. a.mu must be held.
func (a *Agent) retireIfIdle(r *executorRun) {
	if len(r.tasks) > 0 || r.shutdown || r.exited {
		return
	}
	if !r.rec.Shared {
		if !r.launched {
			a.shutdownRun(r)
		}
		return
	}
	if r.idle != nil {
		r.idle.Stop()
	}
	r.idle = time.AfterFunc(a.cfg.ExecutorIdleTimeout, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(r.tasks) > 0 || a.stopping {
			return
		}
		a.log.Info("shutting down an idle shared executor", "framework", r.key.framework, "executor", r.key.executor,
			"idle", a.cfg.ExecutorIdleTimeout)
		a.forgetShared(r)
		a.shutdownRun(r)
	})
}

// forgetShared stops launching tasks on a shared executor: the next
// launch starts a new one. a.mu must be held.
func (a *Agent) forgetShared(r *executorRun) {
	if a.shared[r.key.framework] == r {
		delete(a.shared, r.key.framework)
	}
}

// sandboxMakers is how many sandboxes prepare makes at once: on this kind
// of disk a directory and two empty files take about 2 ms, nearly all of
// it waiting, which in parallel overlaps.
const sandboxMakers = 16

// makeSandboxes makes the tasks' sandbox directories with their stdout
// and stderr, sandboxMakers at a time, so that the executor finds them
// ready; it returns the tasks it failed for, with why.
func makeSandboxes(root string, sp *spares, tasks []*execTask) map[*execTask]error {
	var mu sync.Mutex
	failed := map[*execTask]error{}
	sem := make(chan struct{}, sandboxMakers)
	var wg sync.WaitGroup
	for _, t := range tasks {
		if api.ValidateID("task", t.info.TaskID.Value) != nil {
			continue // no directory: the executor fails it with TASK_ERROR
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := makeSandbox(root, t.dir, sp); err != nil {
				mu.Lock()
				failed[t] = fmt.Errorf("task %s: create sandbox: %w", t.info.TaskID.Value, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// makeSandbox makes a task's sandbox directory, below root, and its
// empty stdout and stderr (the files a task's output goes to), following
// no symbolic link below root: a custom executor's sandbox belongs to its
// user, and a link planted there must not make the agent, as root,
// create files elsewhere (an empty /etc/nologin locks users out). A
// spare from sp, when one is ready, becomes the directory (never
// replacing anything there); sp may be nil.
func makeSandbox(root, dir string, sp *spares) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("sandbox %s is not under %s", dir, root)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	names := strings.Split(rel, "/")
	for i, name := range names {
		if name == "." {
			continue
		}
		if i == len(names)-1 && sp.place(fd, name) {
			unix.Close(fd)
			return nil
		}
		if err := unix.Mkdirat(fd, name, 0o755); err != nil && err != unix.EEXIST {
			unix.Close(fd)
			return fmt.Errorf("make %s in %s: %w", name, dir, err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("open %s in %s (a symbolic link is refused): %w", name, dir, err)
		}
		fd = next
	}
	defer unix.Close(fd)
	for _, name := range []string{sandbox.StdoutFile, sandbox.StderrFile} {
		f, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("create %s in %s (a symbolic link is refused): %w", name, dir, err)
		}
		unix.Close(f)
	}
	return nil
}

// fetchFor puts what a task needs in place: its Wasm module in the module
// directory, its command's URIs (a Wasm task's too) in its sandbox.
// The sandbox directory is made here only for URIs to fetch into;
// prepare makes the others, in parallel (makeSandboxes).
func (a *Agent) fetchFor(ctx context.Context, master string, r *executorRun, t *execTask) error {
	if t.info.IsWasm() {
		sha := t.info.Container.Wasm.SHA256
		if err := a.modules.get(ctx, master, sha); err != nil {
			return err
		}
		// What compiling it may cost sizes its executor's cgroup
		// (execNeed). Found here, outside a.mu: the first time, it reads
		// and decodes the module.
		cost := a.modules.compileCost(sha)
		a.mu.Lock()
		r.need.setModuleCost(sha, cost)
		a.mu.Unlock()
	}
	if t.info.Command != nil && len(t.info.Command.URIs) > 0 {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return fmt.Errorf("create sandbox: %w", err)
		}
		limit := a.fetchLimit(t.info.DiskBytes(), "task", t.dir)
		if err := a.fetcher.FetchAll(ctx, t.info.Command.URIs, t.dir, limit); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
	}
	return nil
}

func (a *Agent) masterURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.master
}

// report checkpoints and queues a status update the agent makes, and
// reports whether it did. One that cannot be checkpointed is logged as
// lost: sending it without the checkpoint would break the promise that
// an update survives a restart.
func (a *Agent) report(framework string, st api.TaskStatus) bool {
	if err := a.updates.add(framework, st, time.Now()); err != nil {
		a.log.Error("status update lost", "task", st.TaskID.Value, "state", st.State, "err", err)
		return false
	}
	return true
}

// killTask passes a kill from the master to the task's executor. A task
// still being prepared is killed at once; a task the agent does not run
// is reported lost, so the framework learns it is gone.
func (a *Agent) killTask(k *api.AgentKill) {
	key := taskKey{k.FrameworkID.Value, k.TaskID.Value}
	a.mu.Lock()
	r := a.taskIndex[key]
	if r == nil {
		a.mu.Unlock()
		if a.updates.hasTerminal(key.framework, key.task) {
			return // it has just ended: its terminal update is on its way, and says so
		}
		a.report(k.FrameworkID.Value, api.TaskStatus{
			TaskID: k.TaskID, State: api.TaskLost, Source: api.SourceAgent,
			Reason: api.ReasonTaskUnknown, Message: "Cannot kill a task the agent does not run",
		})
		return
	}
	t := r.tasks[k.TaskID.Value]
	if t.unsure {
		// Sent or not: the executor's subscription will say
		// (settleUnsure).
		t.killAsked, t.killPolicy = true, k.KillPolicy
		a.mu.Unlock()
		return
	}
	if !t.queued {
		t.stopFetch()
		r.remove(t)
		delete(a.taskIndex, key)
		r.touch(t)
		a.retireIfIdle(r)
		a.queueResize(r)
		a.checkpoint(r)
		a.mu.Unlock()
		a.reportFor(r, t, api.TaskStatus{State: api.TaskKilled, Source: api.SourceAgent,
			Reason: api.ReasonTaskKilledDuringLaunch, Message: "Task killed before it was launched"})
		return
	}
	a.send(r, api.ExecutorEvent{Type: api.ExecutorEventKill, Kill: &api.ExecutorKill{TaskID: k.TaskID, KillPolicy: k.KillPolicy}})
	t.killPolicy = k.KillPolicy // sent again if the stream breaks (subscribeExecutor)
	t.pauseChecks()
	a.escalateKill(r, t, k.KillPolicy)
	a.mu.Unlock()
}

// killEscalation is how long past its kill's grace period a task alone in
// a built-in executor of its own may take to end before the agent kills
// the executor (Mesos's executor shutdown grace period).
const killEscalation = 5 * time.Second

// escalateKill makes sure a kill ends a task that runs alone in a
// built-in executor of its own — a wazero task, which its executor
// cannot always stop (RATIONALE.md, "Why do wazero tasks get an executor
// of their own?"): if the task has not ended after its grace period and
// killEscalation, the agent kills the executor and the task ends as
// TASK_KILLED. a.mu must be held.
func (a *Agent) escalateKill(r *executorRun, t *execTask, policy *api.KillPolicy) {
	if r.rec.Shared || r.rec.ExecutorInfo.Command != nil || len(r.tasks) != 1 {
		return
	}
	grace := 3 * time.Second // the built-in executor's default
	for _, p := range []*api.KillPolicy{policy, t.info.KillPolicy} {
		if p != nil && p.GracePeriod != nil {
			grace = max(time.Duration(p.GracePeriod.Nanoseconds), 0)
			break
		}
	}
	time.AfterFunc(grace+killEscalation, func() {
		a.mu.Lock()
		live := r.tasks[t.info.TaskID.Value] == t && !r.exited
		if live {
			r.exitState = api.TaskKilled
			r.exitMsg = "Task killed: its executor could not stop it, so the agent killed the executor"
		}
		a.mu.Unlock()
		if live {
			a.log.Warn("killing an executor whose task outlived its kill", "executor", r.key.executor, "task", t.info.TaskID.Value)
			a.killExecutor(r)
		}
	})
}

// shutdownFramework shuts down every executor of a framework.
func (a *Agent) shutdownFramework(fw string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, r := range a.executors {
		if key.framework == fw {
			a.shutdownRun(r)
		}
	}
}

// frameworkMessage passes a framework's message to its executor; as in
// Mesos, a message for an executor the agent does not run is dropped.
func (a *Agent) frameworkMessage(m *api.AgentMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.executors[execKey{m.FrameworkID.Value, m.ExecutorID.Value}]
	if r == nil || r.exited {
		a.log.Info("dropping a framework message: no such executor", "framework", m.FrameworkID.Value, "executor", m.ExecutorID.Value)
		return
	}
	a.send(r, api.ExecutorEvent{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: m.Data}})
}
