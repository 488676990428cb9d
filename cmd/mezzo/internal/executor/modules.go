package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// modules hands out compiled Wasm modules from the directory the agent
// fills, on one engine shared by every task of the executor, created when
// the first Wasm task starts, until close. It is safe for concurrent use.
type modules struct {
	dir      string
	cacheDir string
	engine0  string // the default engine; "" means the sandbox's
	fuel     bool   // count fuel (sandbox.EngineConfig.Fuel)

	mu       sync.Mutex
	engine   *sandbox.Engine
	compiled map[string]*sandbox.Module // by SHA-256, compiled on engine
	closed   bool                       // close was called: get refuses
}

// errModulesClosed is what get returns once close has been called: a
// task that starts after its executor released the engine (one launched
// as the executor shuts down) would get a new engine nobody closes, or a
// module compiled on the closed one.
var errModulesClosed = errors.New("the executor's Wasm engine is closed: the executor is shutting down")

func newModules(dir, cacheDir, defaultEngine string, fuel bool) *modules {
	return &modules{dir: dir, cacheDir: cacheDir, engine0: defaultEngine, fuel: fuel, compiled: map[string]*sandbox.Module{}}
}

// get returns the engine and the module whose hash is sha, compiling it
// on first use. After close it fails with errModulesClosed.
func (m *modules) get(ctx context.Context, sha string) (*sandbox.Engine, *sandbox.Module, error) {
	if b, err := hex.DecodeString(sha); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != sha {
		return nil, nil, fmt.Errorf("module %q: not a SHA-256 in lower-case hex", sha)
	}
	engine, err := m.engineFor(ctx)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	mod := m.compiled[sha]
	m.mu.Unlock()
	if mod != nil {
		return engine, mod, nil
	}
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
	// ask for it at the same time.
	mod, err = engine.Compile(ctx, wasm)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.engine != engine { // closed while it compiled
		return nil, nil, fmt.Errorf("module %s: %w", sha, errModulesClosed)
	}
	m.compiled[sha] = mod
	return engine, mod, nil
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
	m.engine, m.compiled, m.closed = nil, map[string]*sandbox.Module{}, true
	m.mu.Unlock()
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Close(ctx)
}
