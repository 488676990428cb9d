//go:build cgo

package sandbox

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/mezzo-cluster/mezzo/api/module"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestWASIFunctions checks that both engines provide every function that
// missingImports takes for granted, and no other.
func TestWASIFunctions(t *testing.T) {
	e := ownEngine(t, EngineConfig{})
	wz := e.backends[Wazero].(*wazeroBackend)
	defs := wz.runtime.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	if len(defs) != len(wasiFunctions) {
		t.Errorf("wazero provides %d WASI functions, wasiFunctions lists %d", len(defs), len(wasiFunctions))
	}
	for name := range defs {
		if !wasiFunctions[name] {
			t.Errorf("wazero provides %s, which wasiFunctions lacks", name)
		}
	}
	wt := e.backends[Wasmtime].(*wasmtimeBackend)
	store := wasmtime.NewStore(wt.engine)
	defer store.Close()
	for name := range wasiFunctions {
		if ext := wt.linker.Get(store, wasiModule, name); ext == nil || ext.Func() == nil {
			t.Errorf("wasmtime does not provide %s", name)
		}
	}
}

func TestWasmtimeMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"error while executing at wasm backtrace:\n    0:     0x23 - <unknown>!<wasm function 0>\n\nCaused by:\n    wasm trap: wasm `unreachable` instruction executed\n\nStack backtrace:\n   0: anyhow",
			"wasm trap: wasm `unreachable` instruction executed"},
		{"incompatible import type for `m::f`\n\nCaused by:\n    types incompatible", "incompatible import type for `m::f`: types incompatible"},
		{"error while executing at wasm backtrace:\n    0: x\n\nCaused by:\n    0: memory fault at 0x1\n    1: wasm trap: out of bounds memory access",
			"memory fault at 0x1: wasm trap: out of bounds memory access"},
	}
	for _, tt := range tests {
		if got := wasmtimeMessage(errors.New(tt.in)); got != tt.want {
			t.Errorf("wasmtimeMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFuel runs modules of known work under wasmtime with and without
// EngineConfig.Fuel, and under wazero with it: only wasmtime with fuel
// counts, at least one unit per loop iteration, and the count of a
// running task that makes calls (wasmtime updates it at calls) grows
// while it runs.
func TestFuel(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, e *Engine, engine, name string) Result {
		t.Helper()
		p, err := e.StartWasm(context.Background(), compile(t, e, watModules[name]),
			Spec{Dir: sandboxDir(t)}, WasmSpec{Engine: engine})
		if err != nil {
			t.Fatal(err)
		}
		return wait(t, p)
	}
	fuel := ownEngine(t, EngineConfig{Fuel: true})
	plain := ownEngine(t, EngineConfig{})
	tests := []struct {
		name, engine, module string
		e                    *Engine
		min, max             uint64
	}{
		{"wasmtime counts a loop of 100 million", Wasmtime, "count", fuel, 100_000_000, 1_000_000_000},
		{"wasmtime counts an empty entry point", Wasmtime, "tiny", fuel, 1, 100},
		{"wasmtime without fuel", Wasmtime, "count", plain, 0, 0},
		{"wazero has no fuel", Wazero, "tiny", fuel, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.e, tt.engine, tt.module)
			checkResult(t, r, 0, ReasonNone)
			if f := r.Usage.Fuel; f < tt.min || f > tt.max {
				t.Errorf("fuel %d, want %d to %d", f, tt.min, tt.max)
			}
		})
	}

	t.Run("while running", func(t *testing.T) {
		p, err := fuel.StartWasm(context.Background(), compile(t, fuel, watModules["calltree"]),
			Spec{Dir: sandboxDir(t)}, WasmSpec{Engine: Wasmtime})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "fuel counted while the task runs", func() bool { return p.Usage().Fuel > 1_000_000 })
		first := p.Usage().Fuel
		eventually(t, "fuel still growing", func() bool { return p.Usage().Fuel > first })
		p.Kill(0)
		if r := wait(t, p); r.Usage.Fuel < first {
			t.Errorf("final fuel %d below %d seen while running", r.Usage.Fuel, first)
		}
	})
}

// TestWasmtimeBrokenPipe runs a guest under wasmtime whose stdout is a
// pipe nobody reads any more: its write fails with EPIPE, which it exits
// with, instead of raising SIGPIPE in wasmtime's C writer, whose default
// action would kill the test binary (mezzo_write blocks it).
func TestWasmtimeBrokenPipe(t *testing.T) {
	e := ownEngine(t, EngineConfig{DefaultEngine: Wasmtime})
	m := compile(t, e, watModules["rotblock"])
	c, err := m.compiledFor(context.Background(), e.backends[Wasmtime])
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	tk := &task{sha: m.sha, entry: "_start", argv: []string{"rotblock"}, dir: sandboxDir(t),
		out: output{stdout: w, stderr: w}, limit: pageSize}
	o := c.run(context.Background(), tk)
	const errnoPipe = 64 // WASI's EPIPE
	if o.launch != nil || o.trap != nil || o.code != errnoPipe {
		t.Errorf("launch error %v, trap %v, exit code %d; want exit code %d (EPIPE)", o.launch, o.trap, o.code, errnoPipe)
	}
}

// TestSecondMemoryPastValidation shows what stands behind validation on
// wasmtime for a module with two memories, each of which the store
// limiter would otherwise let grow to the whole limit: the limiter
// allows one memory, and the task does not start.
func TestSecondMemoryPastValidation(t *testing.T) {
	e := ownEngine(t, EngineConfig{DefaultEngine: Wasmtime})
	wasm := []byte{
		0, 'a', 's', 'm', 1, 0, 0, 0,
		1, 4, 1, 0x60, 0, 0, // type () -> ()
		3, 2, 1, 0, // one function
		5, 5, 2, 0, 1, 0, 1, // two memories of a page
		7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0, // export _start
		10, 4, 1, 2, 0, 0x0b, // an empty body
	}
	c, err := e.backends[Wasmtime].compile(context.Background(), "two-memories", wasm, &module.Info{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close(context.Background())
	tk := &task{sha: "two-memories", entry: "_start", argv: []string{"two"}, dir: sandboxDir(t),
		out: output{stdout: os.Stderr, stderr: os.Stderr}, limit: 16 * mib}
	if o := c.run(context.Background(), tk); o.launch == nil || !strings.Contains(o.launch.Error(), "memory count") {
		t.Errorf("launch error %v, want the store limiter's memory count", o.launch)
	}
}
