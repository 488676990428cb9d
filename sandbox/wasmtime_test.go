//go:build cgo

package sandbox

import (
	"errors"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
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
