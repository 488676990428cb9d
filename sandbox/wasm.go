package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// WasmSpec says how to run a Wasm task's module.
type WasmSpec struct {
	// Name is argv[0], passed as is (it may be empty).
	Name string

	// Args are the arguments after argv[0]. None may contain NUL, and
	// all, like Name and Spec.Env, must be valid UTF-8: WASI passes
	// strings.
	Args []string

	// Entrypoint is the exported function to run, with no parameters and
	// no results. Empty means "_start", the WASI command entry point.
	Entrypoint string

	// Engine names the engine to run the task on, Wasmtime or Wazero;
	// empty means the Engine's default (EngineConfig.DefaultEngine). An
	// engine other than the default compiles the module when the first
	// task asks for it, which delays that task's start. StartWasm refuses
	// an unknown name, and Wasmtime in a build without cgo with an error
	// wrapping errors.ErrUnsupported.
	Engine string
}

// StartWasm starts a task running m, and returns at once.
//
// The guest sees WASI preview 1 (wasi_snapshot_preview1) and nothing else:
// its arguments (w.Name, then w.Args), exactly spec.Env, the directory
// spec.Dir at "/" (also its working directory), real clocks and sleeps,
// and random bytes from the operating system. Its stdin is empty; its
// stdout and stderr go to spec.Dir/stdout and spec.Dir/stderr. Its linear
// memory is capped by spec.MemoryBytes and its CPU time by spec.CPUTime.
// It cannot create symbolic links. The engines differ in details that
// RATIONALE.md lists (wasmtime also refuses to follow a link that leads out
// of spec.Dir, which wazero follows).
//
// StartWasm returns an error, and no Process, only when it cannot try: the
// engine is closed, m is not from this engine or was released
// (Engine.Release), spec or w is invalid
// (including an unknown or unavailable w.Engine), the output files cannot
// be opened, or ctx is already done. A task that cannot run (a missing
// import or entry point, an initial memory larger than the cap, a failed
// instantiation or compilation) gets a Process all the same, whose Wait
// reports ReasonLaunchFailed or ReasonMemoryLimit with an error naming the
// cause.
//
// ctx carries values to the engine (such as wazero's experimental
// function listeners) but does not bound the task: cancelling it once
// StartWasm has returned does not stop the task; Kill does.
func (e *Engine) StartWasm(ctx context.Context, m *Module, spec Spec, w WasmSpec) (Process, error) {
	if m == nil || m.engine != e {
		return nil, errors.New("start module: module is nil or from another engine")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	if e.released(m) { // checked again, for good, as the task registers
		return nil, fmt.Errorf("start module %s: %w", m.sha, errReleased)
	}
	argv := append([]string{w.Name}, w.Args...)
	dir, err := spec.validate()
	if err == nil {
		err = checkArgs(argv)
	}
	if err == nil {
		err = checkUTF8(argv, spec.Env)
	}
	var b backend
	if err == nil {
		b, err = e.backend(w.Engine)
	}
	if err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	entry := w.Entrypoint
	if entry == "" {
		entry = "_start"
	}
	if failed := m.launchable(entry, spec.MemoryBytes); failed != nil {
		return failed, nil
	}

	out, err := openOutput(dir, spec.outputLimits())
	if err != nil {
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &wasmProcess{
		module:  m,
		backend: b,
		budget:  spec.CPUTime,
		ctx:     runCtx,
		cancel:  cancel,
		done:    make(chan struct{}),
		task: task{
			sha:   m.sha,
			entry: entry,
			argv:  argv,
			env:   maps.Clone(spec.Env),
			keys:  envKeys(spec.Env),
			dir:   dir,
			out:   out,
			limit: uint64(limitPages(spec.MemoryBytes)) * pageSize,
		},
	}
	if p.budget > 0 {
		p.task.overBudget = p.overBudget
	}
	if err := e.register(p); err != nil {
		cancel()
		out.close()
		return nil, fmt.Errorf("start module %s: %w", m.sha, err)
	}
	go p.run()
	return p, nil
}

// checkUTF8 refuses arguments and environment variables that are not
// valid UTF-8: WASI passes strings, and wasmtime drops the others.
func checkUTF8(argv []string, env map[string]string) error {
	for i, a := range argv {
		if !utf8.ValidString(a) {
			return fmt.Errorf("argument %d is not valid UTF-8", i)
		}
	}
	for k, v := range env {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("environment variable %q is not valid UTF-8", k)
		}
	}
	return nil
}

// launchable returns a Process that has already failed if a task of m
// with this entry point and memory cap cannot run, whatever the engine;
// nil if it can.
func (m *Module) launchable(entry string, memoryBytes uint64) *ended {
	pages := limitPages(memoryBytes)
	if m.minPages > uint64(pages) {
		return launchFailed(ReasonMemoryLimit, fmt.Errorf(
			"start module %s: initial memory of %d pages exceeds the limit of %d pages (%d bytes)",
			m.sha, m.minPages, pages, uint64(pages)*pageSize))
	}
	if m.missing != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start module %s: %w", m.sha, m.missing))
	}
	f, ok := m.info.Export(entry)
	if !ok || f.Kind != module.KindFunction {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf(
			"start module %s: no exported function %q", m.sha, entry))
	}
	if len(f.Type.Params) != 0 || len(f.Type.Results) != 0 {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf(
			"start module %s: entry point %q takes parameters or returns results: %v", m.sha, entry, f.Type))
	}
	return nil
}

