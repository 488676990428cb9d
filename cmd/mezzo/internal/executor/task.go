package executor

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
)

// errKilledBeforeStart is why a task killed before it started never runs.
var errKilledBeforeStart = errors.New("killed before it started")

// task is one task of this executor, from launch until its process ends.
type task struct {
	info  api.TaskInfo
	dir   string // its sandbox directory; "" when its ID is unusable
	group *group // nil unless launched by LAUNCH_GROUP

	mu     sync.Mutex // guards proc, killed and grace
	proc   sandbox.Process
	killed bool          // a kill was asked for
	grace  time.Duration // the shortest grace period a kill gave

	// sendMu serialises the task's status updates, so that they reach
	// the agent in order whichever goroutine sends them, and guards last.
	sendMu sync.Mutex
	last   api.TaskState // the state of the last update sent
}

// kill stops the task: its process if it has one, else it will not start.
// A later kill with a shorter grace period shortens the one under way
// (the process's Kill takes the shorter of what is left and grace), as
// Mesos's executors do when a later kill's policy is shorter; a longer
// one does not lengthen it. Why: a SHUTDOWN, and the executor's own end,
// kill with less grace than a KILL may have given, and must not wait for
// it. A Wasm task stops at once whatever the grace.
func (t *task) kill(grace time.Duration) {
	t.mu.Lock()
	if !t.killed || grace < t.grace {
		t.killed, t.grace = true, grace
	}
	p, grace := t.proc, t.grace
	t.mu.Unlock()
	if p != nil {
		p.Kill(grace)
	}
}

func (t *task) wasKilled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.killed
}

// group is a task group, run with the semantics of Mesos's default
// executor: when one task fails or is killed, the others are killed too.
type group struct {
	tasks []*task // set before any task starts, then read-only

	mu    sync.Mutex
	ended bool // a task failed or was killed; the rest are being killed
}

// launch starts tasks, each on its own goroutine. A task ID seen before
// is ignored, so that nothing runs twice. own is what the agent said of
// a task launched alone (api.ExecutorLaunch.ExecutorSandbox), nil when
// it did not say.
func (x *executor) launch(infos []api.TaskInfo, grouped bool, own *bool) {
	var g *group
	if grouped {
		g = &group{}
	}
	x.mu.Lock()
	var start []*task
	for _, ti := range infos {
		id := ti.TaskID.Value
		if x.seen[id] {
			x.log.Warn("ignoring a second launch of a task", "task", id)
			continue
		}
		x.seen[id] = true
		t := &task{info: ti, group: g, killed: x.shuttingDown}
		t.dir = x.taskDir(id, grouped || ti.RunsAsUser(), own) // as the agent places it
		if g != nil {
			g.tasks = append(g.tasks, t)
		}
		x.tasks[id] = t
		x.launched = true
		start = append(start, t)
	}
	x.wg.Add(len(start))
	x.mu.Unlock()
	for _, t := range start {
		go x.run(t)
	}
}

// taskDir is the sandbox directory of a task: the executor's sandbox for
// the first task launched alone (the command executor's case, and what
// an agent shows as the task's sandbox), tasks/<task ID> under it for a
// member of a group (as Mesos's default executor nests them) and for any
// later task launched alone, so that tasks never share their stdout;
// where the agent says (own not nil), as it says, for the task it placed
// first may never have reached the executor. It returns "" for an ID
// that cannot name a directory. x.mu must be held.
func (x *executor) taskDir(id string, grouped bool, own *bool) string {
	if api.ValidateID("task", id) != nil {
		return ""
	}
	first := !grouped && !x.sandboxUsed
	if own != nil {
		first = *own
	}
	x.sandboxUsed = x.sandboxUsed || first
	return sandbox.TaskDir(x.cfg.Client.Sandbox, id, first)
}

