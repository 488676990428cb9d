package sandbox

import (
	"context"
	"fmt"
	"sync"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// Module is a validated WebAssembly module, compiled for the default
// engine and ready to start any number of tasks from, concurrently. It is
// compiled for another engine when a task first asks for it. It belongs
// to the Engine that compiled it and is valid until that Engine is
// closed or every Compile that returned it has been matched by a
// Release (Engine.Release).
type Module struct {
	engine *Engine
	comp   *compilation // the one that made it, which counts its references
	sha    string
	wasm   []byte // kept to compile for another engine
	info   *module.Info
	// minPages is the initial size of the module's own linear memory, in
	// 64 KiB pages; 0 when it defines none.
	minPages uint64
	// missing says which imports the host lacks; nil when it has them all.
	missing error

	// tasks counts the tasks registered and not yet ended; Engine.mu
	// guards it. The module is freed only when it is zero.
	tasks int

	mu     sync.Mutex         // guards builds
	builds map[backend]*build // nil once closed
}

// build is the compilation of a Module for one engine, shared by every
// task that waits for it.
type build struct {
	done chan struct{} // closed when c or err is set
	c    compiled
	err  error
}

// SHA256 returns the hex-encoded SHA-256 digest of the module's bytes,
// which identifies the module.
func (m *Module) SHA256() string { return m.sha }

// newModule validates wasm, the bytes of c, within the engine's limits
// and describes it.
func (e *Engine) newModule(c *compilation, wasm []byte) (*Module, error) {
	info, err := module.Validate(wasm, e.limits)
	if err != nil {
		return nil, err
	}
	m := &Module{
		engine:  e,
		comp:    c,
		sha:     c.sha,
		wasm:    wasm,
		info:    info,
		missing: missingImports(info),
		builds:  make(map[backend]*build),
	}
	for _, mem := range info.Memories {
		if !mem.Imported {
			m.minPages = mem.Min
			break
		}
	}
	return m, nil
}

// compiledFor returns the module compiled by b, compiling it on first
// use. The compilation runs on its own goroutine, so that a caller that
// gives up when ctx is done does not abandon the others; its outcome,
// success or failure, is kept.
func (m *Module) compiledFor(ctx context.Context, b backend) (compiled, error) {
	m.mu.Lock()
	bd, ok := m.builds[b]
	if !ok {
		bd = &build{done: make(chan struct{})}
		m.builds[b] = bd
		m.engine.building.Add(1)
		go func() {
			defer m.engine.building.Done()
			defer close(bd.done)
			bd.c, bd.err = b.compile(context.WithoutCancel(ctx), m.sha, m.wasm, m.info)
			if bd.err != nil {
				bd.err = fmt.Errorf("compile module %s for %s: %w", m.sha, b.name(), bd.err)
			}
		}()
	}
	m.mu.Unlock()
	select {
	case <-bd.done:
		return bd.c, bd.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// compiling reports whether a compilation of m for some engine is under
// way.
func (m *Module) compiling() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, bd := range m.builds {
		select {
		case <-bd.done:
		default:
			return true
		}
	}
	return false
}

// close releases the module's compiled code, once its compilations under
// way have ended. No task may run it, and none may start.
func (m *Module) close(ctx context.Context) {
	m.mu.Lock()
	builds := m.builds
	m.builds = nil
	m.mu.Unlock()
	for _, bd := range builds {
		<-bd.done
		if bd.c != nil {
			bd.c.close(ctx)
		}
	}
}