// wasmProcess is a task running a Module on one engine. It runs on one
// goroutine, locked to its OS thread while the guest runs so that the
// thread's CPU time is the task's.
type wasmProcess struct {
	module  *Module
	backend backend
	budget  time.Duration      // Spec.CPUTime
	ctx     context.Context    // done when the guest must stop
	cancel  context.CancelFunc // stops the guest
	done    chan struct{}      // closed when result is set
	task    task

	mu      sync.Mutex // guards the fields below
	timing  bool       // clock is valid: the guest's thread is locked
	ended   bool       // the guest has returned; the clock is no longer valid
	stopped Reason     // ReasonKilled or ReasonCPULimit once stopped
	clock   cpuClock
	usage   Usage

	result Result // set before done is closed
}

// run compiles the module for the task's engine if need be, runs the
// guest, and records how it ended.
func (p *wasmProcess) run() {
	defer close(p.done)
	defer p.module.engine.unregister(p)
	defer p.cancel()

	var o outcome
	if c, err := p.module.compiledFor(p.ctx, p.backend); err != nil {
		o = outcome{launch: err}
	} else {
		o = p.execute(c)
	}

	p.mu.Lock()
	p.ended = true // already, unless the guest never ran
	r := p.resultOf(o)
	r.Usage = p.usage
	p.mu.Unlock()

	// Writes went straight to the files or pipes, so there is nothing to
	// flush and a failed close loses nothing the task wrote; what is
	// still in a pipe reaches its file before the result is out.
	_ = p.task.out.close()
	p.task.out.drain(outputDrainTimeout)
	p.result = r
}

// execute runs the guest on this goroutine's own OS thread, and records
// its usage.
func (p *wasmProcess) execute(c compiled) outcome {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p.mu.Lock()
	p.clock = startCPUClock()
	p.timing = true
	p.mu.Unlock()
	if p.budget > 0 {
		defer p.watchCPU()()
	}

	o := c.run(p.ctx, &p.task)

	p.mu.Lock()
	p.ended = true
	p.usage = Usage{CPUSeconds: p.clock.seconds(), PeakMemoryBytes: p.task.memory.Load(), Fuel: p.task.fuel.Load()}
	p.mu.Unlock()
	return o
}

// resultOf turns a guest's outcome into a Result. p.mu must be held.
func (p *wasmProcess) resultOf(o outcome) Result {
	sha := p.module.sha
	switch {
	case p.stopped == ReasonKilled:
		return Result{ExitCode: -1, Reason: ReasonKilled, Err: fmt.Errorf("module %s: killed", sha)}
	case p.stopped == ReasonCPULimit:
		return Result{ExitCode: -1, Reason: ReasonCPULimit, Err: fmt.Errorf(
			"module %s: CPU time limit of %v reached", sha, p.budget)}
	case o.launch != nil:
		return Result{ExitCode: -1, Reason: ReasonLaunchFailed, Err: fmt.Errorf("start module %s: %w", sha, o.launch)}
	case o.trap == nil && o.code == 0:
		return Result{}
	}
	r := Result{ExitCode: o.code}
	if o.trap != nil {
		r = Result{ExitCode: -1, Reason: ReasonTrap, Err: fmt.Errorf("module %s trapped: %w", sha, o.trap)}
	}
	limit := p.task.limit / pageSize
	switch {
	case o.refused > 0:
		r.Reason = ReasonMemoryLimit
		r.Err = fmt.Errorf("module %s: memory limit of %d pages reached: a grow to %d pages was refused; then %w",
			sha, limit, o.refused/pageSize, endError(r.ExitCode, o.trap))
	case o.nearLimit:
		r.Reason = ReasonMemoryLimit
		r.Err = fmt.Errorf("module %s: memory limit of %d pages reached: it ended at %d pages, too near the limit to grow; then %w",
			sha, limit, p.task.memory.Load()/pageSize, endError(r.ExitCode, o.trap))
	}
	return r
}

// endError describes how a guest ended after reaching its memory limit.
func endError(code int, trap error) error {
	if trap == nil {
		return fmt.Errorf("exited with code %d", code)
	}
	return fmt.Errorf("trapped: %w", trap)
}

func (p *wasmProcess) Wait() Result {
	<-p.done
	return p.result
}

// Kill stops the guest by cancelling the context it runs under; each
// engine watches it (see compiled.run). grace is ignored.
func (p *wasmProcess) Kill(time.Duration) { p.stop(ReasonKilled) }

// stop stops the guest for the reason given, unless it has ended or was
// stopped already.
func (p *wasmProcess) stop(why Reason) {
	p.mu.Lock()
	if p.ended || p.stopped != ReasonNone {
		p.mu.Unlock()
		return
	}
	p.stopped = why
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
	return Usage{CPUSeconds: cpu, PeakMemoryBytes: p.task.memory.Load(), Fuel: p.task.fuel.Load()}
}
