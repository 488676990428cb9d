package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// The names of the WebAssembly engines, for EngineConfig.DefaultEngine
// and WasmSpec.Engine.
const (
	// Wazero is wazero, a pure-Go runtime: always available.
	Wazero = "wazero"
	// Wasmtime is wasmtime, through wasmtime-go: available in builds with
	// cgo only.
	Wasmtime = "wasmtime"
)

// Engines returns the names of the engines this build can run, the
// default first: wasmtime and wazero with cgo, wazero alone without. See
// RATIONALE.md, "Why is wasmtime the default engine?".
func Engines() []string {
	if wasmtimeAvailable {
		return []string{Wasmtime, Wazero}
	}
	return []string{Wazero}
}

// EngineConfig configures an Engine. The zero value is a valid
// configuration: the build's default engine, compiled code in memory
// only, module.DefaultLimits.
type EngineConfig struct {
	// CacheDir is a directory where compiled machine code is kept across
	// processes, so that a restarted executor does not compile the same
	// module again (a Go module takes about a second to compile and
	// milliseconds to load from the cache). It is created if missing.
	// Each engine keeps its code in a subdirectory named after the engine
	// and its version. Empty means an in-memory cache only. The directory
	// must be private to the engine's user: its contents are executed.
	// An entry that is not intact (a torn write, a bad disk) is removed
	// and the module compiled again; see RATIONALE.md, "Why are cached
	// entries checked?".
	CacheDir string

	// DefaultEngine names the engine Compile compiles for and tasks run
	// on when their WasmSpec.Engine is empty: Wasmtime or Wazero. Empty
	// means the first of Engines(). NewEngine refuses an unknown name,
	// and Wasmtime in a build without cgo with an error wrapping
	// errors.ErrUnsupported.
	DefaultEngine string

	// Fuel makes wasmtime count what each task executes (Usage.Fuel, in
	// wasmtime's fuel units: about one per instruction), for operators who
	// bill or compare work by instructions rather than by CPU time, which
	// varies with the machine and its load. It costs 16 % to 3× in speed
	// (RATIONALE.md), past the metering budget, so it is off by default.
	// Wazero has no fuel: its tasks report none.
	Fuel bool

	// ModuleLimits bounds the modules Compile accepts; see
	// module.Validate. Zero fields mean module.DefaultLimits. Its
	// MaxTableElements also caps every table at run time under wasmtime
	// (its store limiter), a second line behind validation.
	ModuleLimits module.Limits
}

// cacheSumSuffix names the file beside a wasmtime cache entry that holds
// the entry's CRC-32C (engine_wasmtime.go, wasmtimeBackend.load).
const cacheSumSuffix = ".crc32c"

// Engine runs WebAssembly tasks with WASI preview 1, under wazero or
// wasmtime, chosen per task.
//
// An Engine compiles modules (Compile), starts tasks from them
// (StartWasm) and forgets them (Release). It is safe for concurrent use.
// Create it with NewEngine and release it with Close.
type Engine struct {
	limits   module.Limits
	backends map[string]backend
	def      backend // the default engine's

	mu      sync.Mutex // guards the fields below, and compilation.refs, compilation.m, Module.tasks
	closed  bool
	modules map[string]*compilation   // by SHA-256, while referenced (see Release)
	running map[*wasmProcess]struct{} // tasks not yet ended
	// building counts compilations under way and modules being freed,
	// which Close waits for; Add with mu held.
	building sync.WaitGroup
}

// compilation is one Compile of some bytes, shared by every caller asking
// for the same bytes while it runs and after, until the last of them
// releases its Module.
type compilation struct {
	sha  string
	done chan struct{} // closed when m or err is set
	m    *Module       // set, with Engine.mu held, before done is closed
	err  error

	// refs counts the Compile calls that returned m or will, less the
	// Releases of m and the calls that gave up; Engine.mu guards it. At
	// zero, the compilation is no longer in Engine.modules and its module
	// is freed once no task runs it.
	refs int
}

// options are the engines' settings that only tests and benchmarks
// change.
type options struct {
	wazero   wazeroOptions
	wasmtime wasmtimeOptions
}

func defaultOptions() options {
	return options{
		wazero:   wazeroOptions{closeOnContextDone: true},
		wasmtime: wasmtimeOptions{epochs: true},
	}
}

