package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// EngineConfig configures an Engine. The zero value is a valid
// configuration: compiled code is kept in memory only.
type EngineConfig struct {
	// CacheDir is a directory where compiled machine code is kept across
	// processes, so that a restarted executor does not compile the same
	// module again (a Go module takes about a second to compile and tens
	// of milliseconds to load from the cache). It is created if missing.
	// Empty means an in-memory cache only. The directory must be private
	// to the engine's user: its contents are executed.
	CacheDir string
}

// Engine runs WebAssembly tasks under wazero with WASI preview 1.
//
// An Engine compiles modules (Compile) and starts tasks from them
// (StartWasm). It is safe for concurrent use. Create it with NewEngine and
// release it with Close.
type Engine struct {
	cache   wazero.CompilationCache
	runtime wazero.Runtime

	mu      sync.Mutex // guards the fields below
	closed  bool
	modules map[string]*compilation   // by SHA-256; kept until Close
	running map[*wasmProcess]struct{} // tasks not yet ended
}

// compilation is one Compile of some bytes, shared by every caller asking
// for the same bytes while it runs and after.
type compilation struct {
	done chan struct{} // closed when m or err is set
	m    *Module
	err  error
}

// Module is a compiled WebAssembly module, ready to start any number of
// tasks from, concurrently. It belongs to the Engine that compiled it and
// is valid until that Engine is closed.
type Module struct {
	engine   *Engine
	sha      string
	compiled wazero.CompiledModule
	// minPages is the initial size of the module's own linear memory, in
	// 64 KiB pages; 0 when it defines none.
	minPages uint32
	// missing says which imports the host lacks; nil when it has them all.
	missing error
}

// SHA256 returns the hex-encoded SHA-256 digest of the module's bytes,
// which identifies the module.
func (m *Module) SHA256() string { return m.sha }

// NewEngine returns an Engine that keeps compiled code as cfg says. ctx is
// used only while setting up.
//
// Tasks can be stopped (Process.Kill) because the engine compiles code
// with wazero's WithCloseOnContextDone, which checks for a stop at every
// loop header; a tight loop then runs many times slower, while call-heavy
// code is hardly affected (see reference/dependencies.md).
func NewEngine(ctx context.Context, cfg EngineConfig) (*Engine, error) {
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("open compilation cache %s: %w", cfg.CacheDir, err)
		}
	}
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(true)
	// The per-task memory limit is not the runtime's: see memory.go and
	// RATIONALE.md, "Why one runtime rather than one per memory limit?".
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		cache.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	return &Engine{
		cache:   cache,
		runtime: r,
		modules: make(map[string]*compilation),
		running: make(map[*wasmProcess]struct{}),
	}, nil
}

// errClosed is returned by an Engine's methods after Close.
var errClosed = errors.New("engine closed")

// Compile validates and compiles a WebAssembly binary. The same bytes are
// compiled once: a Module is kept, by the SHA-256 of its bytes, until the
// Engine is closed, and concurrent callers with the same bytes share one
// compilation. An invalid module is not kept; its error says what is
// wrong, such as "invalid magic number".
//
// Cancelling ctx makes Compile return ctx's error early, but a compilation
// already under way finishes for the callers still waiting and for later
// ones. Compile does not retain wasm.
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
		c = &compilation{done: make(chan struct{})}
		e.modules[sha] = c
		// A copy, because the compilation may outlive this call.
		go e.compile(context.WithoutCancel(ctx), sha, bytes.Clone(wasm), c)
	}
	e.mu.Unlock()

	select {
	case <-c.done:
		return c.m, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("compile module %s: %w", sha, ctx.Err())
	}
}

// compile fills c and closes c.done. It runs on its own goroutine, so
// that a caller giving up does not abandon the callers sharing c.
func (e *Engine) compile(ctx context.Context, sha string, wasm []byte, c *compilation) {
	defer close(c.done)
	m, err := e.compileNow(ctx, sha, wasm)
	if err != nil {
		c.err = fmt.Errorf("compile module %s: %w", sha, err)
		e.mu.Lock()
		delete(e.modules, sha)
		e.mu.Unlock()
		return
	}
	c.m = m
}

func (e *Engine) compileNow(ctx context.Context, sha string, wasm []byte) (m *Module, err error) {
	// A hostile module should be an error, not a crash of the executor.
	defer func() {
		if v := recover(); v != nil {
			m, err = nil, fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	compiled, err := e.runtime.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	minPages, err := initialPages(wasm)
	if err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	return &Module{
		engine:   e,
		sha:      sha,
		compiled: compiled,
		minPages: minPages,
		missing:  e.missingImports(compiled),
	}, nil
}

// missingImports names the imports of m that the host does not provide.
// wazero would fail the instantiation too, but its error names only the
// module ("module[env] not instantiated"), not what was wanted from it.
func (e *Engine) missingImports(m wazero.CompiledModule) error {
	wasi := e.runtime.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	var missing []string
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if _, ok := wasi[name]; mod != wasi_snapshot_preview1.ModuleName || !ok {
			missing = append(missing, fmt.Sprintf("function %s.%s", mod, name))
		}
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		missing = append(missing, fmt.Sprintf("memory %s.%s", mod, name))
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the host does not provide the imports %s (it provides %s only)",
		strings.Join(missing, ", "), wasi_snapshot_preview1.ModuleName)
}

// Close kills the tasks still running (their Results say ReasonKilled),
// waits for them to end, then releases all compiled code. Compile and
// StartWasm fail afterwards. Close is idempotent.
//
// A guest wazero cannot stop (see Process.Kill) would make Close wait
// forever, so Close gives up when ctx is done: it then returns ctx's error
// and leaves the runtime open for the guests still running, rather than
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
	return errors.Join(e.runtime.Close(ctx), e.cache.Close(ctx))
}

// register records p as running, unless the engine is closed.
func (e *Engine) register(p *wasmProcess) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	e.running[p] = struct{}{}
	return nil
}

func (e *Engine) unregister(p *wasmProcess) {
	e.mu.Lock()
	delete(e.running, p)
	e.mu.Unlock()
}
