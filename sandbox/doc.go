// Package sandbox runs one task, a WebAssembly module or a native process,
// in a sandbox directory, and reports how it ended and what it used.
//
// It knows nothing of masters, frameworks or agents: an executor gives it
// a directory, an environment and a memory cap (a Spec), starts a task,
// and later waits for it or kills it through the returned Process.
//
// # Wasm tasks
//
// An Engine compiles modules under wazero and starts tasks from them. The
// guest sees WASI preview 1 only: its arguments and environment, the
// sandbox directory mounted at "/", real clocks and randomness, and
// stdout and stderr that go to the files stdout and stderr in the sandbox
// directory:
//
//	e, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{CacheDir: cacheDir})
//	...
//	m, err := e.Compile(ctx, wasmBytes) // once per distinct bytes
//	...
//	p, err := e.StartWasm(ctx, m, sandbox.Spec{Dir: dir, MemoryBytes: 64 << 20},
//		sandbox.WasmSpec{Name: "app", Args: []string{"-v"}})
//	...
//	switch r := p.Wait(); r.Reason {
//	case sandbox.ReasonNone:
//		log.Printf("exited with code %d", r.ExitCode)
//	case sandbox.ReasonMemoryLimit:
//		log.Printf("out of memory: %v", r.Err)
//	default:
//		log.Printf("did not exit: %v", r.Err)
//	}
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
// Native tasks are supported on Linux only.
//
// # Failures
//
// StartWasm and StartCommand return an error only when they cannot try:
// a bad Spec, a closed Engine, output files that cannot be opened. A task
// that cannot start (a missing import, a missing executable) still gets a
// Process, whose Result says ReasonLaunchFailed, so that every way a task
// can end is reported through Wait. Result.Reason classifies the end;
// Result.Err describes it and is nil exactly when the task exited by
// itself.
//
// What cannot be contained in-process (a Wasm guest that wazero cannot
// interrupt, memory of native tasks) is left to the executor process and
// its cgroup; see DESIGN.md, "Agent and sandboxes", and RATIONALE.md in
// this directory.
//
// # Concurrency
//
// Engine, Module and Process are safe for concurrent use by multiple
// goroutines, and many tasks may run at once from one Engine and one
// Module. StartCommand may be called concurrently.
package sandbox