// NewEngine returns an Engine configured by cfg, with every engine this
// build has ready. ctx is used only while setting up.
//
// Tasks can be stopped (Process.Kill) because each engine compiles code
// that checks for a stop: wazero with WithCloseOnContextDone, at loop
// headers (a tight loop then runs many times slower), and wasmtime with
// epoch interruption, at loop headers and function entries (see
// RATIONALE.md for the costs).
func NewEngine(ctx context.Context, cfg EngineConfig) (*Engine, error) {
	return newEngine(ctx, cfg, defaultOptions())
}

func newEngine(ctx context.Context, cfg EngineConfig, opts options) (*Engine, error) {
	name := cfg.DefaultEngine
	if name == "" {
		name = Engines()[0]
	}
	if err := checkEngine(name); err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	e := &Engine{
		limits:   cfg.ModuleLimits,
		backends: make(map[string]backend),
		modules:  make(map[string]*compilation),
		running:  make(map[*wasmProcess]struct{}),
	}
	wz, err := newWazero(ctx, cfg.CacheDir, opts.wazero)
	if err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	e.backends[Wazero] = wz
	opts.wasmtime.fuel = opts.wasmtime.fuel || cfg.Fuel
	if wasmtimeAvailable {
		if opts.wasmtime.maxTableElements == 0 {
			opts.wasmtime.maxTableElements = e.limits.WithDefaults().MaxTableElements
		}
		wt, err := newWasmtime(cfg.CacheDir, opts.wasmtime)
		if err != nil {
			wz.close(ctx)
			return nil, fmt.Errorf("new engine: %w", err)
		}
		e.backends[Wasmtime] = wt
	}
	e.def = e.backends[name]
	return e, nil
}

// checkEngine says whether this build can run the engine called name.
func checkEngine(name string) error {
	switch {
	case slices.Contains(Engines(), name):
		return nil
	case name == Wasmtime:
		return errNoWasmtime
	}
	return fmt.Errorf("unknown engine %q (this build has %v)", name, Engines())
}

// backend returns the engine called name, "" being the default.
func (e *Engine) backend(name string) (backend, error) {
	if name == "" {
		return e.def, nil
	}
	if err := checkEngine(name); err != nil {
		return nil, err
	}
	return e.backends[name], nil
}

// errClosed is returned by an Engine's methods after Close.
var errClosed = errors.New("engine closed")

// Compile validates a WebAssembly binary (module.Validate, within
// EngineConfig.ModuleLimits) and compiles it for the default engine. The
// same bytes are compiled once while the Module is referenced: each
// Compile that returns a Module takes a reference to it, which Release
// gives back, and concurrent callers with the same bytes share one
// compilation. A caller that never calls Release keeps its Module until
// the Engine is closed. A module that is invalid, exceeds a limit (the
// error wraps a *module.LimitError) or fails to compile is not kept, and
// its caller holds no reference; its error says what is wrong, such as
// "invalid magic number".
//
// The Module keeps a copy of the bytes, so that a task may run it on
// another engine (WasmSpec.Engine): it is compiled for that engine when
// the first such task starts.
//
// Cancelling ctx makes Compile return ctx's error early, without a
// reference, but a compilation already under way finishes for the
// callers still waiting and for later ones.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compile module %s: %w", sha, err)
	}

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, fmt.Errorf("compile module %s: %w", sha, errClosed)
	}
	c, ok := e.modules[sha]
	if !ok {
		c = &compilation{sha: sha, done: make(chan struct{})}
		e.modules[sha] = c
		e.building.Add(1)
		// A copy, because the compilation may outlive this call.
		go e.load(context.WithoutCancel(ctx), sha, bytes.Clone(wasm), c)
	}
	c.refs++
	e.mu.Unlock()

	select {
	case <-c.done:
		return c.m, c.err
	case <-ctx.Done():
		e.drop(c)
		return nil, fmt.Errorf("compile module %s: %w", sha, ctx.Err())
	}
}

// load validates wasm, compiles it for the default engine, and fills c.
// It runs on its own goroutine, so that a caller giving up does not
// abandon the callers sharing c. A module every caller gave up on while
// it compiled is freed at once.
func (e *Engine) load(ctx context.Context, sha string, wasm []byte, c *compilation) {
	defer e.building.Done()
	defer close(c.done)
	m, err := e.newModule(c, wasm)
	if err == nil {
		_, err = m.compiledFor(ctx, e.def)
	}
	e.mu.Lock()
	if err == nil {
		c.m = m
	} else {
		c.err = fmt.Errorf("compile module %s: %w", sha, err)
		if e.modules[sha] == c { // else released already, and the bytes perhaps compiling again
			delete(e.modules, sha)
		}
	}
	// Every caller gave up while it compiled, so c has left e.modules
	// and neither Close nor a Release will free m.
	unused := c.refs == 0
	e.mu.Unlock()
	if m != nil && (err != nil || unused) {
		m.close(ctx)
	}
}

