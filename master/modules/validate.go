package modules

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
)

// wasmMagic is the first eight bytes of every binary module: "\0asm" and
// version 1.
var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// CompileCheck validates a module by compiling it with wazero's
// interpreter, which checks the whole binary (sections, types, code) in a
// fraction of the time the optimising compiler takes. Deeper checks on
// hostile modules (table maximums, function counts, a compile budget) come
// with the sandbox work and run here as well.
func CompileCheck(ctx context.Context, wasm []byte) error {
	if len(wasm) < len(wasmMagic) || string(wasm[:4]) != string(wasmMagic[:4]) {
		return errors.New("not a WebAssembly binary: missing the \\0asm magic number")
	}
	if string(wasm[4:8]) != string(wasmMagic[4:]) {
		return fmt.Errorf("unsupported WebAssembly binary version % x", wasm[4:8])
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	m, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	return m.Close(ctx)
}
