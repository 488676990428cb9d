//go:build !cgo

package sandbox

import (
	"errors"
	"fmt"
)

// wasmtimeAvailable says whether this build has wasmtime: it needs cgo.
const wasmtimeAvailable = false

// errNoWasmtime is returned when a task or an Engine asks for wasmtime in
// a build without cgo.
var errNoWasmtime = fmt.Errorf("engine %q needs a build with cgo: %w", Wasmtime, errors.ErrUnsupported)

// wasmtimeOptions mirrors the cgo build's, so that options compile.
type wasmtimeOptions struct {
	epochs, fuel     bool
	maxTableElements uint32
}

func newWasmtime(string, wasmtimeOptions) (backend, error) { return nil, errNoWasmtime }