// Release gives back the reference to m that a Compile returning it
// took. When every such Compile has been matched by a Release, the
// Engine forgets m: StartWasm refuses it, a later Compile of the same
// bytes compiles them again (from EngineConfig.CacheDir, when set, in
// milliseconds rather than seconds), and m's compiled code, for every
// engine, is freed once the last task started from it has ended — at
// once if none runs. A task keeps running normally after its module is
// released. Release of nil, of a module of another Engine or with no
// reference left, and Release after Close (which frees everything) do
// nothing.
//
// Why: a long-lived executor runs many distinct modules, and code kept
// until Close would grow without bound. See RATIONALE.md, "Why are
// modules released by reference rather than kept until Close?".
func (e *Engine) Release(m *Module) {
	if m == nil || m.engine != e {
		return
	}
	e.drop(m.comp)
}

// drop gives back one reference to c, and when it was the last forgets c
// and frees its module unless a task runs it (the task's end frees it
// then) or it is still compiling (load frees it then).
func (e *Engine) drop(c *compilation) {
	e.mu.Lock()
	if e.closed || c.refs == 0 {
		e.mu.Unlock()
		return
	}
	c.refs--
	var free *Module
	if c.refs == 0 {
		if e.modules[c.sha] == c {
			delete(e.modules, c.sha)
		}
		if c.m != nil && c.m.tasks == 0 {
			free = c.m
			e.building.Add(1)
		}
	}
	e.mu.Unlock()
	if free != nil {
		e.free(free)
	}
}

// free releases the compiled code of m, which has no reference left and
// runs no task. e.building.Add(1) must have been called for it with e.mu
// held. A compilation for another engine that a task started may still
// be under way (the task was killed while it waited for it): m is then
// freed on a goroutine of its own, when that ends, rather than hold up
// the caller, which may be that task's end.
func (e *Engine) free(m *Module) {
	if m.compiling() {
		go func() {
			defer e.building.Done()
			m.close(context.Background())
		}()
		return
	}
	defer e.building.Done()
	m.close(context.Background())
}

// Close kills the tasks still running (their Results say ReasonKilled),
// waits for them and for compilations under way to end, then releases
// all compiled code. Compile and StartWasm fail afterwards. Close is
// idempotent.
//
// A guest wazero cannot stop (see Process.Kill) would make Close wait
// forever, so Close gives up when ctx is done: it then returns ctx's error
// and leaves the engines open for the guests still running, rather than
// free code they are executing.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	running := make([]*wasmProcess, 0, len(e.running))
	for p := range e.running {
		running = append(running, p)
	}
	e.mu.Unlock()

	for _, p := range running {
		p.Kill(0)
	}
	for _, p := range running {
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("close engine: wait for %d tasks: %w", len(running), ctx.Err())
		}
	}
	built := make(chan struct{})
	go func() {
		e.building.Wait()
		close(built)
	}()
	select {
	case <-built:
	case <-ctx.Done():
		return fmt.Errorf("close engine: wait for compilations: %w", ctx.Err())
	}
	for _, c := range e.modules {
		if c.m != nil {
			c.m.close(ctx)
		}
	}
	var errs []error
	for _, b := range e.backends {
		errs = append(errs, b.close(ctx))
	}
	return errors.Join(errs...)
}

// errReleased is returned by StartWasm for a Module whose last reference
// was released.
var errReleased = errors.New("module released")

// released reports whether m's last reference was released.
func (e *Engine) released(m *Module) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return m.comp.refs == 0
}

// register records p as running, and as a task of its module, unless
// the engine is closed or the module released: its code may be freed.
func (e *Engine) register(p *wasmProcess) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if p.module.comp.refs == 0 {
		return errReleased
	}
	p.module.tasks++
	e.running[p] = struct{}{}
	return nil
}

// unregister forgets p, which has ended, and frees its module if p was
// the last task of a released one. It runs before p's Wait returns, so
// that Close, which waits for the tasks, then finds every module either
// freed, being freed, or in e.modules.
func (e *Engine) unregister(p *wasmProcess) {
	m := p.module
	e.mu.Lock()
	delete(e.running, p)
	m.tasks--
	last := m.tasks == 0 && m.comp.refs == 0
	if last {
		e.building.Add(1)
	}
	e.mu.Unlock()
	if last {
		e.free(m)
	}
}
