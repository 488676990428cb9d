//go:build cgo

package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// wasmtimeAvailable says whether this build has wasmtime: it needs cgo.
const wasmtimeAvailable = true

// errNoWasmtime is never returned in a build with cgo.
var errNoWasmtime = errors.New("wasmtime is available")

// wasmtimeGo is the module path of wasmtime-go, whose version (read from
// the build information) keys the cache of compiled code.
const wasmtimeGo = "github.com/bytecodealliance/wasmtime-go/v39"

// epochTick is how often the engine's epoch advances while a task runs:
// how long a stopped guest may go on, and how often a running one calls
// back into Go (wasmtimeRun.tick).
const epochTick = time.Millisecond

// wasmtimeOptions are wasmtime's settings that benchmarks change.
type wasmtimeOptions struct {
	// epochs compiles code that checks the epoch at loop headers and
	// function entries; without it nothing can stop a running guest.
	epochs bool
	// fuel compiles code that counts the instructions it runs, for
	// EngineConfig.Fuel and the benchmarks (see RATIONALE.md).
	fuel bool
	// maxTableElements caps each table of a store, the store limiter's
	// second line behind module.Limits.MaxTableElements.
	maxTableElements uint32
}

// wasmtimeBackend runs tasks under wasmtime: one Engine and one Linker
// for every task, and a Store per task.
type wasmtimeBackend struct {
	opts     wasmtimeOptions
	engine   *wasmtime.Engine
	linker   *wasmtime.Linker
	cacheDir string // "" when compiled code is kept in memory only

	mu      sync.Mutex     // guards the fields below
	active  int            // tasks running with epochs
	ticker  chan struct{}  // closed to stop the goroutine that ticks
	tickers sync.WaitGroup // goroutines that tick, stopping or not
}

var _ backend = (*wasmtimeBackend)(nil)

func newWasmtime(cacheDir string, opts wasmtimeOptions) (backend, error) {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(opts.epochs)
	cfg.SetConsumeFuel(opts.fuel)
	engine := wasmtime.NewEngineWithConfig(cfg)
	if err := checkLayout(engine); err != nil {
		engine.Close()
		return nil, fmt.Errorf("set up wasmtime: %w", err)
	}
	linker, err := newWasmtimeLinker(engine)
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("set up wasmtime's WASI: %w", err)
	}
	b := &wasmtimeBackend{opts: opts, engine: engine, linker: linker}
	if cacheDir != "" {
		b.cacheDir = filepath.Join(cacheDir, fmt.Sprintf("wasmtime-%s-%s-%s", wasmtimeVersion(), runtime.GOOS, runtime.GOARCH))
		if err := os.MkdirAll(b.cacheDir, 0o700); err != nil {
			b.close(context.Background())
			return nil, fmt.Errorf("open wasmtime compilation cache: %w", err)
		}
	}
	return b, nil
}

// wasmtimeVersion returns the version of wasmtime-go in this binary, or
// its major version when the build does not say.
func wasmtimeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == wasmtimeGo {
				if d.Replace != nil {
					d = d.Replace
				}
				if d.Version != "" {
					return d.Version
				}
			}
		}
	}
	return "v39"
}

func (b *wasmtimeBackend) name() string { return Wasmtime }

func (b *wasmtimeBackend) close(context.Context) error {
	b.tickers.Wait() // no tick after the engine is freed
	b.linker.Close()
	b.engine.Close()
	return nil
}

// acquire keeps the epoch ticking while a task runs; release undoes it.
// The ticker runs only while tasks do, so an idle executor does not wake
// a thousand times a second.
func (b *wasmtimeBackend) acquire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active++
	if b.active == 1 {
		b.ticker = make(chan struct{})
		b.tickers.Add(1)
		go b.tick(b.ticker)
	}
}

func (b *wasmtimeBackend) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active--
	if b.active == 0 {
		close(b.ticker)
	}
}

// tick advances the engine's epoch every epochTick until stop is closed.
func (b *wasmtimeBackend) tick(stop chan struct{}) {
	defer b.tickers.Done()
	t := time.NewTicker(epochTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.engine.IncrementEpoch()
		}
	}
}