// run carries a task from launch to its terminal status update, on the
// task's own goroutine.
func (x *executor) run(t *task) {
	defer x.ended(t)
	if t.dir == "" {
		err := api.ValidateID("task", t.info.TaskID.Value)
		x.send(t, api.TaskError, api.ReasonTaskInvalid, err.Error(), nil)
		return
	}
	if !x.startsAtOnce(t) {
		x.send(t, api.TaskStarting, "", "", nil)
	}
	proc, err := x.start(t)
	if err != nil {
		state, reason, msg := api.TaskFailed, api.ReasonContainerLaunchFailed, err.Error()
		if errors.Is(err, errKilledBeforeStart) {
			state, reason, msg = api.TaskKilled, api.ReasonTaskKilledDuringLaunch, "Task killed before it started"
		}
		x.send(t, state, reason, msg, nil)
		x.groupEnded(t, state)
		return
	}
	t.mu.Lock()
	t.proc = proc
	killed, grace := t.killed, t.grace
	t.mu.Unlock()
	switch {
	case killed:
		proc.Kill(grace)
	case sandbox.Started(proc):
		x.send(t, api.TaskRunning, "", "", nil)
	} // else it never ran (its exec failed, say): its Wait says why
	res := proc.Wait()
	if t.info.IsWasm() {
		x.modules.put(t.info.Container.Wasm.SHA256)
	}
	state, reason, msg := Outcome(res, t.wasKilled())
	labels := ExitLabel(res)
	if labels == nil {
		labels = &api.Labels{}
	}
	labels.Labels = append(labels.Labels, UsageLabels(res.Usage)...)
	x.send(t, state, reason, msg, labels)
	x.groupEnded(t, state)
}

// startsAtOnce reports whether t's start takes so little that
// TASK_STARTING would report a state the task has already left: a native
// task (a cgroup, a fork and an exec: a millisecond or so) or an
// instantiation of a Wasm module this executor has compiled already
// (microseconds). Such a task goes from TASK_STAGING straight to
// TASK_RUNNING (Mesos makes TASK_STARTING optional). Why: each update
// waits for the one before it to be acknowledged by the framework, so a
// TASK_STARTING that says nothing would hold TASK_RUNNING back by a
// round trip through the master and the framework (RATIONALE.md, "Why do
// native and cached Wasm tasks skip TASK_STARTING?"). Only a task whose
// module is still to be compiled, which can take seconds, reports it.
func (x *executor) startsAtOnce(t *task) bool {
	return !t.info.IsWasm() || x.modules.compiledAlready(t.info.Container.Wasm.SHA256)
}

// forgetAfter is how many ended task IDs an executor remembers to ignore
// a second LAUNCH of them before the oldest half is forgotten: a shared
// executor would otherwise remember every task it ever ran. The agent
// never launches a task again once its end is checkpointed, so only a
// LAUNCH racing that end needs the memory.
const forgetAfter = 4096

// ended forgets a task whose goroutine is ending.
func (x *executor) ended(t *task) {
	x.mu.Lock()
	delete(x.tasks, t.info.TaskID.Value)
	x.endedIDs = append(x.endedIDs, t.info.TaskID.Value)
	if len(x.endedIDs) >= forgetAfter {
		for _, id := range x.endedIDs[:forgetAfter/2] {
			if x.tasks[id] == nil {
				delete(x.seen, id)
			}
		}
		x.endedIDs = slices.Delete(x.endedIDs, 0, forgetAfter/2)
	}
	x.mu.Unlock()
	x.wg.Done()
	x.checkDone()
}

