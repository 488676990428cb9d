// Package sandbox runs one task, a WebAssembly module or a native process,
// in a sandbox directory, and reports how it ended and what it used.
//
// It knows nothing of masters, frameworks or agents: an executor gives it
// a directory, an environment, a memory cap and a CPU-time budget (a
// Spec), starts a task, and later waits for it or kills it through the
// returned Process.
//
// # Wasm tasks
//
// An Engine validates and compiles modules and starts tasks from them on
// one of two WebAssembly engines: wasmtime (through cgo; the default) or
// wazero (pure Go; the only one in a build without cgo). Engines lists
// those a build has, and RATIONALE.md says why wasmtime is the default.
// The guest sees WASI preview 1 only: its arguments and environment, the
// sandbox directory mounted at "/", real clocks and randomness, and
// stdout and stderr that go to the files stdout and stderr in the sandbox
// directory:
//
//	e, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{CacheDir: cacheDir})
//	...
//	m, err := e.Compile(ctx, wasmBytes) // once per distinct bytes
//	...
//	defer e.Release(m) // its code is freed once its tasks have ended
//	p, err := e.StartWasm(ctx, m,
//		sandbox.Spec{Dir: dir, MemoryBytes: 64 << 20, CPUTime: 10 * time.Second},
//		sandbox.WasmSpec{Name: "app", Args: []string{"-v"}})
//	...
//	switch r := p.Wait(); r.Reason {
//	case sandbox.ReasonNone:
//		log.Printf("exited with code %d", r.ExitCode)
//	case sandbox.ReasonMemoryLimit, sandbox.ReasonCPULimit:
//		log.Printf("over its limits: %v", r.Err)
//	default:
//		log.Printf("did not exit: %v", r.Err)
//	}
//
// A task may ask for the other engine (WasmSpec.Engine); its module is
// then compiled for that engine too, once:
//
//	p, err := e.StartWasm(ctx, m, spec, sandbox.WasmSpec{Engine: sandbox.Wazero})
//
// Compile refuses modules that module.Validate refuses (package
// github.com/mezzo-cluster/mezzo/api/module), such as a table that can
// grow without bound or 200,000 functions, before any engine sees them.
//
// # Native tasks
//
// StartCommand runs a command, Mesos-style (a shell string or an
// executable with its argv), in its own process group with the sandbox
// directory as working directory:
//
//	p, err := sandbox.StartCommand(ctx, sandbox.Spec{Dir: dir},
//		sandbox.CommandSpec{Shell: true, Value: "./server --port 8080"})
//	...
//	p.Kill(10 * time.Second) // SIGTERM to the group, SIGKILL 10 s later
//	r := p.Wait()
//
// Spec.User runs the task as another user, with that user's uid, gid and
// supplementary groups, which only a caller running as root can do;
// LookupUser finds one, User.Chown gives it the sandbox and
// User.CheckReach says whether it can reach it:
//
//	u, err := sandbox.LookupUser("nobody")
//	...
//	err = u.Chown(dir)
//	...
//	p, err := sandbox.StartCommand(ctx, sandbox.Spec{Dir: dir, User: u},
//		sandbox.CommandSpec{Shell: true, Value: "id -un"})
//
// Native tasks are supported on Linux only. Where the process may write a
// cgroup hierarchy (CgroupsAvailable says which version, or why none),
// each native task runs in a cgroup of its own under Spec.CgroupParent,
// from before its first instruction until it ends, when the cgroup is
// removed: Spec.MemoryBytes caps its memory there (an OOM kill ends it
// with ReasonMemoryLimit), its usage is the cgroup's, and Kill reaches
// every process in it, even those that left the process group. See
// RATIONALE.md, "Why one cgroup per native task?". Without cgroups, or
// under IsolationRlimits (Spec.Isolation), a native task starts as this
// very binary in its init mode, which sets MemoryBytes as RLIMIT_DATA
// (and CPUTime as RLIMIT_CPU) and execs the task; its usage comes from
// /proc and its exit status. A program that starts native tasks therefore
// begins its main (and its tests' TestMain) with
//
//	if sandbox.IsInit(os.Args) {
//		sandbox.Init(os.Args, os.Environ())
//	}
//
// See RATIONALE.md, "Why RLIMIT_DATA where there are no cgroups?".
//
// # Failures
//
// StartWasm and StartCommand return an error only when they cannot try:
// a bad Spec, a closed Engine, output files that cannot be opened. A task
// that cannot start (a missing import, a missing executable) still gets a
// Process, whose Result says ReasonLaunchFailed, so that every way a task
// can end is reported through Wait; Started tells such a Process from
// one whose task runs. Result.Reason classifies the end;
// Result.Err describes it and is nil exactly when the task exited by
// itself.
//
// What cannot be contained in-process (a loop-free call tree under
// wazero, host memory an engine allocates past a task's linear memory)
// is left to the executor process and its cgroup: an agent makes one
// with NewExecutorCgroup, starts the executor in it (ExecutorCgroup.Start)
// and resizes it with its tasks (SetLimits); the executor's native tasks
// make theirs below it (ExecutorCgroup.TaskParent), and the executor
// follows its cap with MemoryLimit. See RATIONALE.md, "Why a cgroup per
// executor, above the task cgroups?".
//
// # Reading the source
//
// engine.go holds Engine and its configuration, module.go the Module,
// wasm.go StartWasm and the Process of a Wasm task, budget.go the CPU-time
// budget. They drive an engine through the small interfaces of
// backend.go: wazero.go, memory.go and fs.go implement them with wazero,
// whose modules stackbound.go first instruments to bound their call
// stack (exportMemory in memexport.go does wasmtime's one rewrite; both
// share wasmbin.go); the *_wasmtime.go files (and glue_wasmtime.c) with wasmtime, and
// engine_nowasmtime.go stands in for those without cgo. command*.go run
// native tasks, in the cgroups of cgroup_linux.go or under the rlimits
// of rlimit_linux.go (isolation.go chooses); execcgroup_linux.go holds
// executors' cgroups.
//
// # Concurrency
//
// Engine, Module and Process are safe for concurrent use by multiple
// goroutines, and many tasks may run at once from one Engine and one
// Module. StartCommand may be called concurrently.
package sandbox
