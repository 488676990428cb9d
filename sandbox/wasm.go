package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// WasmSpec says how to run a Wasm task's module.
type WasmSpec struct {
	// Name is argv[0], passed as is (it may be empty).
	Name string

	// Args are the arguments after argv[0]. None may contain NUL.
	Args []string

	// Entrypoint is the exported function to run, with no parameters and
	// no results. Empty means "_start", the WASI command entry point.
	Entrypoint string
}

// StartWasm starts a task running m, and returns at once.
//
// The guest sees WASI preview 1 (wasi_snapshot_preview1) and nothing else:
// its arguments (w.Name, then w.Args), exactly spec.Env, the directory
// spec.Dir at "/" (also its working directory), real clocks and sleeps,
// and random bytes from crypto/rand. Its stdin is empty; its stdout and
// stderr go to spec.Dir/stdout and spec.Dir/stderr. Its linear memory is
// capped by spec.MemoryBytes.
//
// StartWasm returns an error, and no Process, only when it cannot try: the
// engine is closed, m is not from this engine, spec is invalid, the
// output files cannot be opened, or ctx is already done. A task that
// cannot run (a missing import or entry point, an initial memory larger
// than the cap, a failed instantiation) gets a Process all the same, whose
// Wait reports ReasonLaunchFailed or ReasonMemoryLimit with an error
// naming the cause.
//
// ctx carries values to wazero (such as experimental function listeners)
// but does not bound the task: cancelling it once StartWasm has returned
// does not stop the task; Kill does.
func (e *Engine) StartWasm(ctx context.Context, m *Module, spec Spec, w WasmSpec) (Process, error) {
	if m == nil || m.engine != e {
		return nil, errors.New("start module: module is nil or from another engine")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	dir, err := spec.validate()
	if err == nil {
		err = checkArgs(append([]string{w.Name}, w.Args...))
	}
	if err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	entry := w.Entrypoint
	if entry == "" {
		entry = "_start"
	}

	pages := limitPages(spec.MemoryBytes)
	if m.minPages > pages {
		return launchFailed(ReasonMemoryLimit, fmt.Errorf(
			"start module %s: initial memory of %d pages exceeds the limit of %d pages (%d bytes)",
			m.sha, m.minPages, pages, uint64(pages)*pageSize)), nil
	}
	if m.missing != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start module %s: %w", m.sha, m.missing)), nil
	}
	if f := m.compiled.ExportedFunctions()[entry]; f == nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf(
			"start module %s: no exported function %q", m.sha, entry)), nil
	} else if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf(
			"start module %s: entry point %q takes parameters or returns results", m.sha, entry)), nil
	}

	out, err := openOutput(dir)
	if err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &wasmProcess{
		module: m,
		entry:  entry,
		mem:    newLinearMemory(pages),
		cancel: cancel,
		stop:   runCtx.Done(),
		done:   make(chan struct{}),
	}
	p.config = wazero.NewModuleConfig().
		WithName("").         // anonymous, so instances of one module do not clash
		WithStartFunctions(). // run below, to tell launch from run failures
		WithArgs(append([]string{w.Name}, w.Args...)...).
		WithStdout(out.stdout).
		WithStderr(out.stderr).
		WithFSConfig(fsConfig(dir)).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(p.sleep).
		WithRandSource(rand.Reader)
	for _, k := range envKeys(spec.Env) {
		p.config = p.config.WithEnv(k, spec.Env[k])
	}
	if err := e.register(p); err != nil {
		cancel()
		out.close()
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	go p.run(runCtx, out)
	return p, nil
}

// wasmProcess is a task running a Module. It runs on one goroutine, locked
// to its OS thread so that the thread's CPU time is the task's.
type wasmProcess struct {
	module *Module
	entry  string
	config wazero.ModuleConfig
	mem    *linearMemory
	cancel context.CancelFunc // stops the guest; see WithCloseOnContextDone
	stop   <-chan struct{}    // closed by cancel
	done   chan struct{}      // closed when result is set

	mu     sync.Mutex // guards the fields below
	timing bool       // clock is valid: the guest's thread is locked
	ended  bool       // the guest has returned; the clock is no longer valid
	killed bool       // Kill was called before the guest returned
	clock  cpuClock
	usage  Usage

	result Result // set before done is closed
}

