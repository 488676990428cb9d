package executor

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
)

// Why Run ends, as the cause of its context.
var (
	// errDone: every task has ended and every update is acknowledged.
	errDone = errors.New("no tasks left and every update acknowledged")
	// errShutdownDeadline: the shutdown grace period is nearly over.
	errShutdownDeadline = errors.New("shutdown grace period nearly over")
)

// executor is one run of Run.
//
// Lock order: task.sendMu, then executor.mu, then task.mu (the client's
// own lock comes last of all).
type executor struct {
	cfg     Config
	client  *sdk.Client
	log     *slog.Logger
	ctx     context.Context // ends when Run is ending
	cancel  context.CancelCauseFunc
	modules *modules
	spares  *sandbox.CgroupSpares // native tasks' cgroups made ahead; nil under rlimits
	wg      sync.WaitGroup        // task goroutines and the usage reports

	mu           sync.Mutex
	tasks        map[string]*task // tasks not yet ended
	seen         map[string]bool  // every task ID launched here (see forget)
	endedIDs     []string         // tasks ended and still in seen, oldest first
	launched     bool             // a task was launched
	sandboxUsed  bool             // a task runs (or ran) in the sandbox itself
	shuttingDown bool
	shutdownTime *time.Timer
	killingState bool // the framework has TASK_KILLING_STATE
	agentID      string
	container    *api.ContainerID

	memLimit uint64 // the cgroup cap last followed; only reportUsage's goroutine uses it
}

// Run runs an executor: it subscribes to the agent named by
// cfg.Client, runs the tasks the agent launches, reports their states,
// and returns when the executor is done:
//
//   - nil once it has launched tasks, all have ended and the agent has
//     acknowledged every update (as Mesos's command executor exits);
//   - nil after a SHUTDOWN, once every task is killed and its TASK_KILLED
//     acknowledged, or when the shutdown grace period is nearly over;
//   - nil when ctx ends;
//   - an error when the agent is gone for longer than
//     cfg.Client.RecoveryTimeout or refuses the subscription, or for a
//     bad cfg.
//
// Tasks still running when Run returns are killed, and Run waits for
// them.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	x := &executor{
		cfg:     cfg,
		client:  sdk.New(cfg.Client),
		log:     cfg.Logger.With("executor", cfg.Client.ExecutorID, "framework", cfg.Client.FrameworkID),
		ctx:     ctx,
		cancel:  cancel,
		modules: newModules(cfg.ModulesDir, cfg.ModuleCache, cfg.WasmEngine, cfg.WasmFuel),
		tasks:   map[string]*task{},
		seen:    map[string]bool{},
		// A shared executor's sandbox is no task's own.
		sandboxUsed: cfg.Shared,
	}
	if cfg.NativeIsolation != sandbox.IsolationRlimits {
		x.spares = sandbox.NewCgroupSpares(cfg.CgroupParent)
	}
	x.logIsolation()
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		x.reportUsage(ctx)
	}()
	err := x.client.Run(ctx, x.handle)
	x.stop(err)
	if errors.Is(err, sdk.ErrShutdown) {
		err = nil
	}
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		x.log.Info("executor exiting", "why", cause)
	}
	return err
}

// logIsolation says once what will confine native tasks, and removes
// the empty task cgroups that executors killed with SIGKILL left behind.
func (x *executor) logIsolation() {
	v, err := sandbox.CgroupsAvailable()
	switch {
	case x.cfg.NativeIsolation == sandbox.IsolationRlimits:
		x.log.Info("native tasks run under rlimits, as configured: each of their processes' memory is capped by RLIMIT_DATA")
	case err != nil && x.cfg.NativeIsolation == sandbox.IsolationCgroups:
		x.log.Error("native tasks must run in cgroups, as configured, but cannot: they will fail to launch", "err", err)
	case err != nil:
		x.log.Warn("native tasks run without cgroups: each of their processes' memory is capped by RLIMIT_DATA", "err", err)
	default:
		x.log.Info("native tasks run in cgroups", "version", v)
	}
	if err == nil {
		if n := sandbox.SweepCgroups(x.cfg.CgroupParent); n > 0 {
			x.log.Info("removed cgroups left by dead executors", "count", n)
		}
	}
}

