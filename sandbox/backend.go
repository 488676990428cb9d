package sandbox

import (
	"context"
	"sync/atomic"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// backend is one WebAssembly runtime behind an Engine: wazero or
// wasmtime. Engine does everything the two share (validation, caching of
// Modules, checks before a start, CPU time and budgets, Kill, Results),
// and a backend only compiles and runs. A new engine implements backend
// and compiled and joins the test suite's engine list; see RATIONALE.md.
type backend interface {
	// name returns the engine's name, such as Wazero.
	name() string

	// compile compiles wasm, whose SHA-256 is sha and which
	// module.Validate accepted as info. It is called at most once per
	// module, from any goroutine, concurrently with other compilations
	// and runs.
	compile(ctx context.Context, sha string, wasm []byte, info *module.Info) (compiled, error)

	// close releases the runtime. It is called once, after every task has
	// ended and every compiled module has been closed.
	close(ctx context.Context) error
}

// compiled is a module compiled by one backend.
type compiled interface {
	// run instantiates the module for one task, calls its entry point
	// and reports how that ended. It runs on the task's goroutine, locked
	// to its OS thread, and returns when the guest does; it must return
	// soon after ctx is done (the task was killed or ran out of CPU time)
	// wherever the engine can interrupt the guest. It keeps t.memory up to
	// date as the guest's memory grows, as far as the engine allows.
	run(ctx context.Context, t *task) outcome

	// close releases the compiled code, after every task using it has
	// ended.
	close(ctx context.Context)
}

// task is what a backend needs to run one Wasm task. StartWasm checked
// it: the entry point exists and has the right type, the imports are all
// WASI preview 1 functions, the initial memory is within limit.
type task struct {
	sha   string // the module's, for messages
	entry string
	argv  []string // w.Name, then w.Args
	env   map[string]string
	keys  []string // env's keys, sorted
	dir   string   // absolute
	out   output
	limit uint64 // bytes of linear memory, a whole number of pages

	// memory is the size of the guest's linear memory in bytes, written
	// by the backend and read by Process.Usage from any goroutine.
	memory atomic.Uint64

	// fuel is the fuel the guest has consumed, written by a backend that
	// counts it (wasmtime with EngineConfig.Fuel) and read like memory.
	fuel atomic.Uint64

	// overBudget, when the task has a CPU-time budget, checks it and
	// stops the task if it is spent; it returns whether it did. An engine
	// that calls back on the guest's thread as it runs may call it there,
	// which stops the guest even when the goroutine that watches the
	// budget is slow to run (on a loaded machine). Nil without a budget.
	overBudget func() bool
}

// outcome is how a guest's run ended, as a backend tells it. Engine turns
// it into a Result.
type outcome struct {
	// launch is set when the module could not be instantiated; the other
	// fields are then meaningless.
	launch error

	// trap is set when the guest trapped or was stopped; nil when it
	// returned from its entry point or called proc_exit.
	trap error

	// code is the guest's exit code when trap is nil.
	code int

	// refused is the largest size, in bytes, to which a memory.grow was
	// refused at the limit; 0 when none was, or when the engine cannot
	// tell (then nearLimit may say more).
	refused uint64

	// nearLimit is set by an engine that cannot see refused grows when
	// the guest's memory ended close enough to the limit that a grow was
	// likely refused.
	nearLimit bool
}
