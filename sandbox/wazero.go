package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// wazeroOptions are wazero's settings that benchmarks change.
type wazeroOptions struct {
	// closeOnContextDone compiles code that checks for a stop at loop
	// headers; without it nothing can stop a running guest.
	closeOnContextDone bool
}

// wazeroBackend runs tasks under wazero: one Runtime, at wazero's maximum
// memory, with a memory allocator per task (see memory.go).
type wazeroBackend struct {
	cache    wazero.CompilationCache
	cacheDir string // EngineConfig.CacheDir; "" without a file cache
	runtime  wazero.Runtime
}

var _ backend = (*wazeroBackend)(nil)

func newWazero(ctx context.Context, cacheDir string, opts wazeroOptions) (*wazeroBackend, error) {
	cache := wazero.NewCompilationCache()
	if cacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
			return nil, fmt.Errorf("open wazero compilation cache %s: %w", cacheDir, err)
		}
	}
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(opts.closeOnContextDone)
	// The per-task memory limit is not the runtime's: see memory.go and
	// RATIONALE.md, "Why one runtime rather than one per memory limit?".
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		cache.Close(ctx)
		return nil, fmt.Errorf("instantiate wazero's WASI: %w", err)
	}
	return &wazeroBackend{cache: cache, cacheDir: cacheDir, runtime: r}, nil
}

func (b *wazeroBackend) name() string { return Wazero }

func (b *wazeroBackend) compile(ctx context.Context, sha string, wasm []byte, info *module.Info) (c compiled, err error) {
	// A hostile module should be an error, not a crash of the executor.
	defer func() {
		if v := recover(); v != nil {
			c, err = nil, fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	// wazero's compilation cache keys code by the SHA-256 of the bytes
	// compiled, the instrumented ones: a change to boundStack makes new
	// entries rather than reuse stale ones.
	bounded, err := boundStack(wasm, info, stackBudget)
	if err != nil {
		return nil, err
	}
	cm, err := b.runtime.CompileModule(ctx, bounded.wasm)
	if err != nil && b.cacheDir != "" && strings.Contains(err.Error(), "compilationcache:") {
		// wazero reports a cache entry it cannot read (a checksum
		// mismatch, a truncated file) as the compilation's error, and
		// leaves the entry in place, so the module would never compile
		// again. Its entries are named by a key we cannot compute, so
		// all of them go, and are made again as modules are compiled.
		if cerr := clearWazeroCache(b.cacheDir); cerr != nil {
			return nil, fmt.Errorf("%w (and clearing the cache: %w)", err, cerr)
		}
		cm, err = b.runtime.CompileModule(ctx, bounded.wasm)
	}
	if err != nil {
		return nil, err
	}
	return &wazeroModule{backend: b, compiled: cm, stack: bounded.export}, nil
}

// clearWazeroCache removes the entries of wazero's file cache for this
// platform under dir, of every wazero version. It leaves alone the
// temporary files of entries being written (named <key>.<random>.tmp),
// which wazero renames into place when they are whole: a compilation
// under way in this process or another is not disturbed, and a reader
// that opened an entry before it went reads it whole.
func clearWazeroCache(dir string) error {
	dirs, err := filepath.Glob(filepath.Join(dir, "wazero-*-"+runtime.GOARCH+"-"+runtime.GOOS))
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("clear wazero cache: %w", err))
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.Contains(e.Name(), ".") {
				if err := os.Remove(filepath.Join(d, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("clear wazero cache: %w", err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (b *wazeroBackend) close(ctx context.Context) error {
	return errors.Join(b.runtime.Close(ctx), b.cache.Close(ctx))
}

// wazeroModule is a module compiled by wazero.
type wazeroModule struct {
	backend  *wazeroBackend
	compiled wazero.CompiledModule
	stack    string // the export of boundStack's counter
}

// run instantiates the module with its own memory allocator and calls its
// entry point. wazero stops the guest at a loop header once ctx is done
// (WithCloseOnContextDone), and sleep returns early.
func (m *wazeroModule) run(ctx context.Context, t *task) outcome {
	mem := newLinearMemory(t.limit, &t.memory)
	ctx = experimental.WithMemoryAllocator(ctx, mem)
	mod, err := m.instantiate(ctx, m.config(ctx, t))
	if err != nil {
		return outcome{launch: fmt.Errorf("instantiate: %w", err)}
	}
	defer mod.Close(context.WithoutCancel(ctx))

	_, err = mod.ExportedFunction(t.entry).Call(ctx)
	o := outcome{refused: mem.refused.Load()}
	var exit *sys.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		o.code = int(exit.ExitCode())
	case m.stackExhausted(mod):
		o.trap = fmt.Errorf("%w: its frames passed the budget of %d bytes (as estimated by the sandbox)",
			errStackExhausted, stackBudget)
	default:
		o.trap = err
	}
	return o
}

// stackExhausted says whether the guest of mod trapped because its call
// stack passed stackBudget: boundStack's counter is then above it, which
// it never is after any other trap.
func (m *wazeroModule) stackExhausted(mod api.Module) bool {
	g := mod.ExportedGlobal(m.stack)
	return g != nil && uint32(g.Get()) > stackBudget
}

func (m *wazeroModule) config(ctx context.Context, t *task) wazero.ModuleConfig {
	config := wazero.NewModuleConfig().
		WithName("").         // anonymous, so instances of one module do not clash
		WithStartFunctions(). // run below, to tell launch from run failures
		WithArgs(t.argv...).
		WithStdout(t.out.stdout).
		WithStderr(t.out.stderr).
		WithFSConfig(fsConfig(t.dir)).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(func(ns int64) { sleep(ctx, time.Duration(ns)) }).
		WithRandSource(rand.Reader)
	for _, k := range t.keys {
		config = config.WithEnv(k, t.env[k])
	}
	return config
}

// instantiate instantiates the module. wazero may panic on a hostile
// module rather than return an error; that is a launch failure too, not a
// reason to crash the executor.
func (m *wazeroModule) instantiate(ctx context.Context, config wazero.ModuleConfig) (mod api.Module, err error) {
	defer func() {
		if v := recover(); v != nil {
			mod, err = nil, fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	return m.backend.runtime.InstantiateModule(ctx, m.compiled, config)
}

func (m *wazeroModule) close(ctx context.Context) { m.compiled.Close(ctx) }

// sleep implements a guest's sleep (WASI poll_oneoff on a clock): it
// returns after d or when ctx is done, whichever comes first. Neither
// engine can stop a guest blocked in a host function, so sleeps are the
// host's own.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
