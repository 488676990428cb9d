// Package executor is Mezzo's built-in executor, the program behind
// `mezzo executor`: a process an agent starts for one framework's
// executor, which subscribes to the agent over the v1 Executor API
// (through sdk/executor), runs the tasks the agent launches — Wasm
// modules in-process on one shared engine, native commands as its child
// processes — and reports their states.
//
// # A tour
//
// The agent passes everything in the environment; `mezzo executor` turns
// it into a Config and calls Run:
//
//	client, err := sdkexecutor.ConfigFromEnv(os.Getenv)
//	...
//	cfg := executor.DefaultConfig()
//	cfg.Client = client
//	cfg.ModulesDir = os.Getenv("MEZZO_MODULES_DIR")
//	cfg.ModuleCache = os.Getenv("MEZZO_MODULE_CACHE")
//	err = executor.Run(ctx, cfg)
//
// For each task the executor sends TASK_RUNNING once its command has been
// exec'd in its cgroup, or its module instantiated, with its limits in
// force (a Wasm task whose module is still to be compiled, which can take
// seconds, is first reported TASK_STARTING; the others start in about a
// millisecond or less, and TASK_STARTING is optional in Mesos); a task
// that never ran is never reported running. Then one terminal update:
// TASK_FINISHED or TASK_FAILED with Mesos's messages ("Command exited
// with status 3", "Command terminated with signal Segmentation fault")
// and, when the task exited by itself, its exit code in the label
// mezzo.exit_code, or, when a signal ended its native process (whoever
// sent it, a kill included), the signal's number in the label
// mezzo.signal; TASK_KILLED after a kill ("Task killed: Command
// terminated with signal Terminated" when its SIGTERM ended the
// process); TASK_FAILED with
// REASON_CONTAINER_LAUNCH_FAILED when it could not start, or with
// REASON_CONTAINER_LIMITATION_MEMORY past its memory (a cgroup's OOM
// kill, or a failure at its RLIMIT_DATA where Config.NativeIsolation or
// the machine leaves native tasks without cgroups), and with
// REASON_CONTAINER_LIMITATION past a CPU-time limit. The agent runs no
// task itself, so these are the only mappings (Outcome).
//
// Tasks run in the sandbox the agent gives (MESOS_SANDBOX): unless the
// executor is shared, the first task launched alone runs in the sandbox
// itself, as under Mesos's
// command executor; members of a task group, and any later task launched
// alone, run in tasks/<task ID> under it, as Mesos's default executor
// nests them. A LAUNCH that says where the agent placed its task
// (api.ExecutorLaunch.ExecutorSandbox) is followed instead. A Wasm task's module is read from MEZZO_MODULES_DIR, where
// the agent put it as <sha256>.wasm, and compiled when a task needs it
// and the executor does not hold it compiled (with MEZZO_MODULE_CACHE,
// the machine code is compiled once per machine and loaded after). The
// executor holds a module while tasks run it and, once the last has
// ended, among the few idle ones it keeps for a task that comes soon
// after; the others are released.
//
// While tasks run, the executor reports what each has used (CPU seconds,
// memory) to the agent every Config.UsageInterval, with USAGE, a Mezzo
// extension of the executor API (api.ExecutorUsage); a terminal update
// carries the task's totals in the labels mezzo.cpu_seconds and
// mezzo.peak_memory_bytes.
//
// LAUNCH_GROUP follows Mesos's default executor: when one task of a group
// fails or is killed, the others are killed. KILL uses the kill policy of
// the event, else the task's, else 3 s between SIGTERM and SIGKILL of the
// task's process group, and is preceded by TASK_KILLING when the framework
// has the TASK_KILLING_STATE capability. A task killed before it started
// ends as TASK_KILLED with REASON_TASK_KILLED_DURING_LAUNCH.
//
// # When the executor exits
//
// A shared executor (Config.Shared, MEZZO_EXECUTOR_SHARED=1) is the one
// the agent starts per framework for all of that framework's tasks that
// name no executor of their own: it runs each task in tasks/<task ID>,
// keeps a few compiled modules between tasks (so a second task of a
// module soon after instantiates in microseconds) and stays up while
// idle until the agent
// sends SHUTDOWN. Otherwise, as Mesos's command executor does, the
// executor exits once it has run tasks, all have ended, and the agent has
// acknowledged every update: it is not reused after its tasks are done,
// and an agent that launches more tasks for the same executor ID after
// that must start a new one (a LAUNCH that races the exit is lost with
// the executor, which the agent sees exit). On SHUTDOWN it kills every task (each with at
// most half the shutdown grace period), sends TASK_KILLED for each, and
// exits once those are acknowledged, or when four fifths of the grace
// period (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, 5 s by default) have
// passed. When the agent goes away the executor keeps its tasks running
// and re-subscribes, listing the tasks and updates the agent has not
// acknowledged, for up to MESOS_RECOVERY_TIMEOUT; if the agent does not
// come back it kills its tasks and exits with an error.
//
// # Concurrency
//
// Run may be called any number of times, concurrently, each call being
// an executor of its own. Within one, events are handled one at a time on
// the client's goroutine, and each task runs on a goroutine of its own
// that sends its updates in order.
package executor
