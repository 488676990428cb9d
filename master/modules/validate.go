package modules

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// wasmMagic is the first eight bytes of every binary module: "\0asm" and
// version 1.
var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// CompileCheck validates a module: first structurally, against the limits
// that keep hostile modules out (api/module: size, functions, code, tables
// that could grow without bound, ...), then by compiling it with wazero's
// interpreter, which checks the whole binary (sections, types, code) in a
// fraction of the time the optimising compiler takes.
func CompileCheck(ctx context.Context, wasm []byte) error {
	if len(wasm) < len(wasmMagic) || string(wasm[:4]) != string(wasmMagic[:4]) {
		return errors.New("not a WebAssembly binary: missing the \\0asm magic number")
	}
	if string(wasm[4:8]) != string(wasmMagic[4:]) {
		return fmt.Errorf("unsupported WebAssembly binary version % x", wasm[4:8])
	}
	if _, err := module.Validate(wasm, module.DefaultLimits()); err != nil {
		return err
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	m, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	return m.Close(ctx)
}
