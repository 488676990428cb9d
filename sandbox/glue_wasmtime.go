//go:build cgo

package sandbox

// #include "glue_wasmtime.h"
import "C"

import (
	"errors"
	"os"
	"reflect"
	"runtime/cgo"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtime-go does not wrap two parts of wasmtime's C API that a sandbox
// needs, so this package calls them itself (glue_wasmtime.c):
//
//   - the epoch deadline callback, which lets the host decide at each
//     epoch tick whether a guest goes on, and so stop one task without
//     stopping the others (without it, an epoch deadline traps, and the
//     deadline is fixed before the guest starts);
//   - custom WASI output streams, because SetStdoutFile truncates the
//     file and a task's output must be appended to it (Spec.Dir).
//
// Both take the C pointer that a wasmtime-go Store or WasiConfig wraps in
// its first field, _ptr. checkLayout checks that this is still so.

// rawPointer returns the C pointer that a wasmtime-go handle keeps in its
// first field. checkLayout must have approved T.
func rawPointer[T wasmtime.Store | wasmtime.WasiConfig](v *T) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(v))
}

// checkLayout checks that wasmtime-go's Store and WasiConfig begin with
// the C pointer they wrap, and that the Store's is what wasmtime's C API
// takes for a store: the context it gives for it is the Store's.
func checkLayout(e *wasmtime.Engine) error {
	for _, t := range []reflect.Type{reflect.TypeFor[wasmtime.Store](), reflect.TypeFor[wasmtime.WasiConfig]()} {
		if f := t.Field(0); f.Name != "_ptr" || f.Offset != 0 || f.Type.Kind() != reflect.Pointer {
			return errors.New("wasmtime-go's " + t.Name() + " no longer starts with its C pointer")
		}
	}
	store := wasmtime.NewStore(e)
	defer store.Close()
	if C.mezzo_store_context(rawPointer(store)) != unsafe.Pointer(store.Context()) {
		return errors.New("wasmtime-go's Store does not wrap a wasmtime_store_t")
	}
	return nil
}

// setEpochCallback makes the guest in store ask r, at each epoch tick,
// whether to go on (wasmtimeRun.tick). handle must be r's, and stay valid
// as long as the store.
func setEpochCallback(store *wasmtime.Store, handle cgo.Handle) {
	C.mezzo_set_epoch_callback(rawPointer(store), C.uintptr_t(handle))
}

//export mezzoEpochDeadline
func mezzoEpochDeadline(handle C.uintptr_t) C.int {
	if cgo.Handle(handle).Value().(*wasmtimeRun).tick() {
		return 0
	}
	return 1
}

// setOutput sends a guest's stdout and stderr to the files given, which
// must stay open as long as the store that w will configure.
func setOutput(w *wasmtime.WasiConfig, stdout, stderr *os.File) {
	C.mezzo_set_output(rawPointer(w), C.int(stdout.Fd()), C.int(stderr.Fd()))
}
