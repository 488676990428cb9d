package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// modules hands out compiled Wasm modules from the directory the agent
// fills, on one engine shared by every task of the executor, created when
// the first Wasm task starts, until close. A module is kept while tasks
// run it and, once the last has ended, among the few idle ones kept for
// a task that comes soon after (see put). It is safe for concurrent use.
type modules struct {
	dir      string
	cacheDir string
	engine0  string // the default engine; "" means the sandbox's
	fuel     bool   // count fuel (sandbox.EngineConfig.Fuel)

	mu       sync.Mutex
	engine   *sandbox.Engine
	compiled map[string]*cached // by SHA-256, compiled on engine
	idle     []string           // compiled modules no task runs, longest idle first
	closed   bool               // close was called: get refuses
}

// cached is a module compiled on the engine, which holds one reference to
// it (sandbox.Engine.Release gives it back).
type cached struct {
	mod   *sandbox.Module
	bytes int // the module's size
	tasks int // gets not yet matched by a put
}

// The idle modules kept, once no task runs them, for a task of the same
// module that comes soon after: it then starts from the compiled code (an
// instantiation: microseconds, and no TASK_STARTING) rather than compiling
// it again (milliseconds from the module cache, seconds without). Why
// keep any: a framework running one short task after another of the same
// module would otherwise compile it for every one. Why so few: the agent
// sizes the executor's cgroup for the modules of its live tasks only
// (agent/cgroup.go, execNeed), so idle code is beyond what the cap
// allows for. The agent tolerates a cap up to 64 MiB above the need
// (cgroupLowerBy), and compiled code takes about 7 times the module's
// size (a 3 MB Go module: 20 MB on wazero, 12–24 MB on wasmtime), so 8
// MiB of modules, about 56 MiB of code, is of that order. Keeping every
// module lets idle code grow until the kernel OOM-kills the executor
// with all its tasks. See RATIONALE.md, "Why are modules released by
// reference rather than kept until Close?".
const (
	idleModules     = 4
	idleModuleBytes = 8 << 20
)

// errModulesClosed is what get returns once close has been called: a
// task that starts after its executor released the engine (one launched
// as the executor shuts down) would get a new engine nobody closes, or a
// module compiled on the closed one.
var errModulesClosed = errors.New("the executor's Wasm engine is closed: the executor is shutting down")

func newModules(dir, cacheDir, defaultEngine string, fuel bool) *modules {
	return &modules{dir: dir, cacheDir: cacheDir, engine0: defaultEngine, fuel: fuel, compiled: map[string]*cached{}}
}

// get returns the engine and the module whose hash is sha, compiling it
// if it is not kept. The caller must put it back (put) once its task has
// ended, or at once if it starts none. After close get fails with
// errModulesClosed.
func (m *modules) get(ctx context.Context, sha string) (*sandbox.Engine, *sandbox.Module, error) {
	if b, err := hex.DecodeString(sha); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != sha {
		return nil, nil, fmt.Errorf("module %q: not a SHA-256 in lower-case hex", sha)
	}
	engine, err := m.engineFor(ctx)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	if c := m.compiled[sha]; c != nil {
		m.use(sha, c)
		m.mu.Unlock()
		return engine, c.mod, nil
	}
	m.mu.Unlock()
	if m.dir == "" {
		return nil, nil, fmt.Errorf("module %s: no modules directory (MEZZO_MODULES_DIR) was given", sha)
	}
	wasm, err := os.ReadFile(filepath.Join(m.dir, sha+".wasm"))
	if err != nil {
		return nil, nil, fmt.Errorf("read module: %w", err)
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != sha {
		return nil, nil, fmt.Errorf("module %s: the file's content hashes to %x", sha, sum)
	}
	// The engine compiles each distinct content once, however many tasks
	// ask for it at the same time, and each Compile takes a reference.
	mod, err := engine.Compile(ctx, wasm)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	if m.engine != engine { // closed while it compiled
		m.mu.Unlock()
		return nil, nil, fmt.Errorf("module %s: %w", sha, errModulesClosed)
	}
	c, raced := m.compiled[sha]
	if !raced {
		c = &cached{mod: mod, bytes: len(wasm)}
		m.compiled[sha] = c
	}
	m.use(sha, c)
	m.mu.Unlock()
	if raced {
		// Another get compiled it meanwhile, perhaps sharing this very
		// compilation: the entry holds one reference, this get's is one
		// too many.
		engine.Release(mod)
	}
	return engine, c.mod, nil
}

// use counts a task of the module c, whose hash is sha, which is idle no
// more. m.mu must be held.
func (m *modules) use(sha string, c *cached) {
	if c.tasks == 0 {
		if i := slices.Index(m.idle, sha); i >= 0 {
			m.idle = slices.Delete(m.idle, i, i+1)
		}
	}
	c.tasks++
}

// put gives back a module get returned, once its task has ended (or
// failed to start). The module's last task leaves it idle, and the
// modules idle longest are released, their code freed, until at most
// idleModules of at most idleModuleBytes in all are kept. After close it
// does nothing: the engine freed everything.
func (m *modules) put(sha string) {
	m.mu.Lock()
	c := m.compiled[sha]
	if c == nil {
		m.mu.Unlock()
		return
	}
	if c.tasks--; c.tasks == 0 {
		m.idle = append(m.idle, sha)
	}
	var release []*sandbox.Module
	for len(m.idle) > idleModules || len(m.idle) > 0 && m.idleBytes() > idleModuleBytes {
		old := m.idle[0]
		m.idle = m.idle[1:]
		release = append(release, m.compiled[old].mod)
		delete(m.compiled, old)
	}
	engine := m.engine
	m.mu.Unlock()
	for _, mod := range release {
		engine.Release(mod)
	}
}

// idleBytes is the size of the idle modules. m.mu must be held.
func (m *modules) idleBytes() int {
	n := 0
	for _, sha := range m.idle {
		n += m.compiled[sha].bytes
	}
	return n
}

// compiledAlready reports whether the module whose hash is sha is
// compiled in this executor, so that starting a task of it is an
// instantiation (microseconds) rather than a compilation.
func (m *modules) compiledAlready(sha string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.engine != nil && m.compiled[sha] != nil
}

// engineFor returns the engine, starting it if needed, unless close has
// been called.
func (m *modules) engineFor(ctx context.Context) (*sandbox.Engine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("start wasm engine: %w", errModulesClosed)
	}
	if m.engine == nil {
		e, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{CacheDir: m.cacheDir, DefaultEngine: m.engine0, Fuel: m.fuel})
		if err != nil {
			return nil, fmt.Errorf("start wasm engine: %w", err)
		}
		m.engine = e
	}
	return m.engine, nil
}

// close releases the engine and forgets the modules compiled on it, once
// no task runs on it; later gets fail.
func (m *modules) close() {
	m.mu.Lock()
	e := m.engine
	m.engine, m.compiled, m.idle, m.closed = nil, map[string]*cached{}, nil, true
	m.mu.Unlock()
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Close(ctx)
}
