package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// execKey names an executor on this agent.
type execKey struct{ framework, executor string }

// executorRun is one executor process (`mezzo executor`) and what the
// agent knows of it: the tasks it was given that have not ended, the
// events waiting for it to subscribe, and its event stream. Every field
// but done is guarded by Agent.mu.
type executorRun struct {
	key execKey
	rec executorRecord // what is checkpointed; rec.Tasks is rebuilt from tasks
	// tasks are the executor's tasks that have not ended, by task ID;
	// allTasks every task it was ever given, in order.
	tasks    map[string]*execTask
	allTasks []string
	// nextIndex numbers the next task (execTask.index); dirty holds the
	// tasks changed since the last checkpoint, by ID, with their index,
	// and recDirty says rec changed.
	nextIndex int
	dirty     map[string]int
	recDirty  bool
	// ended lists, oldest first, the tasks that ended and are still in
	// allTasks (see prune).
	ended []string
	// collectable is the queue of the sandboxes of its ended tasks, in
	// the order they ended, that the collector takes from the front once
	// due (gc.go); a collection holds the first taking of them by
	// position (enqueue puts nothing before them).
	collectable []endedSandbox
	taking      int
	// unwritten holds, with when they ended, the ended tasks whose
	// sandboxes left the queue because their terminal updates could
	// not be written to agent.db: each is queued again once its
	// executor's update is written at last (gc.go).
	unwritten map[string]time.Time
	pending   []api.ExecutorEvent // events waiting for a subscription
	stream    *execStream         // the current subscription; nil if none

	started    bool // its process was started (or recovered)
	recovered  bool // it was started by an earlier run of the agent
	subscribed bool // it subscribed since it started or was recovered
	launched   bool // a LAUNCH was queued for it
	shutdown   bool // SHUTDOWN was sent (by the framework or the agent)
	exited     bool
	exitReason api.StatusReason // why its tasks fail when it exits
	exitMsg    string           // what their updates say, if not how it exited
	exitState  api.TaskState    // their state, if not TASK_FAILED (or TASK_KILLED after SHUTDOWN)
	exitLost   bool             // its framework shut it down (SHUTDOWN_EXECUTOR): its live tasks end TASK_LOST
	regTimer   *time.Timer
	idle       *time.Timer // shuts a shared executor down once idle
	// cancelStart cancels the fetch of a custom executor's URIs while
	// startExecutor runs it; nil otherwise.
	cancelStart context.CancelFunc

	// cg is the executor's cgroup (cgroup.go), nil if it has none; set
	// before its process starts. need is what its cap must hold for the
	// tasks in tasks.
	cg   *sandbox.ExecutorCgroup
	need execNeed
	// usage is what its container's statistics keep counting of tasks
	// that ended (usage.go).
	usage execUsage

	// prepared is closed once the latest launch in the executor's line
	// has been prepared (its executor started, its checkpoint on disk)
	// and sent, or has stepped out of the line to fetch: the next one
	// waits for it, so that launches reach the executor in the order the
	// master sent them, except that one still fetching is overtaken
	// (line.go).
	prepared chan struct{}
	done     chan struct{} // closed once the process has exited
	// cgMu serialises the resizes of cg; cgHave is the limits last
	// written to it, as it enforces them (ExecutorCgroup.Enforced),
	// written with cgMu and Agent.mu held, read with either.
	// resizeQueued says a resize is waiting to run.
	cgMu         sync.Mutex
	cgHave       sandbox.ExecutorLimits
	resizeQueued atomic.Bool
}

// execTask is a task given to an executor.
type execTask struct {
	index int // among its executor's tasks, for its checkpoint's key
	info  api.TaskInfo
	dir   string // its sandbox directory
	state api.TaskState
	// queued: its LAUNCH was queued for the executor; sent: it went out
	// on a stream. A task not queued is still being prepared.
	queued, sent bool
	// group numbers the task group it was launched in (the index of its
	// first task, plus one); 0 for a task launched alone.
	group int
	// unsure: recovered from agent.db without its LAUNCH recorded as
	// sent, so that until its executor subscribes the agent does not
	// know whether the executor has it (settleUnsure). A kill meanwhile
	// is held: killAsked, with killPolicy.
	unsure, killAsked bool
	// cancelFetch cancels its fetches while prepare runs them
	// (fetchContext); nil otherwise.
	cancelFetch context.CancelFunc
	// killPolicy is the policy of the kill held, or sent (killing).
	killPolicy   *api.KillPolicy
	stopChecks   func()               // stops its health checks; nil when none run
	killing      bool                 // a kill was sent: its checks report no more (pauseChecks)
	healthKilled bool                 // its health check killed it: its end says healthy false (annotate)
	checkStatus  *api.CheckStatusInfo // its check's latest status, put on its updates (annotate)
	watched      bool                 // the agent watches its CPU budget (watchCPU)
	// health is where its health check stands, kept in agent.db so that
	// the check resumes there after a restart (health.Standing).
	health health.Standing
	// stats is the latest usage its executor reported; nil if none.
	stats *api.ResourceStatistics
	// need is what it adds to its executor's cgroup (execNeed).
	need taskNeed
	// infoJSON is info as JSON, encoded for its first checkpoint and kept
	// for the next ones (recordedTask.AppendJSON).
	infoJSON []byte
	// ended is when it left its run's tasks (remove), for a task that has
	// a sandbox of its own: that time is still to be written on its
	// sandbox (markEnded), by whoever removed it once a.mu is released.
	ended time.Time
}