// wasmtimeModule is a module compiled by wasmtime.
type wasmtimeModule struct {
	backend *wasmtimeBackend
	module  *wasmtime.Module
	// memory is the name under which the module's memory is exported, if
	// it has one: wasmtime shows the host exported memories only, so
	// compile exports it when the module does not (see exportMemory).
	memory string
}

// compile compiles wasm, or loads it from the cache directory. wasmtime
// can only measure the memory of a guest that exports it, so a module
// that does not is given an export first.
func (b *wasmtimeBackend) compile(ctx context.Context, sha string, wasm []byte, info *module.Info) (compiled, error) {
	wasm, memory, err := exportMemory(wasm, info)
	if err != nil {
		return nil, err
	}
	m := &wasmtimeModule{backend: b, memory: memory}
	path := b.cachePath(sha)
	if path != "" {
		if m.module = b.load(path); m.module != nil {
			return m, nil
		}
	}
	if m.module, err = wasmtime.NewModule(b.engine, wasm); err != nil {
		return nil, errors.New(wasmtimeMessage(err))
	}
	if path != "" {
		// A cache that cannot be written only costs the next process a
		// compilation.
		_ = b.store(path, m.module)
	}
	return m, nil
}

// cachePath returns where the code compiled from the module sha is kept,
// or "" when there is no cache directory. The name says which checks the
// code was compiled with, which the engine's configuration decides, and
// the version of the rewriting exportMemory does.
func (b *wasmtimeBackend) cachePath(sha string) string {
	if b.cacheDir == "" {
		return ""
	}
	var flags string
	if b.opts.epochs {
		flags += "e"
	}
	if b.opts.fuel {
		flags += "f"
	}
	return filepath.Join(b.cacheDir, fmt.Sprintf("%s-m1%s.cwasm", sha, flags))
}

// A cache entry is wasmtime's serialized code, in a file of its own that
// wasmtime maps into memory (NewModuleDeserializeFile: reading it into
// Go's heap and deserializing from there doubled the load of the Go hello
// module, 17 → 33 ms), and beside it (cacheSumSuffix) the CRC-32C of that
// code, which the CPU computes at memory speed (a SHA-256 of the hello
// module's entry cost 10 ms a load). It guards against spoilt entries
// (torn writes, bad disks), as a sum without a secret only can: whoever
// may write the directory may write a matching sum. wasmtime checks that serialized code suits its engine, not that
// it is intact, and runs it as machine code: a flipped byte made the
// executor die of SIGTRAP. So the sum is checked before wasmtime sees
// the code.

// load returns the module cached at path, or nil when there is none to
// use: missing, from another engine configuration (wasmtime refuses it;
// store replaces it), or not intact (a torn write, a bad disk, an entry
// whose sum is missing or from another write), which it removes.
func (b *wasmtimeBackend) load(path string) *wasmtime.Module {
	want, err := os.ReadFile(path + cacheSumSuffix)
	if err != nil {
		if _, statErr := os.Stat(path); statErr == nil {
			_ = os.Remove(path) // no sum: compiled and stored again by the caller
		}
		return nil
	}
	got, err := fileSum(path)
	if err != nil || !bytes.Equal(got, want) {
		_ = os.Remove(path)
		_ = os.Remove(path + cacheSumSuffix)
		return nil
	}
	mod, err := wasmtime.NewModuleDeserializeFile(b.engine, path)
	if err != nil {
		return nil
	}
	return mod
}

// castagnoli is the CRC-32C table, which hash/crc32 computes with the
// CPU's CRC instruction where there is one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileSum is the CRC-32C of the file at path, big-endian.
func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// store writes m's machine code to path and its sum beside it, each
// through a temporary file synced before it is renamed, so that no
// process ever loads a partial file, even after a crash of the machine.
// The code goes first: a reader that finds new code with an old sum, or
// the reverse, takes the entry for spoilt and compiles again.
func (b *wasmtimeBackend) store(path string, m *wasmtime.Module) error {
	code, err := m.Serialize()
	if err != nil {
		return err
	}
	sum := crc32.Checksum(code, castagnoli)
	if err := writeSynced(path, code); err != nil {
		return err
	}
	return writeSynced(path+cacheSumSuffix, binary.BigEndian.AppendUint32(nil, sum))
}

// writeSynced writes b to path through a temporary file in its directory,
// synced before it is renamed into place.
func writeSynced(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (m *wasmtimeModule) close(context.Context) { m.module.Close() }