// run instantiates the module, runs its entry point and records how it
// ended.
func (p *wasmProcess) run(ctx context.Context, out output) {
	defer close(p.done)
	defer p.module.engine.unregister(p)
	defer p.cancel()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p.mu.Lock()
	p.clock = startCPUClock()
	p.timing = true
	p.mu.Unlock()

	r := p.execute(ctx)

	p.mu.Lock()
	p.ended = true
	p.usage = Usage{CPUSeconds: p.clock.seconds(), PeakMemoryBytes: p.mem.size.Load()}
	r.Usage = p.usage
	if p.killed {
		r = Result{ExitCode: -1, Reason: ReasonKilled, Usage: r.Usage,
			Err: fmt.Errorf("module %s: killed", p.module.sha)}
	}
	p.mu.Unlock()

	// Writes went straight to the files, so there is nothing to flush and
	// a failed close loses nothing the task wrote.
	_ = out.close()
	p.result = r
}

// execute instantiates and runs the guest, and classifies how it ended.
func (p *wasmProcess) execute(ctx context.Context) (r Result) {
	sha := p.module.sha
	ctx = experimental.WithMemoryAllocator(ctx, p.mem)
	mod, err := p.instantiate(ctx)
	if err != nil {
		return Result{ExitCode: -1, Reason: ReasonLaunchFailed,
			Err: fmt.Errorf("instantiate module %s: %w", sha, err)}
	}
	defer mod.Close(context.WithoutCancel(ctx))

	_, err = mod.ExportedFunction(p.entry).Call(ctx)
	var exit *sys.ExitError
	switch {
	case err == nil:
		return Result{}
	case errors.As(err, &exit) && exit.ExitCode() == 0:
		return Result{}
	case errors.As(err, &exit):
		r = Result{ExitCode: int(exit.ExitCode())}
	default:
		r = Result{ExitCode: -1, Reason: ReasonTrap,
			Err: fmt.Errorf("module %s trapped: %w", sha, err)}
	}
	if refused := p.mem.refused.Load(); refused > 0 {
		r.Reason = ReasonMemoryLimit
		r.Err = fmt.Errorf("module %s: memory limit of %d pages reached: a grow to %d pages was refused; then %w",
			sha, p.mem.limit/pageSize, refused/pageSize, endError(r.ExitCode, err))
	}
	return r
}

// endError describes how a guest ended after a refused grow.
func endError(code int, err error) error {
	if code >= 0 {
		return fmt.Errorf("exited with code %d", code)
	}
	return fmt.Errorf("trapped: %w", err)
}

// instantiate instantiates the module. wazero may panic on a hostile
// module rather than return an error; that is a launch failure too, not a
// reason to crash the executor.
func (p *wasmProcess) instantiate(ctx context.Context) (mod api.Module, err error) {
	defer func() {
		if v := recover(); v != nil {
			mod, err = nil, fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	return p.module.engine.runtime.InstantiateModule(ctx, p.module.compiled, p.config)
}

// sleep implements the guest's sleeps (WASI poll_oneoff on a clock). It is
// wazero's WithSysNanosleep, except that Kill cuts it short: wazero can
// stop a running guest but not one blocked in a host function.
func (p *wasmProcess) sleep(ns int64) {
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stop:
	}
}

func (p *wasmProcess) Wait() Result {
	<-p.done
	return p.result
}

// Kill stops the guest by cancelling the context it runs under; wazero
// then closes the module at the next loop header. grace is ignored.
func (p *wasmProcess) Kill(time.Duration) {
	p.mu.Lock()
	if p.ended || p.killed {
		p.mu.Unlock()
		return
	}
	p.killed = true
	p.mu.Unlock()
	p.cancel()
}

func (p *wasmProcess) Usage() Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return p.usage
	}
	var cpu float64
	if p.timing {
		cpu = p.clock.seconds()
	}
	return Usage{CPUSeconds: cpu, PeakMemoryBytes: p.mem.size.Load()}
}