// newRun makes the record of a new executor, not yet started. a.mu must
// be held.
func (a *Agent) newRun(fw string, fwInfo api.FrameworkInfo, info api.ExecutorInfo) *executorRun {
	container := uuid.NewString()
	if info.FrameworkID == nil {
		info.FrameworkID = &api.FrameworkID{Value: fw}
	}
	if fwInfo.ID == nil {
		fwInfo.ID = &api.FrameworkID{Value: fw}
	}
	if c := info.Command; c != nil {
		// A custom executor runs as its user (user.go), written down
		// for its start and for agent.db.
		cc := *c
		cc.User = a.taskUser(&fwInfo, c)
		info.Command = &cc
	}
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	return &executorRun{
		key: execKey{fw, info.ExecutorID.Value},
		rec: executorRecord{
			Framework: fw, FrameworkInfo: fwInfo, ExecutorInfo: info, Container: container,
			Dir:   filepath.Join(a.cfg.sandboxRoot(), fw, info.ExecutorID.Value, "runs", container),
			Token: hex.EncodeToString(token),
		},
		tasks:      map[string]*execTask{},
		dirty:      map[string]int{},
		recDirty:   true,
		exitReason: api.ReasonExecutorTerminated,
		done:       make(chan struct{}),
		need:       newExecNeed(&info),
	}
}

// named reports whether the executor is one its framework named, which
// the master counts until the agent reports its exit
// (reportExecutorExited): a custom executor, which has a command, or a
// task group's DEFAULT executor. The framework's shared executor and a
// task's own executor have neither.
func (r *executorRun) named() bool {
	return r.rec.ExecutorInfo.Command != nil || r.rec.ExecutorInfo.Type == api.ExecutorDefault
}

// add makes t one of the run's tasks. a.mu must be held.
func (r *executorRun) add(t *execTask) {
	id := t.info.TaskID.Value
	t.index = r.nextIndex
	r.nextIndex++
	r.tasks[id] = t
	r.need.add(t.need)
	r.allTasks = append(r.allTasks, id)
	r.touch(t)
}

// remove takes t out of the run's tasks, which it ended or never
// reached. a.mu must be held.
//
// A task that has a sandbox of its own (tasks/<task ID>) in the sandbox
// of Mezzo's executor has when it ended noted (execTask.ended). Its
// sandbox joins its run's queue of sandboxes to collect (queueEnded)
// once the task's terminal update is queued for agent.db, so that a
// collection, which waits for the writes queued before it, never takes
// a sandbox before the framework can learn of its task's end (gc.go).
// The end is written on the sandbox (markEnded) for a restarted agent,
// once a.mu is released: by the stops recordExecutorUpdate returns, or
// by reportFor. The collector counts from the time in the queue, so the
// write may come late, or never. A custom executor's sandbox is its own.
// So is nothing at a task ID the master should have refused (one with a
// "/" or a "..", never given a sandbox: makeSandboxes): the collector
// must not be led out of tasks/.
func (r *executorRun) remove(t *execTask) {
	id := t.info.TaskID.Value
	delete(r.tasks, id)
	r.need.remove(t.need)
	if t.dir != "" && t.dir != r.rec.Dir && r.rec.ExecutorInfo.Command == nil && api.ValidateID("task", id) == nil &&
		t.dir == filepath.Join(r.rec.Dir, "tasks", id) {
		t.ended = time.Now()
	}
}

// queueEnded puts the sandbox of a removed task, if it has one of its
// own, in its run's queue of sandboxes to collect (see remove); lost, if
// set, is set if the task's terminal update, queued for agent.db, could
// not be written (endedSandbox). a.mu must be held.
func (r *executorRun) queueEnded(t *execTask, lost *atomic.Bool) {
	if !t.ended.IsZero() {
		r.enqueue(endedSandbox{name: t.info.TaskID.Value, at: t.ended, lost: lost})
	}
}