// handle is the executor's event handler; it runs on the client's Run
// goroutine.
func (x *executor) handle(ctx context.Context, ev *api.ExecutorEvent) error {
	switch ev.Type {
	case api.ExecutorEventSubscribed:
		x.subscribed(ev.Subscribed)
	case api.ExecutorEventLaunch:
		x.launch([]api.TaskInfo{ev.Launch.Task}, false, ev.Launch.ExecutorSandbox)
	case api.ExecutorEventLaunchGroup:
		x.launch(ev.LaunchGroup.TaskGroup.Tasks, true, nil)
	case api.ExecutorEventKill:
		x.killTask(ev.Kill)
	case api.ExecutorEventAcknowledged:
		x.checkDone()
	case api.ExecutorEventShutdown:
		x.shutdown()
	case api.ExecutorEventMessage:
		x.log.Debug("message from the framework ignored", "bytes", len(ev.Message.Data))
	case api.ExecutorEventError:
		x.log.Warn("agent sent ERROR", "message", ev.Error.Message)
	}
	return nil
}

// subscribed records what the agent says about the executor.
func (x *executor) subscribed(s *api.ExecutorSubscribed) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.killingState = s.FrameworkInfo.HasCapability(api.CapTaskKillingState)
	if s.AgentInfo.ID != nil {
		x.agentID = s.AgentInfo.ID.Value
	}
	x.container = s.ContainerID
	x.log.Info("subscribed to the agent", "agent", x.agentID, "tasks", len(x.tasks))
}

// checkDone ends Run when there is nothing left to do: no task runs, at
// least one ran (or a shutdown was asked for), and the agent has
// acknowledged every update. It is called after each acknowledgement and
// each time a task ends, from any goroutine.
func (x *executor) checkDone() {
	x.mu.Lock()
	// A shared executor waits for more tasks until the agent shuts it
	// down.
	idle := len(x.tasks) == 0 && ((x.launched && !x.cfg.Shared) || x.shuttingDown)
	x.mu.Unlock()
	if !idle {
		return
	}
	if _, updates := x.client.Unacknowledged(); len(updates) == 0 {
		x.cancel(errDone)
	}
}

// shutdown kills every task, as the agent asked. Each ends as
// TASK_KILLED; Run returns once those updates are acknowledged, or when
// the grace period is nearly over.
func (x *executor) shutdown() {
	grace := x.cfg.Client.ShutdownGracePeriod
	x.mu.Lock()
	if x.shuttingDown {
		x.mu.Unlock()
		return
	}
	x.shuttingDown = true
	// Leave a fifth of the grace period (at most a second) to send the
	// last updates and exit before the agent destroys the container.
	margin := min(grace/5, time.Second)
	x.shutdownTime = time.AfterFunc(grace-margin, func() { x.cancel(errShutdownDeadline) })
	tasks := x.running()
	x.mu.Unlock()
	x.log.Info("shutting down", "tasks", len(tasks), "grace", grace)
	for _, t := range tasks {
		x.kill(t, min(x.graceOf(t, nil), grace/2))
	}
	x.checkDone()
}

// running returns the tasks not yet ended. x.mu must be held.
func (x *executor) running() []*task {
	out := make([]*task, 0, len(x.tasks))
	for _, t := range x.tasks {
		out = append(out, t)
	}
	return out
}

// stop kills what still runs once the client's Run has returned (with
// err), waits for the tasks and releases the Wasm engine and the spare
// cgroup.
func (x *executor) stop(err error) {
	x.cancel(context.Canceled)
	x.mu.Lock()
	if x.shutdownTime != nil {
		x.shutdownTime.Stop()
	}
	x.shuttingDown = true
	tasks := x.running()
	x.mu.Unlock()
	if len(tasks) > 0 {
		x.log.Warn("killing the tasks still running", "tasks", len(tasks), "err", err)
	}
	for _, t := range tasks {
		t.kill(0)
	}
	x.wg.Wait()
	x.modules.close()
	x.spares.Close()
}