// Outcome maps how a sandbox ended to a terminal state, reason and message,
// in Mesos's wording where it has one. A process ended by a signal is
// described as Mesos's command executor describes it, "Command terminated
// with signal Killed", whether it crashed, another process killed it or
// the executor's kill did (after "Task killed: "); the sandbox's own
// error says the same in Go's words, and is what a limit's message
// quotes.
func Outcome(res sandbox.Result, killed bool) (api.TaskState, api.StatusReason, string) {
	switch {
	case killed && res.Signal != 0:
		return api.TaskKilled, "", "Task killed: " + terminatedBy(res.Signal)
	case killed:
		return api.TaskKilled, "", "Task killed"
	case res.Reason == sandbox.ReasonMemoryLimit:
		return api.TaskFailed, api.ReasonContainerLimitationMemory, "Memory limit exceeded: " + errText(res.Err)
	case res.Reason == sandbox.ReasonCPULimit:
		return api.TaskFailed, api.ReasonContainerLimitation, "CPU time limit exceeded: " + errText(res.Err)
	case res.Reason == sandbox.ReasonLaunchFailed:
		return api.TaskFailed, api.ReasonContainerLaunchFailed, errText(res.Err)
	case res.Signal != 0:
		return api.TaskFailed, "", terminatedBy(res.Signal)
	case res.Err != nil:
		return api.TaskFailed, "", errText(res.Err)
	case res.ExitCode != 0:
		return api.TaskFailed, "", fmt.Sprintf("Command exited with status %d", res.ExitCode)
	}
	return api.TaskFinished, "", "Command exited with status 0"
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// terminatedBy is Mesos's command executor's message for a process that
// sig ended, with the signal named as strsignal(3) names it: Go's names
// are glibc's with a lower-case first letter ("killed" for "Killed"). A
// signal Go has no name for (a real-time one: "signal 34") is given by
// its number.
func terminatedBy(sig syscall.Signal) string {
	name := sig.String()
	if strings.HasPrefix(name, "signal ") {
		return "Command terminated with " + name
	}
	if r, size := utf8.DecodeRuneInString(name); size > 0 {
		name = string(unicode.ToUpper(r)) + name[size:]
	}
	return "Command terminated with signal " + name
}

// ExitLabel is the terminal update's label saying how the task's process
// ended: its exit code (api.ExitCodeLabel) for a task that exited by
// itself, or the number of the signal that ended it (api.SignalLabel),
// however it was sent; nil for a task that did neither (a Wasm task that
// trapped or was stopped, a task that never ran, a kill the process
// answered by exiting). Clients such as mezzo run exit with the code, or
// with 128 plus the signal.
func ExitLabel(res sandbox.Result) *api.Labels {
	switch {
	case res.Signal != 0:
		return &api.Labels{Labels: []api.Label{{Key: api.SignalLabel, Value: strconv.Itoa(int(res.Signal))}}}
	case res.Err != nil:
		return nil
	}
	return &api.Labels{Labels: []api.Label{{Key: api.ExitCodeLabel, Value: strconv.Itoa(res.ExitCode)}}}
}

// send sends a status update for t. Errors are logged: an update the
// client could not deliver now goes out with its next subscription.
func (x *executor) send(t *task, state api.TaskState, reason api.StatusReason, msg string, labels *api.Labels) {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	x.sendLocked(t, state, reason, msg, labels)
}

// sendLocked is send with t.sendMu held.
func (x *executor) sendLocked(t *task, state api.TaskState, reason api.StatusReason, msg string, labels *api.Labels) {
	t.last = state
	st := api.TaskStatus{TaskID: t.info.TaskID, State: state, Reason: reason, Message: msg, Labels: labels}
	x.mu.Lock()
	if x.container != nil {
		st.ContainerStatus = &api.ContainerStatus{ContainerID: x.container}
	}
	x.mu.Unlock()
	err := x.client.Update(x.ctx, st)
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrNotConnected):
		x.log.Debug("status update queued until the agent is back", "task", st.TaskID.Value, "state", state, "err", err)
	default:
		x.log.Warn("status update not sent", "task", st.TaskID.Value, "state", state, "err", err)
	}
}

// killTask kills the task a KILL event names (with its whole group, as
// Mesos's default executor does). A task that has ended, or that this
// executor never ran, is left alone: the agent knows its state.
func (x *executor) killTask(k *api.ExecutorKill) {
	x.mu.Lock()
	t := x.tasks[k.TaskID.Value]
	x.mu.Unlock()
	if t == nil {
		x.log.Warn("asked to kill a task that is not running", "task", k.TaskID.Value)
		return
	}
	grace := x.graceOf(t, k.KillPolicy)
	if t.group == nil {
		x.kill(t, grace)
		return
	}
	t.group.mu.Lock()
	t.group.ended = true
	t.group.mu.Unlock()
	for _, member := range t.group.tasks {
		x.kill(member, grace)
	}
}

// kill kills a task, first sending TASK_KILLING if the framework
// understands it and the task is running.
func (x *executor) kill(t *task, grace time.Duration) {
	x.mu.Lock()
	killing := x.killingState
	x.mu.Unlock()
	if killing {
		t.sendMu.Lock()
		if t.last == api.TaskRunning {
			x.sendLocked(t, api.TaskKilling, "", "", nil)
		}
		t.sendMu.Unlock()
	}
	t.kill(grace)
}

// graceOf is the grace period to kill t with: policy's if set, else the
// task's own kill policy's, else the default.
func (x *executor) graceOf(t *task, policy *api.KillPolicy) time.Duration {
	for _, p := range []*api.KillPolicy{policy, t.info.KillPolicy} {
		if p != nil && p.GracePeriod != nil {
			return max(time.Duration(p.GracePeriod.Nanoseconds), 0)
		}
	}
	return x.cfg.DefaultKillGrace
}

// groupEnded applies the default executor's policy after a group member
// ended in state: unless it finished, the others are killed.
func (x *executor) groupEnded(t *task, state api.TaskState) {
	g := t.group
	if g == nil || state == api.TaskFinished {
		return
	}
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		return
	}
	g.ended = true
	g.mu.Unlock()
	for _, member := range g.tasks {
		if member != t {
			x.kill(member, x.graceOf(member, nil))
		}
	}
}