// markTaskEnded writes a removed task's end on its sandbox (see remove),
// if it has a sandbox of its own; a.mu need not be held, and t must not
// change meanwhile (its remover calls it).
func (a *Agent) markTaskEnded(t *execTask) {
	if t.ended.IsZero() {
		return
	}
	// On an error the sandbox keeps the time of its last change, and
	// may go sooner after a restart: no reason to hold the task's end.
	if err := markEnded(t.dir, t.ended); err != nil {
		a.log.Debug("task's sandbox is counted from its last change after a restart", "dir", t.dir, "err", err)
	}
}

// pruneAfter is how many ended tasks an executor remembers (in allTasks,
// and their updates' UUIDs in agent.db) before the oldest half is
// forgotten: a shared executor lives as long as its framework keeps it
// busy, and would otherwise remember every task it ever ran.
const pruneAfter = 2048

// taskEnded notes that a task of the run has ended, and forgets the
// oldest half of the ended tasks once there are pruneAfter: they leave
// allTasks, and the UUIDs of their updates are forgotten, so that an
// executor sending one of them again long after (its acknowledgement
// lost) has it delivered again — at least once, as Mesos allows. a.mu
// must be held.
func (a *Agent) taskEnded(r *executorRun, id string) {
	r.ended = append(r.ended, id)
	if len(r.ended) < pruneAfter {
		return
	}
	old := slices.Clone(r.ended[:pruneAfter/2])
	r.ended = slices.Delete(r.ended, 0, pruneAfter/2)
	gone := make(map[string]bool, len(old))
	for _, id := range old {
		gone[id] = true
	}
	r.allTasks = slices.DeleteFunc(r.allTasks, func(id string) bool { return gone[id] && r.tasks[id] == nil })
	a.store.forgetSeenLater(r.key.framework, old)
}

// touch marks t changed (or removed from r.tasks) for the next
// checkpoint. a.mu must be held.
func (r *executorRun) touch(t *execTask) { r.dirty[t.info.TaskID.Value] = t.index }

// taskDir is where a task runs, as the executor decides it: the first
// task launched alone runs in the executor's sandbox, members of groups
// and later tasks in tasks/<task ID> under it. a.mu must be held.
func (r *executorRun) taskDir(id string, grouped bool) string {
	first := !grouped && !r.rec.SandboxUsed
	if first {
		r.rec.SandboxUsed = true
		r.recDirty = true
	}
	return sandbox.TaskDir(r.rec.Dir, id, first)
}

// checkpoint queues writing what changed of the run to agent.db (see
// store.checkpoint) and returns the write, or nil when nothing changed.
// It does not wait: a caller that needs the run on disk before it acts
// (startExecutor's caller, before a LAUNCH goes out) waits for the
// returned write, or for barrier's. a.mu must be held.
func (a *Agent) checkpoint(r *executorRun) *write { return a.checkpointRun(r, false) }

// checkpointLazy is checkpoint in a lazy write (committer.enqueueLazy):
// for what may reach the disk with the next update, because an
// executor's SUBSCRIBE after a crash would tell the agent anyway (a
// launched task, that it was sent). a.mu must be held.
func (a *Agent) checkpointLazy(r *executorRun) *write { return a.checkpointRun(r, true) }

func (a *Agent) checkpointRun(r *executorRun, lazy bool) *write {
	if r.exited {
		// Forgotten (executorExited): writing it again would bring a
		// dead executor back at the next restart.
		clear(r.dirty)
		return nil
	}
	var rec *executorRecord
	if r.recDirty {
		c := r.rec
		c.Tasks = nil
		rec = &c
		r.recDirty = false
	}
	changes := make([]taskChange, 0, len(r.dirty))
	for id, index := range r.dirty {
		c := taskChange{index: index}
		if t := r.tasks[id]; t != nil {
			if t.infoJSON == nil {
				t.infoJSON, _ = json.Marshal(t.info) // nil on error: the record is then encoded whole
			}
			c.rec = &recordedTask{Index: index, Info: t.info, Dir: t.dir, State: t.state, Sent: t.sent, Group: t.group,
				infoJSON: t.infoJSON}
			if t.info.HealthCheck != nil && !t.health.Since.IsZero() {
				h := t.health
				c.rec.Health = &h
			}
			c.rec.CheckStatus = t.checkStatus // never changed, only replaced
		}
		changes = append(changes, c)
	}
	clear(r.dirty)
	if rec == nil && len(changes) == 0 {
		return nil
	}
	return a.store.checkpoint(r.key.framework, r.key.executor, rec, changes, lazy)
}

// barrier queues an empty write: once it is done, every write queued
// before it is on disk. a.mu need not be held.
func (a *Agent) barrier() *write {
	return a.store.c.enqueue(func(*bolt.Tx) error { return nil }, nil)
}

// executorEnv is the environment of an executor process (see
// sdk/executor.ConfigFromEnv and cmd/mezzo's executor command).
func (a *Agent) executorEnv(r *executorRun) []string {
	a.mu.Lock()
	agentID := a.agentID
	a.mu.Unlock()
	env := maps.Clone(a.cfg.ExecutorEnvironment)
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = sandbox.DefaultPath
	}
	maps.Copy(env, map[string]string{
		"MESOS_SLAVE_ID":                       agentID, // Mesos's name, still read by its executor libraries
		"MESOS_AGENT_ENDPOINT":                 net.JoinHostPort(a.cfg.Hostname, strconv.Itoa(a.cfg.Port)),
		"MESOS_FRAMEWORK_ID":                   r.key.framework,
		"MESOS_EXECUTOR_ID":                    r.key.executor,
		"MESOS_SANDBOX":                        r.rec.Dir,
		"MESOS_DIRECTORY":                      r.rec.Dir,
		"MESOS_CHECKPOINT":                     "1",
		"MESOS_EXECUTOR_AUTHENTICATION_TOKEN":  r.rec.Token,
		"MESOS_RECOVERY_TIMEOUT":               api.MesosDuration(executorRecoveryTimeout),
		"MESOS_SUBSCRIPTION_BACKOFF_MAX":       api.MesosDuration(2 * time.Second),
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": api.MesosDuration(shutdownGrace(a.cfg, r)),
		"MEZZO_MODULES_DIR":                    a.cfg.moduleDir(),
		// Both engines write their code caches atomically (a temporary
		// file renamed into place), so executors share one.
		"MEZZO_MODULE_CACHE": filepath.Join(a.cfg.moduleDir(), "compiled"),
		"MEZZO_WASM_ENGINE":  a.executorEngine(r),
	})
	if a.cfg.TLS != nil {
		// The executor (Mezzo's, or a custom one built on
		// sdk/executor) reaches this agent over https, verified with it.
		env["MEZZO_TLS_CA"] = a.cfg.TLSCAFile
	}
	if r.rec.Shared {
		env["MEZZO_EXECUTOR_SHARED"] = "1"
	}
	if a.cfg.WasmFuel {
		env["MEZZO_WASM_FUEL"] = "1"
	}
	if a.cfg.NativeIsolation != sandbox.IsolationAuto {
		env["MEZZO_NATIVE_ISOLATION"] = string(a.cfg.NativeIsolation)
	}
	if a.cfg.OutputMaxBytes > 0 {
		env["MEZZO_OUTPUT_MAX_BYTES"] = strconv.FormatInt(a.cfg.OutputMaxBytes, 10)
		env["MEZZO_OUTPUT_KEEP"] = strconv.Itoa(a.cfg.OutputKeep)
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// executorEngine is the default engine of a built-in executor: the
// agent's (Config.WasmEngine), or, for an executor that is not shared,
// the engine of its first Wasm task, so that the executor compiles the
// module for that engine before the task runs. A wazero task runs alone
// in an executor of its own (ownExecutor), whose CPU time the agent
// counts against the task's budget from its TASK_RUNNING (watchCPU); an
// executor of the agent's default engine compiled the module for wazero
// only after, and an idle task with a small budget was killed for the
// compile.
func (a *Agent) executorEngine(r *executorRun) string {
	if r.rec.Shared {
		return a.cfg.WasmEngine
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range r.allTasks {
		if t := r.tasks[id]; t != nil && t.info.IsWasm() {
			return a.engineOf(t.info)
		}
	}
	return a.cfg.WasmEngine
}

// shutdownGrace is how long an executor has, after SHUTDOWN, before the
// agent kills it: its ExecutorInfo's shutdown_grace_period when it has
// one, as in Mesos, else the agent's (Config.ExecutorShutdownGrace). The
// executor is told the same (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD), so
// that it kills its tasks in time.
func shutdownGrace(cfg Config, r *executorRun) time.Duration {
	if g := r.rec.ExecutorInfo.ShutdownGracePeriod; g != nil && g.Nanoseconds >= 0 {
		return time.Duration(g.Nanoseconds)
	}
	return cfg.ExecutorShutdownGrace
}

// errRunShutDown is startExecutor's error for a run shut down before its
// process started: its tasks were killed while they were prepared.
var errRunShutDown = errors.New("start executor: shut down before it started")

// executorRecoveryTimeout is how long an executor waits for a restarted
// agent before it kills its tasks (Mesos's --recovery_timeout).
const executorRecoveryTimeout = 15 * time.Minute

// startExecutor starts the run's process, unless it runs already: in its
// own session, so that it outlives the agent, with its output in
// executor.stdout and executor.stderr in its sandbox. It returns the
// write of the executor's record when it started the process (nil when
// the process ran already), for a caller to wait for.
func (a *Agent) startExecutor(r *executorRun) (*write, error) {
	a.mu.Lock()
	started, gone := r.started, r.shutdown || r.exited
	a.mu.Unlock()
	if started {
		return nil, nil
	}
	if gone {
		return nil, errRunShutDown
	}
	if err := os.MkdirAll(r.rec.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create executor sandbox: %w", err)
	}
	if err := a.linkLatest(r); err != nil {
		return nil, err
	}
	stdout, err := os.OpenFile(filepath.Join(r.rec.Dir, "executor.stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(r.rec.Dir, "executor.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	defer stderr.Close()
	ctx, cancel := context.WithCancel(a.stopCtx)
	a.mu.Lock()
	r.cancelStart = cancel
	gone = r.shutdown || r.exited
	a.mu.Unlock()
	if gone {
		cancel() // shut down since: its fetch is cancelled at once
	}
	cmd, err := a.executorCommand(ctx, r)
	a.mu.Lock()
	r.cancelStart = nil
	a.mu.Unlock()
	cancel()
	if err != nil {
		return nil, err
	}
	cg, err := a.newCgroup(r)
	if err != nil {
		return nil, err
	}
	if cg != nil && cg.TaskParent() != "" {
		cmd.Env = append(cmd.Env, "MEZZO_CGROUP_PARENT="+cg.TaskParent())
	}
	cmd.Dir = r.rec.Dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c := r.rec.ExecutorInfo.Command; c != nil {
		// A custom executor is the framework's program: it runs as the
		// framework's user, in a sandbox of its own (user.go).
		u, err := a.lookupTaskUser(c.User)
		if err == nil {
			err = giveSandbox(u, r.rec.Dir)
		}
		if err == nil {
			cmd.SysProcAttr.Credential, err = u.Credential()
		}
		if err != nil {
			a.dropCgroup(cg)
			return nil, fmt.Errorf("start executor: %w", err)
		}
	}
	if cg != nil {
		err = cg.Start(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		a.dropCgroup(cg)
		return nil, fmt.Errorf("start executor: %w", err)
	}
	pid := cmd.Process.Pid
	a.mu.Lock()
	if r.shutdown || r.exited {
		// Shut down while it started (its tasks killed during their
		// fetch, say): nobody would track it.
		a.mu.Unlock()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		a.dropCgroup(cg)
		return nil, errRunShutDown
	}
	if cg != nil {
		r.cg = cg
		r.rec.Cgroup = cg.Path()
	}
	r.started = true
	r.rec.PID = pid
	r.rec.StartTime = processStartTime(pid)
	r.recDirty = true
	r.regTimer = time.AfterFunc(a.cfg.ExecutorRegistrationTimeout, func() { a.registrationTimedOut(r) })
	rec := a.checkpoint(r)
	a.mu.Unlock()
	a.log.Info("started executor", "framework", r.key.framework, "executor", r.key.executor, "pid", pid, "dir", r.rec.Dir, "cgroup", r.rec.Cgroup)
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		err := cmd.Wait()
		msg := "Executor terminated"
		failed := cmd.ProcessState != nil && !cmd.ProcessState.Success()
		if failed {
			msg = fmt.Sprintf("Executor terminated: %v", err)
		}
		var status *api.Int64
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			status = api.Ptr(api.Int64(ws))
		}
		a.executorExited(r, msg, failed, status)
	}()
	return rec, nil
}

// executorCommand is the process that runs an executor: Mezzo's own
// (Config.ExecutorCommand), or a framework's custom executor — an
// ExecutorInfo with a command, whose URIs are fetched into the executor's
// sandbox first — speaking the same v1 Executor API with the same
// environment, plus the command's own variables.
func (a *Agent) executorCommand(ctx context.Context, r *executorRun) (*exec.Cmd, error) {
	env := a.executorEnv(r)
	c := r.rec.ExecutorInfo.Command
	if c == nil {
		cmd := exec.Command(a.cfg.ExecutorCommand[0], a.cfg.ExecutorCommand[1:]...)
		cmd.Env = env
		return cmd, nil
	}
	limit := a.fetchLimit(api.Resources(r.rec.ExecutorInfo.Resources).SandboxDiskBytes(), "executor", r.rec.Dir)
	if err := a.fetcher.FetchAll(ctx, c.URIs, r.rec.Dir, limit); err != nil {
		return nil, fmt.Errorf("fetch executor: %w", err)
	}
	for k, v := range c.Environment.Map() {
		env = append(env, k+"="+v)
	}
	if c.IsShell() {
		cmd := exec.Command("/bin/sh", "-c", c.Value)
		cmd.Env = env
		return cmd, nil
	}
	path := c.Value
	if local := filepath.Join(r.rec.Dir, path); !filepath.IsAbs(path) && fileExists(local) {
		path = local // a fetched executor, relative to its sandbox
	}
	var args []string
	if len(c.Arguments) > 1 {
		args = c.Arguments[1:]
	}
	cmd := exec.Command(path, args...)
	if len(c.Arguments) > 0 {
		cmd.Args[0] = c.Arguments[0] // Mesos: arguments are the whole argv
	}
	cmd.Env = env
	return cmd, nil
}

// linkLatest points runs/latest at the run's sandbox.
func (a *Agent) linkLatest(r *executorRun) error {
	latest := filepath.Join(filepath.Dir(r.rec.Dir), "latest")
	tmp := latest + "." + uuid.NewString()
	if err := os.Symlink(r.rec.Container, tmp); err != nil {
		return fmt.Errorf("link latest sandbox: %w", err)
	}
	if err := os.Rename(tmp, latest); err != nil {
		return fmt.Errorf("link latest sandbox: %w", err)
	}
	return nil
}

// registrationTimedOut kills an executor that has not subscribed in time.
func (a *Agent) registrationTimedOut(r *executorRun) {
	a.mu.Lock()
	if r.subscribed || r.exited {
		a.mu.Unlock()
		return
	}
	if r.shutdown {
		// Shut down before it subscribed: its tasks end as the shutdown
		// says, the kill only coming sooner.
		a.mu.Unlock()
		a.killExecutor(r)
		return
	}
	r.exitReason = api.ReasonExecutorRegistrationTimeout
	r.exitMsg = fmt.Sprintf("Executor did not subscribe within %v of its start; the agent killed it", a.cfg.ExecutorRegistrationTimeout)
	if r.recovered {
		r.exitReason = api.ReasonExecutorReregistrationTimeout
		r.exitMsg = fmt.Sprintf("Executor did not subscribe again within %v of the agent's restart; the agent killed it",
			a.cfg.ExecutorRegistrationTimeout)
	}
	a.mu.Unlock()
	a.log.Warn("executor did not subscribe in time; killing it", "executor", r.key.executor, "timeout", a.cfg.ExecutorRegistrationTimeout)
	a.killExecutor(r)
}

// killExecutor kills the run's whole process group (its tasks'
// processes are in groups of their own, which the executor's death does
// not reach: they are killed through the executor or left to it).
func (a *Agent) killExecutor(r *executorRun) {
	a.mu.Lock()
	pid, start := r.rec.PID, r.rec.StartTime
	a.mu.Unlock()
	if pid <= 1 || !processAlive(pid, start) {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	killSession(pid, start)
}

// watchRecovered waits for a recovered executor, which is not the
// agent's child, to exit, by polling /proc.
func (a *Agent) watchRecovered(r *executorRun) {
	defer a.execWG.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-a.quit:
			return
		case <-t.C:
		}
		if !processAlive(r.rec.PID, r.rec.StartTime) {
			a.executorExited(r, "Executor terminated", true, nil) // not its parent: no status
			return
		}
	}
}

// executorExited forgets an executor whose process has ended; its tasks
// that have not ended fail (or, after a SHUTDOWN, are killed): with
// REASON_CONTAINER_LIMITATION_MEMORY when the process, failed, may have
// died of its cgroup's memory cap, and the kernel says it did. The master
// hears of a named executor's exit, with its wait status when the agent
// knows it (status; nil otherwise), unless a new run of it has taken its
// place already: to the master the executor still runs.
func (a *Agent) executorExited(r *executorRun, msg string, failed bool, status *api.Int64) {
	// Before the run leaves a.executors, where the collector looks for
	// live runs: its sandbox is kept Config.SandboxGCDelay from now
	// (gc.go), not from when the run began.
	if err := markEnded(r.rec.Dir, time.Now()); err != nil {
		a.log.Warn("executor's sandbox is counted from its last change", "dir", r.rec.Dir, "err", err)
	}
	a.mu.Lock()
	if r.exited {
		a.mu.Unlock()
		return
	}
	// Out of a.executors, the run is still held from the collector until
	// what the executor left running is killed and its tasks' ends are
	// on disk.
	a.holdRun(r)
	defer a.releaseRun(r)
	if failed && r.exitMsg == "" && r.exitState == "" && !r.shutdown && r.oomKilled() {
		r.exitReason = api.ReasonContainerLimitationMemory
		r.exitMsg = fmt.Sprintf("Memory limit exceeded: the executor's cgroup reached its cap of %d MiB (its tasks' memory plus the executor's overhead) and the kernel killed the executor",
			r.cgHave.MemoryBytes>>20)
	}
	r.exited = true
	close(r.done)
	if r.regTimer != nil {
		r.regTimer.Stop()
	}
	if r.idle != nil {
		r.idle.Stop()
	}
	r.stream.close()
	r.stream = nil
	next := a.executors[r.key]
	replaced := next != nil && next != r
	if next == r {
		delete(a.executors, r.key)
	}
	a.forgetShared(r)
	if r.exitMsg != "" {
		msg = r.exitMsg
	}
	var left []*execTask
	var used []*api.Labels // what each task of left used, by the executor's last report
	var stops []func()
	var unsent []bool // whether each task of left was still being prepared
	for _, id := range r.allTasks {
		if t := r.tasks[id]; t != nil {
			t.stopFetch()
			left = append(left, t)
			unsent = append(unsent, !t.queued)
			used = append(used, usageLabels(t.stats))
			stops = append(stops, t.stopChecks)
			delete(a.taskIndex, taskKey{r.key.framework, id})
		}
	}
	r.tasks = map[string]*execTask{}
	state, reason := api.TaskFailed, r.exitReason
	switch {
	case r.exitState != "":
		state, reason = r.exitState, ""
	case r.exitLost:
		state = api.TaskLost
	case r.shutdown:
		state = api.TaskKilled
	}
	all := slices.Clone(r.allTasks)
	pid, start := r.rec.PID, r.rec.StartTime
	a.mu.Unlock()
	runAll(stops)
	// What the executor left running of its tasks dies with it.
	killSession(pid, start)
	a.log.Info("executor exited", "framework", r.key.framework, "executor", r.key.executor, "tasks_left", len(left),
		"peak_memory", r.peakMemory())
	for i, t := range left {
		if a.updates.hasTerminal(r.key.framework, t.info.TaskID.Value) {
			continue
		}
		st := api.TaskStatus{State: state, Reason: reason, Message: msg, Source: api.SourceAgent, Labels: used[i]}
		if unsent[i] && r.shutdown && r.exitState == "" {
			// Shut down while it was prepared (its fetch cancelled):
			// killed, as killTask says of a task killed then, even by a
			// SHUTDOWN_EXECUTOR (exitLost), which loses only what ran.
			st.State, st.Reason, st.Message = api.TaskKilled, api.ReasonTaskKilledDuringLaunch, "Task killed before it was launched"
		}
		a.reportFor(r, t, st)
	}
	if r.named() && !replaced {
		a.reportExecutorExited(r.key, status)
	}
	if err := a.store.deleteExecutor(r.key.framework, r.key.executor); err != nil {
		a.log.Error("forget executor", "executor", r.key.executor, "err", err)
	}
	// agent.db keys an executor by its framework and ID: a new executor
	// of the same ID, launched while this one shut down, may have been
	// written before the deletion, which took it too. It is written again.
	a.mu.Lock()
	if next := a.executors[r.key]; next != nil && next != r {
		next.recDirty = true
		for id, t := range next.tasks {
			next.dirty[id] = t.index
		}
		a.checkpoint(next)
	}
	a.mu.Unlock()
	if err := a.store.forgetSeen(r.key.framework, all); err != nil {
		a.log.Error("forget executor's updates", "executor", r.key.executor, "err", err)
	}
	a.removeCgroup(r)
}

func runAll(fs []func()) {
	for _, f := range fs {
		if f != nil {
			f()
		}
	}
}

// reportFor checkpoints and queues an update the agent makes about one of
// an executor's tasks.
// A task removed from its run (remove) has its sandbox queued for
// collection once the update is on disk; not if it could not be written,
// since nothing makes it again: that sandbox goes with its run (gc.go).
func (a *Agent) reportFor(r *executorRun, t *execTask, st api.TaskStatus) {
	t.annotate(&st)
	st.TaskID = t.info.TaskID
	st.ExecutorID = &api.ExecutorID{Value: r.key.executor}
	st.ContainerStatus = &api.ContainerStatus{ContainerID: &api.ContainerID{Value: r.rec.Container}}
	a.labelSandbox(r, &st, t)
	written := a.report(r.key.framework, st)
	if !t.ended.IsZero() {
		a.markTaskEnded(t)
		if written {
			a.mu.Lock()
			r.queueEnded(t, nil)
			a.mu.Unlock()
		}
	}
}

// labelSandbox adds the task's sandbox directory, as the files API names
// it, to an update (api.SandboxLabel), so that `mezzo run` and the
// console find the task's stdout wherever its executor put it. A custom
// executor puts its tasks where it likes: its sandbox is named.
func (a *Agent) labelSandbox(r *executorRun, st *api.TaskStatus, t *execTask) {
	dir := t.dir
	if r.rec.ExecutorInfo.Command != nil {
		dir = r.rec.Dir
	}
	rel, err := filepath.Rel(a.cfg.sandboxRoot(), dir)
	if err != nil || dir == "" {
		return
	}
	if st.Labels == nil {
		st.Labels = &api.Labels{}
	} else {
		st.Labels = &api.Labels{Labels: slices.Clone(st.Labels.Labels)}
	}
	st.Labels.Labels = append(st.Labels.Labels, api.Label{Key: api.SandboxLabel, Value: "/" + filepath.ToSlash(rel)})
}

// send sends an event to the executor, or keeps it until the executor
// subscribes. a.mu must be held.
func (a *Agent) send(r *executorRun, ev api.ExecutorEvent) {
	if r.stream != nil && r.stream.send(ev) {
		r.markSent(ev)
		return
	}
	r.pending = append(r.pending, ev)
}

// markSent records that the tasks an event launches went out. a.mu must
// be held.
func (r *executorRun) markSent(ev api.ExecutorEvent) {
	var infos []api.TaskInfo
	switch {
	case ev.Launch != nil:
		infos = []api.TaskInfo{ev.Launch.Task}
	case ev.LaunchGroup != nil:
		infos = ev.LaunchGroup.TaskGroup.Tasks
	}
	for _, ti := range infos {
		if t := r.tasks[ti.TaskID.Value]; t != nil && !t.sent {
			t.sent = true
			r.touch(t)
		}
	}
}

// shutdownRun asks an executor to shut down, and kills it if it has not
// exited after the grace period. An executor never started is forgotten
// and its tasks are killed. a.mu must be held.
func (a *Agent) shutdownRun(r *executorRun) {
	if r.shutdown || r.exited {
		return
	}
	r.shutdown = true
	a.forgetShared(r)
	// Its tasks still being prepared are killed: their downloads stop
	// now (prepare reports them), not when they end or time out.
	for _, t := range r.tasks {
		if !t.queued {
			t.stopFetch()
		}
	}
	if r.cancelStart != nil {
		r.cancelStart()
	}
	if !r.started {
		a.execWG.Add(1)
		go func() {
			defer a.execWG.Done()
			a.executorExited(r, "Executor shut down before it started", false, nil)
		}()
		return
	}
	a.send(r, api.ExecutorEvent{Type: api.ExecutorEventShutdown})
	grace := shutdownGrace(a.cfg, r)
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		select {
		case <-r.done:
		case <-time.After(grace):
			a.killExecutor(r)
		}
	}()
}

// shutdownExecutor carries out SHUTDOWN_EXECUTOR, which a framework's
// SHUTDOWN call sends: the executor is shut down as shutdownFramework
// shuts down all of a framework's (shutdownRun), and the tasks it leaves
// live when it exits end as TASK_LOST with REASON_EXECUTOR_TERMINATED,
// as Mesos's agent ends them once it destroys an executor that outlived
// its grace period. An executor this agent does not run, gone already or
// never here, is ignored, as in Mesos; one shutting down already keeps
// the fate its shutdown gave its tasks.
func (a *Agent) shutdownExecutor(s *api.AgentShutdownExecutor) {
	if err := s.Validate(); err != nil {
		a.log.Warn("ignoring SHUTDOWN_EXECUTOR", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.executors[execKey{s.FrameworkID.Value, s.ExecutorID.Value}]
	if r == nil || r.shutdown || r.exited {
		a.log.Info("ignoring SHUTDOWN_EXECUTOR: no such executor running", "framework", s.FrameworkID.Value,
			"executor", s.ExecutorID.Value)
		return
	}
	a.log.Info("shutting down an executor at its framework's request", "framework", s.FrameworkID.Value,
		"executor", s.ExecutorID.Value)
	r.exitLost = true
	r.exitMsg = "Executor shut down at its framework's request (SHUTDOWN); its task was lost with it"
	a.shutdownRun(r)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
